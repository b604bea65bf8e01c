"""A patrol car drives along the roads reading every plate it passes: exactly the planted
overstay, the unpaid stay and the car parked with no stay come back as hits, a doubtful read
comes back to be confirmed, and every read is on the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.tariffs import price_ended_stays
from enforcement.models_warden import PATROL_READ, PlateCheck
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from fixtures.tariffs import publish_demo_tariffs
from parking.clock import FixedClock
from parking.models import Bay
from sensors.devices import NewDevice, create_device
from tests.support.http import bearer, push_ok

URL = "/api/v1/testville/patrol/reads"
OVERSTAYER, LATE_PAYER, GOOD, STRANGER = "贵A10001", "贵A10002", "贵A10003", "贵A99999"


@pytest.fixture
def street(db: Session, client: FlaskClient, clock: FixedClock) -> tuple[SmallDistrict, NewDevice]:
    """Road 1 (core tariff: 4 h at most, 10 min grace) watched by stake A: T1-1 taken 5 h ago
    (an overstay), T1-2 taken 30 min ago by a plate whose stay of yesterday is still unpaid
    after its payment window, T1-3 taken 20 min ago by a plate that owes nothing."""
    town = build_small_district(db, clock.now() - timedelta(days=3))
    publish_demo_tariffs(db, town.district, clock.now() - timedelta(days=3))
    town.roads[0].tariff_code = "core"
    car = create_device(db, town.district, "patrol_car", clock.now(), name="PATROL-1")
    db.commit()
    now = clock.now()
    push_ok(client, town.stake_a, [
        cds_event(town.stake_a, town.bay("T1-2"), "park_start", now - timedelta(hours=26), plate=LATE_PAYER, confidence=95),
        cds_event(town.stake_a, town.bay("T1-2"), "park_end", now - timedelta(hours=25)),
        cds_event(town.stake_a, town.bay("T1-1"), "park_start", now - timedelta(hours=5), plate=OVERSTAYER, confidence=95),
        cds_event(town.stake_a, town.bay("T1-2"), "park_start", now - timedelta(minutes=30), plate=LATE_PAYER, confidence=95),
        cds_event(town.stake_a, town.bay("T1-3"), "park_start", now - timedelta(minutes=20), plate=GOOD, confidence=95),
    ])  # fmt: skip
    assert price_ended_stays(db, town.district, now) == 1
    db.commit()
    return town, car


def read(bay: Bay, plate: str, clock: FixedClock, confidence: int = 92, **extra: Any) -> dict[str, Any]:
    """A read taken from the carriageway beside `bay`: about 3 m off the bay's point."""
    return {
        "plate": plate,
        "confidence": confidence,
        "read_at": clock.now().isoformat(),
        "lat": bay.lat - 0.00003,
        "lng": bay.lng,
    } | extra


def test_a_patrol_car_along_the_road_gets_exactly_the_planted_hits_and_every_read_is_audited(
    client: FlaskClient, db: Session, clock: FixedClock, street: tuple[SmallDistrict, NewDevice]
) -> None:
    town, car = street
    drive = [
        read(town.bay("T1-1"), OVERSTAYER, clock),
        read(town.bay("T1-2"), "贵a 10002", clock),  # as a camera may spell it
        read(town.bay("T1-3"), GOOD, clock),
        read(town.bay("T1-1"), OVERSTAYER, clock, confidence=55),  # a doubtful second look
        read(town.bay("T2-3"), STRANGER, clock),  # parked where nothing saw it arrive
        read(town.bay("T2-4"), "??", clock),
    ]
    reply = client.post(URL, json={"reads": drive}, headers=bearer(car.token))
    assert reply.status_code == 200, reply.get_json()
    answer = reply.get_json()
    assert answer["checked"] == 6
    assert answer["hits"] == [
        {"plate": OVERSTAYER, "bay": town.bay("T1-1").uuid, "reasons": ["overstayed"]},
        {"plate": LATE_PAYER, "bay": town.bay("T1-2").uuid, "reasons": ["unpaid"]},
        {"plate": STRANGER, "bay": town.bay("T2-3").uuid, "reasons": ["unregistered"]},
    ]
    assert answer["confirm"] == [
        {"plate": OVERSTAYER, "bay": town.bay("T1-1").uuid, "confidence": 55, "why": "low_confidence"},
        {"plate": "??", "bay": town.bay("T2-4").uuid, "confidence": 92, "why": "unreadable_plate"},
    ]
    audited = db.scalars(select(PlateCheck).where(PlateCheck.route == PATROL_READ)).all()
    assert len(audited) == 6
    assert {row.device_id for row in audited} == {car.device.id}
    assert {row.staff_name for row in audited} == {"PATROL-1"}
    assert sorted(row.plate or "" for row in audited) == sorted(
        ["", GOOD, LATE_PAYER, OVERSTAYER, OVERSTAYER, STRANGER]
    )


def test_a_read_names_its_bay_or_is_matched_to_none_when_no_bay_is_near(
    client: FlaskClient, clock: FixedClock, street: tuple[SmallDistrict, NewDevice]
) -> None:
    town, car = street
    far = read(town.bay("T1-1"), STRANGER, clock) | {"lat": 26.70}  # two kilometres away
    named = read(town.bay("T1-1"), STRANGER, clock) | {"lat": 26.70, "bay": town.bay("T2-1").uuid}
    answer = client.post(URL, json={"reads": [far, named]}, headers=bearer(car.token)).get_json()
    assert answer["hits"] == [{"plate": STRANGER, "bay": town.bay("T2-1").uuid, "reasons": ["unregistered"]}]


def test_only_a_patrol_car_may_send_reads_and_a_patrol_car_may_not_push_curb_events(
    client: FlaskClient, clock: FixedClock, street: tuple[SmallDistrict, NewDevice]
) -> None:
    town, car = street
    body = {"reads": [read(town.bay("T1-1"), OVERSTAYER, clock)]}
    assert client.post(URL, json=body).status_code == 401
    refused = client.post(URL, json=body, headers=bearer(town.stake_a.token))
    assert (refused.status_code, refused.get_json()["code"]) == (403, "forbidden")
    event = cds_event(town.stake_a, town.bay("T1-4"), "park_start", clock.now(), plate=GOOD)
    pushed = client.post("/cds/testville/events/event", json=[event], headers=bearer(car.token))
    assert pushed.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"confidence": 101}, "confidence"),
        ({"confidence": "90"}, "confidence"),
        ({"lat": 91}, "lat"),
        ({"read_at": "2026-03-02T10:00:00"}, "read_at"),
        ({"plate": ""}, "plate"),
    ],
)
def test_bad_reads_are_refused_whole_naming_the_field(
    client: FlaskClient,
    db: Session,
    clock: FixedClock,
    street: tuple[SmallDistrict, NewDevice],
    change: dict[str, Any],
    field: str,
) -> None:
    town, car = street
    reply = client.post(
        URL, json={"reads": [read(town.bay("T1-1"), GOOD, clock) | change]}, headers=bearer(car.token)
    )
    assert reply.status_code == 400
    assert field in str(reply.get_json())
    assert db.scalar(select(func.count()).select_from(PlateCheck)) == 0


def test_more_reads_than_a_request_may_carry_are_refused(
    client: FlaskClient, clock: FixedClock, street: tuple[SmallDistrict, NewDevice]
) -> None:
    town, car = street
    reads = [read(town.bay("T1-1"), GOOD, clock)] * 1001
    reply = client.post(URL, json={"reads": reads}, headers=bearer(car.token))
    assert (reply.status_code, reply.get_json()["code"]) == (413, "too_many_reads")
