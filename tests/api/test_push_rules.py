"""Pushing events: resends change nothing, devices agree on one stay, arrival order does not
matter, and device health decides which bays drivers are told about."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district, cds_event
from parking.clock import FixedClock
from parking.models import Bay, District, Stay, TimelineAnomaly
from sensors.devices import NewDevice
from sensors.log import logged_payloads
from sensors.models import CurbEvent, Device
from tests.support.http import push_answer


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    built = build_small_district(db, clock.now())
    db.commit()
    return built


def everything_stored(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a push can write, but the device's last-seen time."""
    db.expire_all()
    stays = db.execute(select(Stay).order_by(Stay.id)).scalars()
    return {
        "events": sorted(
            (event_id, received_at, logged_payloads(db, CurbEvent.event_id == event_id)[event_id])
            for event_id, received_at in db.execute(select(CurbEvent.event_id, CurbEvent.received_at))
        ),
        "stays": [
            (
                s.id,
                s.uuid,
                s.bay_id,
                s.plate,
                s.plate_source,
                s.started_at,
                s.ended_at,
                s.event_ids,
                s.updated_at,
            )
            for s in stays
        ],
        "bays": [
            tuple(row) for row in db.execute(select(Bay.id, Bay.state, Bay.state_since, Bay.open_stay_id))
        ],
        "anomalies": [
            tuple(row) for row in db.execute(select(TimelineAnomaly.event_id, TimelineAnomaly.kind))
        ],
        "devices": [
            tuple(row) for row in db.execute(select(Device.id, Device.online, Device.status_changed_at))
        ],
    }


# --- idempotency -------------------------------------------------------------------------


def test_resending_one_event_changes_nothing_and_counts_as_success(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    bay = town.bay("T1-1")
    start = cds_event(town.stake_a, bay, "park_start", clock.now() - timedelta(hours=1), plate="贵A12345")
    end = cds_event(town.stake_a, bay, "park_end", clock.now() - timedelta(minutes=20))
    push_answer(client, town.stake_a, [start, end])
    before = everything_stored(db)
    clock.advance(timedelta(minutes=3))
    assert push_answer(client, town.stake_a, [end]) == {"success": 1, "total": 1, "failures": []}
    assert everything_stored(db) == before


def test_resending_a_whole_batch_changes_nothing_and_counts_every_item(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    t0 = clock.now() - timedelta(hours=2)
    session_id = str(uuid.uuid4())
    batch = [
        cds_event(town.stake_a, town.bay("T1-1"), "park_start", t0, plate="贵A12345", session_id=session_id),
        cds_event(
            town.stake_a, town.bay("T1-1"), "vehicle_detected", t0 + timedelta(minutes=1), plate="贵A12345"
        ),
        cds_event(
            town.stake_a, town.bay("T1-1"), "park_end", t0 + timedelta(minutes=50), session_id=session_id
        ),
        cds_event(town.stake_a, town.bay("T1-2"), "park_start", t0 + timedelta(minutes=5), plate="贵B55555"),
        cds_event(
            town.stake_a, town.bay("T1-3"), "park_end", t0 + timedelta(minutes=7)
        ),  # end on a vacant bay
        cds_event(town.stake_a, town.bay("T1-4"), "scheduled_report", clock.now()),
    ]
    first = push_answer(client, town.stake_a, batch)
    assert first == {"success": 6, "total": 6, "failures": []}
    before = everything_stored(db)
    clock.advance(timedelta(minutes=10))
    again = push_answer(client, town.stake_a, batch)
    assert again == {"success": 6, "total": 6, "failures": []}
    assert everything_stored(db) == before


def test_an_event_repeated_inside_one_batch_is_stored_once(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = cds_event(town.stake_a, town.bay("T1-1"), "park_start", clock.now() - timedelta(minutes=9))
    assert push_answer(client, town.stake_a, [start, start, start]) == {
        "success": 3,
        "total": 3,
        "failures": [],
    }
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(CurbEvent)) == 1
    assert db.scalar(select(func.count()).select_from(Stay)) == 1


# --- one vehicle, two devices ------------------------------------------------------------


def test_a_stake_and_a_pos_reporting_the_same_vehicle_make_one_stay_with_the_pos_plate(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    bay = town.bay("T1-3")
    t0 = clock.now() - timedelta(hours=2)
    push_answer(
        client,
        town.stake_a,
        [cds_event(town.stake_a, bay, "park_start", t0, plate="贵A12846", confidence=41)],
    )
    push_answer(
        client,
        town.pos,
        [cds_event(town.pos, bay, "park_start", t0 + timedelta(minutes=2), plate="贵A 12345")],
    )
    push_answer(client, town.stake_a, [cds_event(town.stake_a, bay, "park_end", t0 + timedelta(minutes=75))])
    db.expire_all()
    stays = db.scalars(select(Stay)).all()
    assert len(stays) == 1
    stay = stays[0]
    assert (stay.plate, stay.plate_source) == ("贵A12345", "in_person")
    assert (stay.started_at, stay.ended_at) == (t0, t0 + timedelta(minutes=75))
    assert stay.sources == ["camera", "in_person"]
    assert len(stay.event_ids) == 3


def test_a_later_confident_camera_read_does_not_replace_the_attendants_plate(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    bay = town.bay("T1-1")
    t0 = clock.now() - timedelta(hours=1)
    push_answer(
        client,
        town.stake_a,
        [cds_event(town.stake_a, bay, "park_start", t0, plate="贵A12846", confidence=40)],
    )
    push_answer(
        client,
        town.pos,
        [cds_event(town.pos, bay, "park_start", t0 + timedelta(minutes=1), plate="贵A12345")],
    )
    push_answer(
        client,
        town.stake_a,
        [
            cds_event(
                town.stake_a,
                bay,
                "vehicle_detected",
                t0 + timedelta(minutes=3),
                plate="贵A12846",
                confidence=99,
            )
        ],
    )
    db.expire_all()
    stay = db.scalars(select(Stay)).one()
    assert (stay.plate, stay.plate_source, stay.ended_at) == ("贵A12345", "in_person", None)


# --- arrival order -----------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    device: str
    bay: str
    kind: str
    minutes: int
    plate: str | None = None
    confidence: int | None = None


# Three hours of two bays, seen by stake A and the POS; times are minutes after t0.
DAY = [
    Spec("stake_a", "T1-1", "park_start", 0, "贵A11111", 90),
    Spec("pos", "T1-1", "park_start", 2, "贵A11111"),
    Spec("stake_a", "T1-1", "park_end", 30),
    Spec("stake_a", "T1-1", "park_start", 45, "贵A22222", 85),
    Spec("stake_a", "T1-1", "vehicle_detected", 50, "贵A22222", 95),
    Spec("pos", "T1-1", "park_end", 70),
    Spec("stake_a", "T1-1", "park_end", 71),
    Spec("stake_a", "T1-1", "park_start", 80, "贵A33333", 60),
    Spec("pos", "T1-1", "park_start", 83, "贵A33338"),
    Spec("stake_a", "T1-2", "park_start", 10, "贵D44444", 60),
    Spec("stake_a", "T1-2", "park_start", 40, "贵E55555", 70),
    Spec("stake_a", "T1-2", "park_end", 60),
    Spec("pos", "T1-2", "park_start", 65, "贵F66666"),
    Spec("pos", "T1-2", "park_end", 95),
    Spec("stake_a", "T1-2", "park_end", 96),
    Spec("stake_a", "T1-2", "park_start", 120, "贵G77777", 88),
    Spec("stake_a", "T1-3", "vehicle_detected", 15, "贵H88888", 70),
    Spec("stake_a", "T1-3", "park_end", 20),
    Spec("stake_a", "T1-3", "park_start", 25, "贵H88888", 70),
    Spec("stake_a", "T1-3", "park_start", 25, "贵H88888", 75),
    Spec("stake_a", "T1-3", "park_end", 90),
]
EVENT_IDS = [str(uuid.UUID(int=random.Random(7).getrandbits(128) + n, version=4)) for n in range(len(DAY))]


def _events(town: SmallDistrict, t0: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The day's events for one district: the same event ids in every district."""
    out = []
    for event_id, spec in zip(EVENT_IDS, DAY, strict=True):
        device: NewDevice = getattr(town, spec.device)
        at = t0 + timedelta(minutes=spec.minutes)
        event = cds_event(
            device,
            town.bay(spec.bay),
            spec.kind,
            at,
            plate=spec.plate,
            confidence=spec.confidence,
            event_id=event_id,
        )
        out.append((spec.device, event))
    return out


def _send(
    client: FlaskClient, town: SmallDistrict, slug: str, batches: list[list[tuple[str, dict[str, Any]]]]
) -> None:
    for batch in batches:
        by_device: dict[str, list[dict[str, Any]]] = {}
        for device, event in batch:
            by_device.setdefault(device, []).append(event)
        for device, events in by_device.items():
            body = push_answer(client, getattr(town, device), events, slug)
            assert body["failures"] == [], body


def _stays(db: Session, slug: str) -> list[tuple[Any, ...]]:
    db.expire_all()
    rows = db.execute(
        select(Stay, Bay.name)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(District, District.id == Stay.district_id)
        .where(District.slug == slug)
        .order_by(Bay.name, Stay.started_at)
    )
    return [
        (
            bay,
            s.plate,
            s.plate_confidence,
            s.plate_source,
            s.started_at,
            s.ended_at,
            s.ended_by,
            s.start_event_id,
            s.end_event_id,
            sorted(s.event_ids),
            s.sources,
        )
        for s, bay in rows
    ]


def _bays(db: Session, slug: str) -> list[tuple[Any, ...]]:
    rows = db.execute(
        select(Bay.name, Bay.state, Bay.state_since, Bay.last_event_at)
        .join(District, District.id == Bay.district_id)
        .where(District.slug == slug)
        .order_by(Bay.name)
    )
    return [tuple(r) for r in rows]


@pytest.mark.parametrize(("seed", "size"), [(20260302, 4), (1, 1), (2, 9)])
def test_out_of_order_batches_give_the_same_stays_as_in_order_ones(
    client: FlaskClient, db: Session, clock: FixedClock, seed: int, size: int
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    towns = {
        slug: build_small_district(db, clock.now(), slug=slug) for slug in ("inorder", "reversed", "shuffled")
    }
    db.commit()

    in_order = sorted(_events(towns["inorder"], t0), key=lambda pair: pair[1]["event_time"])
    _send(client, towns["inorder"], "inorder", [[pair] for pair in in_order])

    chronological = sorted(_events(towns["reversed"], t0), key=lambda pair: pair[1]["event_time"])
    _send(client, towns["reversed"], "reversed", [[pair] for pair in reversed(chronological)])

    shuffled = _events(towns["shuffled"], t0)
    random.Random(seed).shuffle(shuffled)
    _send(
        client, towns["shuffled"], "shuffled", [shuffled[i : i + size] for i in range(0, len(shuffled), size)]
    )

    expected = _stays(db, "inorder")
    assert len(expected) >= 8
    assert _stays(db, "reversed") == expected
    assert _stays(db, "shuffled") == expected
    assert _bays(db, "reversed") == _bays(db, "inorder")
    assert _bays(db, "shuffled") == _bays(db, "inorder")


def test_a_late_pos_batch_rebuilds_the_stays_it_touches(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    bay = town.bay("T1-1")
    t0 = clock.now() - timedelta(hours=2)
    push_answer(
        client,
        town.stake_a,
        [
            cds_event(town.stake_a, bay, "park_start", t0, plate="贵A11111", confidence=30),
            cds_event(town.stake_a, bay, "park_end", t0 + timedelta(minutes=40)),
            cds_event(
                town.stake_a, bay, "park_start", t0 + timedelta(minutes=50), plate="贵A22222", confidence=90
            ),
        ],
    )
    # The POS was offline for an hour: its entry for the first vehicle arrives last.
    push_answer(
        client,
        town.pos,
        [cds_event(town.pos, bay, "park_start", t0 + timedelta(minutes=1), plate="贵A11117")],
    )
    db.expire_all()
    stays = db.scalars(select(Stay).order_by(Stay.started_at)).all()
    assert [(s.plate, s.plate_source, s.started_at, s.ended_at) for s in stays] == [
        ("贵A11117", "in_person", t0, t0 + timedelta(minutes=40)),
        ("贵A22222", "camera", t0 + timedelta(minutes=50), None),
    ]


# --- device health and availability ------------------------------------------------------


def _zone(client: FlaskClient, zone_id: str) -> dict[str, Any]:
    zones = client.get("/cds/testville/curbs/zones").get_json()["data"]["zones"]
    found: dict[str, Any] = next(z for z in zones if z["curb_zone_id"] == zone_id)
    return found


def _spaces(client: FlaskClient) -> dict[str, dict[str, Any]]:
    spaces = client.get("/cds/testville/curbs/spaces").get_json()["data"]["spaces"]
    return {s["name"]: s for s in spaces}


def _status(
    client: FlaskClient, device: NewDevice, kind: str, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(device, town.bay("T1-1"), kind, clock.now())
    del event["curb_space_id"]
    assert push_answer(client, device, [event])["success"] == 1


def _seed_road_one(client: FlaskClient, town: SmallDistrict, clock: FixedClock) -> None:
    """T1-1 vacant after a stay, T1-2 occupied, T1-3 and T1-4 never reported."""
    t0 = clock.now() - timedelta(hours=1)
    push_answer(
        client,
        town.stake_a,
        [
            cds_event(town.stake_a, town.bay("T1-1"), "park_start", t0, plate="贵A12345"),
            cds_event(town.stake_a, town.bay("T1-1"), "park_end", t0 + timedelta(minutes=20)),
            cds_event(
                town.stake_a, town.bay("T1-2"), "park_start", t0 + timedelta(minutes=5), plate="贵B12345"
            ),
        ],
    )


def test_comms_lost_makes_the_device_offline_and_its_bays_unknown(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    _seed_road_one(client, town, clock)
    _status(client, town.feed, "comms_lost", town, clock)  # no district-wide feed to fall back on
    road = town.roads[0].uuid

    # T1-3 and T1-4 have had no event, but stake A reports: it saw no vehicle there.
    zone = _zone(client, road)
    assert (zone["num_spaces"], zone["available_spaces"]) == (4, 3)
    assert int(zone["custom_attributes"]["unknown_spaces"]) == 0
    spaces = _spaces(client)
    assert (spaces["T1-1"]["available"], spaces["T1-2"]["available"]) == (True, False)
    assert spaces["T1-3"]["available"] is True

    clock.advance(timedelta(minutes=1))
    _status(client, town.stake_a, "comms_lost", town, clock)
    db.expire_all()
    device = db.get(Device, town.stake_a.device.id)
    assert device is not None and device.online is False

    zone = _zone(client, road)
    assert (zone["num_spaces"], zone["available_spaces"]) == (4, 0)
    assert int(zone["custom_attributes"]["unknown_spaces"]) == 4
    spaces = _spaces(client)
    for name in ("T1-1", "T1-2", "T1-3", "T1-4"):
        assert "available" not in spaces[name], spaces[name]
        assert spaces[name]["custom_attributes"]["state"] == "unknown"


def test_comms_restored_brings_the_devices_bays_back(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    _seed_road_one(client, town, clock)
    _status(client, town.feed, "comms_lost", town, clock)
    _status(client, town.stake_a, "comms_lost", town, clock)
    clock.advance(timedelta(minutes=5))
    _status(client, town.stake_a, "comms_restored", town, clock)
    db.expire_all()
    device = db.get(Device, town.stake_a.device.id)
    assert device is not None and device.online is True
    zone = _zone(client, town.roads[0].uuid)
    assert (zone["available_spaces"], int(zone["custom_attributes"]["unknown_spaces"])) == (3, 0)
    spaces = _spaces(client)
    assert (spaces["T1-1"]["available"], spaces["T1-2"]["available"]) == (True, False)


def test_a_stale_comms_lost_does_not_undo_a_newer_comms_restored(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    clock.advance(timedelta(minutes=10))
    restored = cds_event(town.stake_a, town.bay("T1-1"), "comms_restored", clock.now())
    lost = cds_event(town.stake_a, town.bay("T1-1"), "comms_lost", clock.now() - timedelta(minutes=5))
    push_answer(client, town.stake_a, [restored])
    push_answer(client, town.stake_a, [lost])
    db.expire_all()
    device = db.get(Device, town.stake_a.device.id)
    assert device is not None and device.online is True


def test_an_online_data_feed_makes_every_bay_known(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    t0 = clock.now() - timedelta(hours=1)
    # Road 2: T2-1 and T2-2 under stake B, T2-3 and T2-4 under no stake at all.
    push_answer(
        client,
        town.feed,
        [
            cds_event(town.feed, town.bay(f"T2-{n}"), "park_end", t0 + timedelta(minutes=n))
            for n in range(1, 5)
        ],
    )
    _status(client, town.stake_b, "comms_lost", town, clock)
    _status(client, town.feed, "comms_lost", town, clock)
    road = town.roads[1].uuid
    zone = _zone(client, road)
    assert (zone["available_spaces"], int(zone["custom_attributes"]["unknown_spaces"])) == (0, 4)

    clock.advance(timedelta(minutes=2))
    _status(client, town.feed, "comms_restored", town, clock)
    zone = _zone(client, road)
    assert (zone["num_spaces"], zone["available_spaces"]) == (4, 4)
    assert int(zone["custom_attributes"]["unknown_spaces"]) == 0
    spaces = _spaces(client)
    assert all(spaces[f"T2-{n}"]["available"] is True for n in range(1, 5))
