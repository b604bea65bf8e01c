"""The README's tour works on the demo as `make run` seeds it: the tour's plate owes."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.scheduler.jobs import run_job
from fixtures.demo import DEMO_DRIVER_PLATES, DEMO_SLUG, TOUR_PLATE, seed_demo
from parking.clock import FixedClock


def test_the_tour_plate_owes_for_yesterdays_stay_after_seed_history(
    app: Flask, client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    seed_demo(db, clock.now())
    result = app.test_cli_runner().invoke(args=["seed-history", "--days", "1"])
    assert result.exit_code == 0, result.output
    run_job(app, "price-stays", DEMO_SLUG)

    owed = client.get(f"/api/v1/{DEMO_SLUG}/plates/{quote(TOUR_PLATE)}/unpaid").get_json()

    assert TOUR_PLATE not in DEMO_DRIVER_PLATES  # no saved card pays it by itself
    assert owed["outstanding"] > 0
    times = [(s["started_at"][:16], s["ended_at"][:16]) for s in owed["stays"]]
    assert times == [("2026-03-01T01:00", "2026-03-01T03:30")]  # 09:00-11:30 in Guiyang, yesterday
