"""Device token rotation: a device rotates its own token without downtime (the old one works
for the grace period and not after) and recovers when the answer of its rotation was lost; an
admin's rotation ends every earlier token at once, and an admin decommissions a device."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from tests.support.http import assert_problem, bearer

API = "/api/v1/testville"
GRACE = timedelta(hours=24)


@pytest.fixture
def small(db: Session, clock: FixedClock) -> SmallDistrict:
    small = build_small_district(db, clock.now())
    db.commit()
    return small


def staff(db: Session, small: SmallDistrict, clock: FixedClock, role: str) -> dict[str, str]:
    _, token = issue_staff_token(db, small.district, role, f"{role} one", clock.now())
    db.commit()
    return bearer(token)


def works(client: FlaskClient, token: str) -> bool:
    answer = client.get(f"{API}/devices/me", headers=bearer(token))
    assert answer.status_code in (200, 401), answer.get_data(as_text=True)
    return answer.status_code == 200


def test_an_admin_rotation_ends_the_old_token_at_once(
    client: FlaskClient, db: Session, small: SmallDistrict, clock: FixedClock
) -> None:
    stake, old = small.stake_a.device, small.stake_a.token
    answer = client.post(f"{API}/devices/{stake.uuid}/rotate-token", headers=staff(db, small, clock, "admin"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["data_source_device_id"] == stake.uuid
    assert body["previous_token_expires_at"] is None
    assert answer.headers["Cache-Control"] == "no-store"
    new = body["token"]
    assert works(client, new) and not works(client, old)
    event = cds_event(small.stake_a, small.bay("T1-1"), "park_start", clock.now())
    assert client.post("/cds/testville/events/event", json=[event], headers=bearer(old)).status_code == 401
    pushed = client.post("/cds/testville/events/event", json=[event], headers=bearer(new))
    assert pushed.status_code == 200 and pushed.get_json()["failures"] == []


def test_a_leaked_token_cannot_hijack_the_rotation_an_admin_made_against_it(
    client: FlaskClient, db: Session, small: SmallDistrict, clock: FixedClock
) -> None:
    """Security review H4: the holder of the replaced token used its grace to rotate, got a
    current token and dropped the one the admin gave the real device."""
    device, leaked = small.stake_a.device, small.stake_a.token
    admin = staff(db, small, clock, "admin")
    real = client.post(f"{API}/devices/{device.uuid}/rotate-token", headers=admin).get_json()["token"]

    hijack = client.post(f"{API}/device/rotate-token", headers=bearer(leaked))

    assert_problem(hijack, 401, "unauthorized")
    assert works(client, real) and not works(client, leaked)


def test_the_lost_answer_recovery_does_not_outlive_an_admin_rotation(
    client: FlaskClient, db: Session, small: SmallDistrict, clock: FixedClock
) -> None:
    """The device's own rotation leaves its old token a grace period; an admin rotation
    after it ends that one too, so neither old token can rotate again."""
    device, first = small.feed.device, small.feed.token
    second = client.post(f"{API}/device/rotate-token", headers=bearer(first)).get_json()["token"]
    admin = staff(db, small, clock, "admin")
    third = client.post(f"{API}/devices/{device.uuid}/rotate-token", headers=admin).get_json()["token"]

    for old in (first, second):
        assert_problem(client.post(f"{API}/device/rotate-token", headers=bearer(old)), 401, "unauthorized")
    assert works(client, third) and not works(client, first) and not works(client, second)


def test_an_admin_decommissions_a_device_and_none_of_its_tokens_works_any_more(
    client: FlaskClient, db: Session, small: SmallDistrict, clock: FixedClock
) -> None:
    device, old = small.pos.device, small.pos.token
    current = client.post(f"{API}/device/rotate-token", headers=bearer(old)).get_json()["token"]
    admin = staff(db, small, clock, "admin")

    answer = client.post(f"{API}/devices/{device.uuid}/revoke", headers=admin)

    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {
        "data_source_device_id": device.uuid,
        "name": device.name,
        "revoked_at": "2026-03-02T02:00:00+00:00",
    }
    assert not works(client, old) and not works(client, current)
    assert_problem(client.post(f"{API}/device/rotate-token", headers=bearer(current)), 401, "unauthorized")
    assert_problem(
        client.post(f"{API}/devices/{device.uuid}/rotate-token", headers=admin), 409, "device_revoked"
    )
    again = client.post(f"{API}/devices/{device.uuid}/revoke", headers=admin)
    assert again.status_code == 200 and again.get_json()["revoked_at"] == "2026-03-02T02:00:00+00:00"


def test_decommissioning_is_for_admins_of_the_district(
    client: FlaskClient, db: Session, small: SmallDistrict, clock: FixedClock
) -> None:
    url = f"{API}/devices/{small.stake_b.device.uuid}/revoke"
    for role in ("bureau", "warden", "police"):
        assert_problem(client.post(url, headers=staff(db, small, clock, role)), 403, "forbidden")
    assert_problem(client.post(url, headers=bearer(small.stake_b.token)), 401, "unauthorized")
    other = build_small_district(db, clock.now(), slug="otherville")
    db.commit()
    foreign = f"{API}/devices/{other.stake_a.device.uuid}/revoke"
    assert_problem(client.post(foreign, headers=staff(db, small, clock, "admin")), 404, "unknown_device")
    assert works(client, small.stake_b.token)
    assert client.get("/api/v1/otherville/devices/me", headers=bearer(other.stake_a.token)).status_code == 200


def test_rotating_is_for_admins_and_names_a_device_of_the_district(
    client: FlaskClient, db: Session, small: SmallDistrict, clock: FixedClock
) -> None:
    url = f"{API}/devices/{small.stake_a.device.uuid}/rotate-token"
    for role in ("bureau", "warden", "attendant", "police", "city"):
        assert_problem(client.post(url, headers=staff(db, small, clock, role)), 403, "forbidden")
    assert_problem(client.post(url, headers=bearer(small.stake_a.token)), 401, "unauthorized")
    assert_problem(client.post(url), 401, "unauthorized")
    admin = staff(db, small, clock, "admin")
    assert_problem(
        client.post(f"{API}/devices/not-a-device/rotate-token", headers=admin), 404, "unknown_device"
    )
    other = build_small_district(db, clock.now(), slug="otherville")
    db.commit()
    foreign = f"{API}/devices/{other.stake_a.device.uuid}/rotate-token"
    assert_problem(client.post(foreign, headers=admin), 404, "unknown_device")
    assert works(client, small.stake_a.token)  # nothing was rotated
    assert client.get("/api/v1/otherville/devices/me", headers=bearer(other.stake_a.token)).status_code == 200


def test_a_device_rotates_its_own_token(client: FlaskClient, small: SmallDistrict, clock: FixedClock) -> None:
    old = small.pos.token
    answer = client.post(f"{API}/device/rotate-token", headers=bearer(old))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    new = answer.get_json()["token"]
    assert answer.get_json()["data_source_device_id"] == small.pos.device.uuid
    assert works(client, new) and works(client, old)
    clock.advance(GRACE)
    assert works(client, new) and not works(client, old)
    assert_problem(client.post(f"{API}/device/rotate-token", headers=bearer(old)), 401, "unauthorized")


def test_a_device_that_lost_the_answer_rotates_again_with_its_old_token(
    client: FlaskClient, small: SmallDistrict, clock: FixedClock
) -> None:
    old = small.feed.token
    lost = client.post(f"{API}/device/rotate-token", headers=bearer(old)).get_json()["token"]
    clock.advance(timedelta(hours=1))
    again = client.post(f"{API}/device/rotate-token", headers=bearer(old)).get_json()
    assert again["previous_token_expires_at"] == "2026-03-03T02:00:00+00:00"  # the grace is not extended
    assert works(client, again["token"]) and works(client, old)
    assert not works(client, lost)  # the token it never received is dropped
    clock.advance(timedelta(hours=23))
    assert not works(client, old) and works(client, again["token"])


def test_rotating_twice_ends_the_first_token_at_once(
    client: FlaskClient, db: Session, small: SmallDistrict, clock: FixedClock
) -> None:
    first = small.stake_b.token
    second = client.post(f"{API}/device/rotate-token", headers=bearer(first)).get_json()["token"]
    third = client.post(f"{API}/device/rotate-token", headers=bearer(second)).get_json()["token"]
    assert not works(client, first)
    assert works(client, second) and works(client, third)


def test_a_device_token_of_another_district_cannot_rotate_here(
    client: FlaskClient, db: Session, small: SmallDistrict, clock: FixedClock
) -> None:
    other = build_small_district(db, clock.now(), slug="otherville")
    db.commit()
    assert_problem(
        client.post(f"{API}/device/rotate-token", headers=bearer(other.feed.token)), 401, "unauthorized"
    )
    assert_problem(client.post(f"{API}/device/rotate-token"), 401, "unauthorized")
    assert client.get("/api/v1/otherville/devices/me", headers=bearer(other.feed.token)).status_code == 200
