"""A warden's or attendant's beat: their task list holds only the tasks on its roads, and a
task outside it cannot be taken or resolved (403 `outside_beat`); without a beat, and for
the district-wide roles, the whole district."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from enforcement.models import Task
from fixtures.builders import SmallDistrict, build_small_district
from identity.passwords import hash_password
from identity.staff import create_account, issue_staff_token
from parking.clock import FixedClock
from tests.support.http import assert_problem

API = "/api/v1/testville"
PASSWORD = "beat password 1"
FORM = "multipart/form-data"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes half a second a hash on a busy 2-core machine."""
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@dataclass
class Beat:
    small: SmallDistrict
    jianshan: Task  # a warden task on road 1, Jianshan Road
    zhaohui: Task  # a warden task on road 2, Zhaohui Road
    arrears: Task  # a warden task on no road
    now: datetime


def task(db: Session, small: SmallDistrict, road: int | None, now: datetime, team: str = "warden") -> Task:
    bay = small.roads[road].bays[0] if road is not None else None
    row = Task(
        district_id=small.district.id,
        key=f"test:{uuid.uuid4()}",
        team=team,
        kind="check_overstay" if bay else "collect_arrears",
        bay_id=bay.id if bay else None,
        road_id=bay.road_id if bay else None,
        lat=bay.lat if bay else None,
        lng=bay.lng if bay else None,
        details={},
        created_at=now - timedelta(minutes=5),
    )
    db.add(row)
    db.flush()
    return row


@pytest.fixture
def beat(db: Session, clock: FixedClock) -> Beat:
    now = clock.now()
    small = build_small_district(db, now)
    found = Beat(small, task(db, small, 0, now), task(db, small, 1, now), task(db, small, None, now), now)
    create_account(
        db,
        small.district,
        "beat.warden",
        PASSWORD,
        "Beat Warden",
        "warden",
        now,
        ["Jianshan Road"],
        hash_password=hash_password,
    )
    create_account(
        db, small.district, "free.warden", PASSWORD, "Free Warden", "warden", now, hash_password=hash_password
    )
    db.commit()
    return found


def signed_in(client: FlaskClient, username: str) -> dict[str, str]:
    answer = client.post(f"{API}/staff/sign-in", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def listed(client: FlaskClient, auth: dict[str, str]) -> set[str]:
    answer = client.get(f"{API}/tasks", headers=auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {t["id"] for t in answer.get_json()["tasks"]}


def test_a_warden_with_a_beat_sees_only_the_tasks_on_its_roads(client: FlaskClient, beat: Beat) -> None:
    assert listed(client, signed_in(client, "beat.warden")) == {beat.jianshan.uuid}
    everything = {beat.jianshan.uuid, beat.zhaohui.uuid, beat.arrears.uuid}
    assert listed(client, signed_in(client, "free.warden")) == everything


def test_a_task_outside_the_beat_cannot_be_taken_or_resolved(
    client: FlaskClient, db: Session, beat: Beat
) -> None:
    auth = signed_in(client, "beat.warden")
    for outside in (beat.zhaohui, beat.arrears):
        assert_problem(client.post(f"{API}/tasks/{outside.uuid}/take", headers=auth), 403, "outside_beat")
    # even one handed to them by name: resolving it is refused, and nothing changes
    beat.zhaohui.status, beat.zhaohui.taken_by, beat.zhaohui.taken_at = "taken", "Beat Warden", beat.now
    db.commit()
    answer = client.post(
        f"{API}/tasks/{beat.zhaohui.uuid}/resolve",
        data={"outcome": "vehicle_gone"},
        headers=auth,
        content_type=FORM,
    )
    assert_problem(answer, 403, "outside_beat")
    db.refresh(beat.zhaohui)
    assert beat.zhaohui.status == "taken" and beat.zhaohui.resolved_at is None

    taken = client.post(f"{API}/tasks/{beat.jianshan.uuid}/take", headers=auth)
    assert taken.status_code == 200 and taken.get_json()["taken_by"] == "Beat Warden"
    done = client.post(
        f"{API}/tasks/{beat.jianshan.uuid}/resolve",
        data={"outcome": "warned"},
        headers=auth,
        content_type=FORM,
    )
    assert done.status_code == 200 and done.get_json()["status"] == "resolved"


def test_without_a_beat_a_warden_works_the_whole_district(client: FlaskClient, beat: Beat) -> None:
    auth = signed_in(client, "free.warden")
    assert client.post(f"{API}/tasks/{beat.zhaohui.uuid}/take", headers=auth).status_code == 200
    assert client.post(f"{API}/tasks/{beat.arrears.uuid}/take", headers=auth).status_code == 200


def test_an_attendants_beat_limits_the_attendant_team_tasks_too(
    client: FlaskClient, db: Session, beat: Beat
) -> None:
    near = task(db, beat.small, 0, beat.now, team="attendant")
    far = task(db, beat.small, 1, beat.now, team="attendant")
    create_account(
        db,
        beat.small.district,
        "attendant",
        PASSWORD,
        "Attendant",
        "attendant",
        beat.now,
        ["Zhaohui Road"],
        hash_password=hash_password,
    )
    db.commit()
    auth = signed_in(client, "attendant")
    assert listed(client, auth) == {far.uuid}
    assert_problem(client.post(f"{API}/tasks/{near.uuid}/take", headers=auth), 403, "outside_beat")


def test_city_and_admin_tokens_are_district_wide(
    client: FlaskClient, db: Session, beat: Beat, clock: FixedClock
) -> None:
    city_task = task(db, beat.small, 1, beat.now, team="city")
    create_account(
        db,
        beat.small.district,
        "city.one",
        PASSWORD,
        "City One",
        "city",
        beat.now,
        hash_password=hash_password,
    )
    _, admin = issue_staff_token(db, beat.small.district, "admin", "operator", clock.now())
    db.commit()
    assert listed(client, signed_in(client, "city.one")) == {city_task.uuid}
    everything = {beat.jianshan.uuid, beat.zhaohui.uuid, beat.arrears.uuid, city_task.uuid}
    assert listed(client, {"Authorization": f"Bearer {admin}"}) == everything


def registration(beat: Beat, bay: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "bay": beat.small.bay(bay).uuid,
        "kind": "arrival",
        "client_id": str(uuid.uuid4()),
    }
    return body | {"device": beat.small.pos.device.uuid} | extra


def test_a_registration_outside_the_beat_is_refused_even_through_a_pos_that_covers_the_bay(
    client: FlaskClient, db: Session, beat: Beat
) -> None:
    """Security review M4: a beat-limited warden registered arrivals and plates anywhere."""
    create_account(
        db,
        beat.small.district,
        "zhaohui.warden",
        PASSWORD,
        "Zhaohui Warden",
        "warden",
        beat.now,
        ["Zhaohui Road"],
        hash_password=hash_password,
    )
    db.commit()
    outsider = signed_in(client, "zhaohui.warden")
    for kind, plate in (("arrival", None), ("plate", "贵AF4KE1")):
        extra = {"kind": kind} | ({"plate": plate} if plate else {})
        answer = client.post(
            f"{API}/registrations", json=registration(beat, "T1-1", **extra), headers=outsider
        )
        assert_problem(answer, 403, "outside_beat")
    inside = client.post(
        f"{API}/registrations", json=registration(beat, "T1-1"), headers=signed_in(client, "beat.warden")
    )
    assert inside.status_code == 201, inside.get_data(as_text=True)
    free = client.post(
        f"{API}/registrations", json=registration(beat, "T1-2"), headers=signed_in(client, "free.warden")
    )
    assert free.status_code == 201, free.get_data(as_text=True)


def test_a_registration_goes_only_through_a_pos_that_covers_the_bay(client: FlaskClient, beat: Beat) -> None:
    answer = client.post(
        f"{API}/registrations", json=registration(beat, "T2-1"), headers=signed_in(client, "free.warden")
    )
    assert_problem(answer, 422, "bay_not_covered")


def test_a_registration_may_not_be_dated_further_back_than_the_event_age_limit(
    client: FlaskClient, beat: Beat
) -> None:
    """Security review M4/M5: `at` went back to 2000-01-01 and re-priced stays."""
    auth = signed_in(client, "beat.warden")
    for at in ("2000-01-01T00:00:00+00:00", (beat.now - timedelta(hours=73)).isoformat()):
        assert_problem(
            client.post(f"{API}/registrations", json=registration(beat, "T1-1", at=at), headers=auth),
            422,
            "event_too_old",
        )
    recent = registration(beat, "T1-1", at=(beat.now - timedelta(hours=71)).isoformat())
    assert client.post(f"{API}/registrations", json=recent, headers=auth).status_code == 201
