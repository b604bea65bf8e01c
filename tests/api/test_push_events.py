from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fixtures.builders import build_small_district, cds_event
from parking.clock import FixedClock
from parking.models import Stay


def test_a_camera_arrival_and_departure_make_one_closed_stay(
    client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    town = build_small_district(db, clock.now())
    db.commit()
    bay = town.bay("T1-1")
    start = clock.now() - timedelta(hours=2)
    batch = [
        cds_event(town.stake_a, bay, "park_start", start, plate="贵A12345", confidence=90),
        cds_event(town.stake_a, bay, "park_end", start + timedelta(minutes=40)),
    ]
    response = client.post(
        "/cds/testville/events/event",
        json=batch,
        headers={"Authorization": f"Bearer {town.stake_a.token}"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"success": 2, "total": 2, "failures": []}
    stays = db.scalars(select(Stay)).all()
    assert [(s.plate, s.ended_at - s.started_at) for s in stays] == [("贵A12345", timedelta(minutes=40))]
