"""`flask bench-pricing`: how fast ended stays are priced, by the engine alone and by the
price-stays job end to end on a temporary SQLite database holding a realistic day of stays."""

from __future__ import annotations

import cProfile
import pstats
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import click
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from api.database import make_engine
from api.migrations import upgrade
from billing.models import StayFee
from billing.tariff import Tariff
from billing.tariffs import price_ended_stays
from fixtures.demo import DEMO_TIME_ZONE, seed_demo
from fixtures.tariffs import DEMO_TARIFFS
from parking.db import insert_rows
from parking.models import Bay, District, Road, Stay
from parking.plate_rules import vehicle_class_for_plate

# The day simulated: a Tuesday in March 2026, 00:00 to 24:00 in Guiyang (UTC+8).
DAY_START = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
NOW = DAY_START + timedelta(days=2)  # every stay has ended when the job runs
# Share of arrivals in each local hour of the day (a weekday of on-street parking).
ARRIVALS_BY_HOUR = (1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 11, 10, 9, 10, 11, 11, 10, 9, 8, 7, 5, 3, 2, 1)
PROVINCES = "贵川渝滇湘桂粤黔"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
ELECTRIC_SHARE = 0.15


@dataclass(frozen=True)
class PlannedStay:
    bay_id: int
    road_id: int
    tariff_code: str
    plate: str
    started_at: datetime
    ended_at: datetime


def plan_day(bays: list[tuple[int, int, str]], count: int, seed: int) -> list[PlannedStay]:
    """`count` stays over `bays` (id, road id, tariff code): arrivals by the hourly profile,
    durations mostly 10 minutes to 4 hours with a long tail, some overnight."""
    rng = random.Random(seed)
    hours = rng.choices(range(24), weights=ARRIVALS_BY_HOUR, k=count)
    stays = []
    for hour in hours:
        bay_id, road_id, code = rng.choice(bays)
        started_at = DAY_START + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
        stays.append(
            PlannedStay(bay_id, road_id, code, _plate(rng), started_at, started_at + _duration(rng, hour))
        )
    return stays


def _duration(rng: random.Random, hour: int) -> timedelta:
    roll = rng.random()
    if hour >= 18 and roll < 0.15:  # overnight: residents who leave in the morning
        return timedelta(hours=rng.uniform(10, 15))
    if roll < 0.06:  # the long tail: a working day
        return timedelta(hours=rng.uniform(4, 10))
    if roll < 0.10:  # a quick stop, often inside the free minutes
        return timedelta(minutes=rng.uniform(1, 10))
    minutes = min(240.0, max(10.0, rng.lognormvariate(3.9, 0.7)))  # median about 50 minutes
    return timedelta(minutes=minutes)


def _plate(rng: random.Random) -> str:
    head = rng.choice(PROVINCES) + rng.choice(PLATE_LETTERS)
    if rng.random() < ELECTRIC_SHARE:
        return head + rng.choice("DF") + "".join(rng.choices("0123456789", k=5))
    return head + "".join(rng.choices("0123456789" + PLATE_LETTERS, k=5))


def time_engine(stays: list[PlannedStay]) -> float:
    """Seconds to price every stay and build its stored breakdown, by the engine alone."""
    tariffs = {code: Tariff(document, DEMO_TIME_ZONE) for code, document in DEMO_TARIFFS.items()}
    chunk = 10_000
    began = time.perf_counter()
    with tqdm(total=len(stays), desc="engine", unit="stay", leave=False) as bar:
        for i in range(0, len(stays), chunk):
            for stay in stays[i : i + chunk]:
                fee = tariffs[stay.tariff_code].price(
                    stay.started_at, stay.ended_at, vehicle_class_for_plate(stay.plate, "cn_ga36")
                )
                fee.breakdown()
            bar.update(len(stays[i : i + chunk]))
    return time.perf_counter() - began


def _store_stays(db: Session, district: District, stays: list[PlannedStay]) -> None:
    rows: list[dict[str, Any]] = [
        {
            "uuid": str(uuid.uuid4()),
            "district_id": district.id,
            "bay_id": s.bay_id,
            "road_id": s.road_id,
            "plate": s.plate,
            "plate_confidence": 90,
            "plate_source": "camera",
            "started_at": s.started_at,
            "ended_at": s.ended_at,
            "ended_by": "event",
            "start_event_id": str(uuid.uuid4()),
            "end_event_id": str(uuid.uuid4()),
            "event_ids": [],
            "sources": ["camera"],
            "updated_at": s.ended_at,
        }
        for s in stays
    ]
    table = cast(Table, Stay.__table__)
    for i in tqdm(range(0, len(rows), 10_000), desc="inserting stays", unit="batch", leave=False):
        insert_rows(db, table, rows[i : i + 10_000])


@click.command("bench-pricing")
@click.option("--stays", "count", default=100_000, show_default=True, type=click.IntRange(1000))
@click.option("--seed", default=1, show_default=True)
@click.option("--profile", is_flag=True, help="Print the job's 25 costliest functions (cProfile).")
def bench_pricing(count: int, seed: int, profile: bool) -> None:
    """Stays priced per second: by the tariff engine (fee and stored breakdown), then by the
    price-stays job on a temporary SQLite database holding a day of stays of the demo district."""
    with tempfile.TemporaryDirectory(prefix="parking-bench-pricing-") as folder:
        url = f"sqlite:///{folder}/bench.db"
        click.echo("migrating and seeding the demo district...", err=True)
        upgrade(url)
        engine = make_engine(url)
        try:
            with Session(engine) as db:
                district = seed_demo(db, DAY_START).slug
                db.commit()
                place = db.scalars(select(District).where(District.slug == district)).one()
                bays = [
                    tuple(r) for r in db.execute(select(Bay.id, Bay.road_id, Road.tariff_code).join(Road))
                ]
                stays = plan_day(cast(list[tuple[int, int, str]], bays), count, seed)
                _describe(stays)
                engine_seconds = time_engine(stays)
                click.echo(_rate("engine (fee + breakdown)", count, engine_seconds))
                _store_stays(db, place, stays)
                db.commit()
                click.echo(f"job: pricing {count:,} ended stays...", err=True)
                profiler = cProfile.Profile() if profile else None
                began = time.perf_counter()
                if profiler:
                    profiler.enable()
                priced = price_ended_stays(db, place, NOW)
                db.commit()
                if profiler:
                    profiler.disable()
                job_seconds = time.perf_counter() - began
                stored = db.scalar(select(func.count()).select_from(StayFee)) or 0
                click.echo(
                    _rate("price-stays job, SQLite", priced, job_seconds) + f" ({stored:,} fees stored)"
                )
                if profiler:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        finally:
            engine.dispose()


def _describe(stays: list[PlannedStay]) -> None:
    minutes = sorted((s.ended_at - s.started_at).total_seconds() / 60 for s in stays)
    overnight = sum(1 for s in stays if (s.ended_at - DAY_START).days >= 1)
    electric = sum(1 for s in stays if vehicle_class_for_plate(s.plate, "cn_ga36"))
    click.echo(
        f"{len(stays):,} stays: median {minutes[len(minutes) // 2]:.0f} min, "
        f"95th percentile {minutes[len(minutes) * 95 // 100]:.0f} min, {overnight:,} past midnight, "
        f"{electric:,} electric",
        err=True,
    )


def _rate(label: str, count: int, seconds: float) -> str:
    return f"{label}: {count:,} stays in {seconds:.2f} s = {count / seconds:,.0f} stays/s"
