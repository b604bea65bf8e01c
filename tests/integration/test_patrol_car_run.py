"""The simulator's patrol car on a road with a planted overstay: a short run, its reads sent
to the patrol endpoint as the live runner sends them, gives audited plate checks of the car
and a hit for the overstayed vehicle, and none for the one parked within its time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models_warden import PATROL_READ, PlateCheck
from fixtures.builders import build_small_district, cds_event
from fixtures.patrol_car import PatrolCar
from fixtures.simulator import SimBay
from fixtures.tariffs import publish_demo_tariffs
from parking.clock import FixedClock
from sensors.devices import create_device
from tests.support.http import bearer, push_ok

OVERSTAYER, WITHIN = "贵A10001", "贵A10003"


def test_a_short_patrol_run_gives_audited_checks_and_a_hit_for_the_planted_overstay(
    client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    now = clock.now()
    town = build_small_district(db, now - timedelta(days=1))
    publish_demo_tariffs(db, town.district, now - timedelta(days=1))
    town.roads[0].tariff_code = "core"  # 4 h at most
    car = create_device(db, town.district, "patrol_car", now, name="PATROL-1")
    db.commit()
    push_ok(client, town.stake_a, [
        cds_event(town.stake_a, town.bay("T1-1"), "park_start", now - timedelta(hours=5), plate=OVERSTAYER, confidence=95),
        cds_event(town.stake_a, town.bay("T1-3"), "park_start", now - timedelta(minutes=20), plate=WITHIN, confidence=95),
    ])  # fmt: skip
    road = [
        SimBay(b.name, b.uuid, town.roads[0].uuid, b.lat, b.lng, ("", ""), ("", ""))
        for b in town.bays
        if b.road_id == town.roads[0].id
    ]
    parked = {town.bay("T1-1").uuid: OVERSTAYER, town.bay("T1-3").uuid: WITHIN}
    patrol = PatrolCar(road, now - timedelta(seconds=30), seed=4, bays_per_second=1)
    hits: list[dict[str, Any]] = []
    reads = 0
    for back in (20, 10, 0):  # three ticks of the runner: some 30 bays passed, seven rounds
        batch = patrol.drive(now - timedelta(seconds=back), parked)
        reply = client.post(
            f"/api/v1/{town.district.slug}/patrol/reads", json={"reads": batch}, headers=bearer(car.token)
        )
        assert reply.status_code == 200, reply.get_json()
        hits += reply.get_json()["hits"]
        reads += len(batch)
    checks = db.scalars(select(PlateCheck).where(PlateCheck.device_id == car.device.id)).all()
    assert reads >= 14 and len(checks) == reads
    assert {c.route for c in checks} == {PATROL_READ}
    assert {h["plate"] for h in hits} == {OVERSTAYER}
    assert all(h["reasons"] == ["overstayed"] and h["bay"] == town.bay("T1-1").uuid for h in hits)
    assert db.scalar(select(func.count()).select_from(PlateCheck).where(PlateCheck.device_id.is_(None))) == 0
