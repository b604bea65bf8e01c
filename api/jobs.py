"""Scheduled jobs: each a plain domain function, run in its own unit of work.

`flask --app api run-job NAME` runs one once; the scheduler process runs them on a timer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.database import new_session
from billing.tariffs import price_ended_stays
from parking.inventory import get_district
from parking.models import District
from sensors.health import sweep_silent_devices


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    help: str
    run: Callable[[Session, datetime, int | None, Flask], str]


def _device_health(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    silent_after = timedelta(minutes=app.config["DEVICE_SILENT_MINUTES"])
    return sweep_silent_devices(db, now, silent_after, district_id).summary()


def _price_stays(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    priced = {d.slug: price_ended_stays(db, d, now) for d in _districts(db, district_id)}
    return f"{sum(priced.values())} ended stays priced" + "".join(
        f", {s}: {n}" for s, n in priced.items() if n
    )


def _districts(db: Session, district_id: int | None) -> list[District]:
    query = select(District).order_by(District.id)
    if district_id is not None:
        query = query.where(District.id == district_id)
    return list(db.scalars(query))


JOBS = {
    job.name: job
    for job in (
        Job(
            "device-health",
            timedelta(minutes=1),
            "mark devices silent for DEVICE_SILENT_MINUTES offline (their bays become unknown)",
            _device_health,
        ),
        Job(
            "price-stays",
            timedelta(seconds=30),
            "price every ended stay by the tariff version in force when it started",
            _price_stays,
        ),
    )
}


def run_job(app: Flask, name: str, district: str | None = None) -> str:
    """Run one job once, committed as one unit of work; returns its one-line summary."""
    job = JOBS[name]
    db = new_session(app)
    try:
        district_id = get_district(db, district).id if district else None
        summary = job.run(db, app.extensions["parking.clock"].now(), district_id, app)
        db.commit()
        return summary
    finally:
        db.close()
