from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from fixtures.builders import build_small_district, cds_event
from parking.clock import FixedClock
from sensors.availability import bay_states
from sensors.health import sweep_silent_devices


def test_a_stake_silent_past_the_limit_goes_offline_once_and_its_bays_become_unknown(
    db: Session, clock: FixedClock
) -> None:
    town = build_small_district(db, clock.now())
    town.feed.device.online = False  # only the stakes watch the bays here
    town.stake_a.device.last_seen_at = clock.now() - timedelta(minutes=11)
    town.stake_b.device.last_seen_at = clock.now() - timedelta(minutes=9)
    db.flush()

    sweep = sweep_silent_devices(db, clock.now(), timedelta(minutes=10), town.district.id)
    again = sweep_silent_devices(db, clock.now(), timedelta(minutes=10), town.district.id)

    assert sweep.went_offline == ["STAKE-A"] and again.went_offline == []
    assert town.stake_a.device.offline_reason == "silent"
    states = bay_states(db, town.district.id, [b.id for b in town.bays])
    assert {states[town.bay(f"T1-{n}").id] for n in range(1, 5)} == {"unknown"}


def test_a_silent_device_heard_again_is_back_online(
    client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    town = build_small_district(db, clock.now())
    sweep_silent_devices(db, clock.now() + timedelta(minutes=30), timedelta(minutes=10))
    db.commit()
    assert not town.stake_a.device.online

    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", clock.now() - timedelta(minutes=1))
    reply = client.post(
        "/cds/testville/events/event", json=[event], headers={"Authorization": f"Bearer {town.stake_a.token}"}
    )

    assert reply.get_json()["success"] == 1
    db.refresh(town.stake_a.device)
    assert town.stake_a.device.online and town.stake_a.device.offline_reason is None


def test_a_device_that_reported_comms_lost_stays_offline_when_it_sends_other_events(
    client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    town = build_small_district(db, clock.now())
    db.commit()
    at = clock.now() - timedelta(minutes=5)
    lost = cds_event(town.stake_a, town.bay("T1-1"), "comms_lost", at)
    arrival = cds_event(town.stake_a, town.bay("T1-2"), "park_start", at + timedelta(minutes=1))
    headers = {"Authorization": f"Bearer {town.stake_a.token}"}

    assert (
        client.post("/cds/testville/events/event", json=[lost, arrival], headers=headers).status_code == 200
    )

    db.refresh(town.stake_a.device)
    assert not town.stake_a.device.online and town.stake_a.device.offline_reason == "reported"
