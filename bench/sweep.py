"""`flask --app api bench-sweep`: one overstay sweep over a generated city-sized district.

Builds a district of `--bays` bays (20 to a road) with `--open-stays` open stays that began up
to four hours ago (seeded), in a temporary database, then times the first overstay sweep (which
writes the violations and tasks) and a second one (which must write nothing), each committed."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import click
from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import upgrade
from billing.tariffs import publish_tariff
from enforcement.models import Task, Violation
from enforcement.sweeps import sweep_overstays
from fixtures.pgcluster import find_pg_bin
from fixtures.servers import throwaway_database
from parking.db import insert_rows, update_rows
from parking.inventory import ensure_district
from parking.models import Bay, District, Road, Stay

BAYS_PER_ROAD = 20
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TARIFF = {
    "name": "bench",
    "max_stay_minutes": 120,
    "grace_minutes": 10,
    "bands": [
        {
            "name": "all",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "windows": [["00:00", "24:00"]],
            "tiers": [{"increment_minutes": 30, "amount": 300}],
        }
    ],
}


@click.command("bench-sweep")
@click.option(
    "--database", type=click.Choice(["sqlite", "postgresql", "both"]), default="both", show_default=True
)
@click.option("--bays", default=100_000, show_default=True, type=click.IntRange(BAYS_PER_ROAD))
@click.option("--open-stays", default=60_000, show_default=True, type=click.IntRange(1))
def bench_sweep(database: str, bays: int, open_stays: int) -> None:
    """Seconds for one overstay sweep (first run and idempotent second run)."""
    if open_stays > bays:
        raise click.ClickException("--open-stays cannot exceed --bays")
    kinds = ["sqlite", "postgresql"] if database == "both" else [database]
    if "postgresql" in kinds and find_pg_bin() is None:
        raise click.ClickException("PostgreSQL is not installed here (no initdb/pg_ctl)")
    for kind in kinds:
        with throwaway_database(kind, prefix="parking-bench-sweep-") as url:
            click.echo(f"{kind}: building {bays} bays, {open_stays} open stays...", err=True)
            upgrade(url)
            engine = make_engine(url)
            try:
                with Session(engine) as db:
                    district_id = _build(db, bays, open_stays)
                    db.commit()
                    if kind == "postgresql":
                        db.execute(text("ANALYZE"))
                        db.commit()
                figures = [_timed_sweep(engine, district_id) for _ in range(2)]
                with Session(engine) as db:
                    written = (
                        db.scalar(select(func.count()).select_from(Violation)),
                        db.scalar(select(func.count()).select_from(Task)),
                    )
            finally:
                engine.dispose()
            (first, found), (second, again) = figures
            click.echo(
                f"{kind}: bays={bays} open_stays={open_stays} overstay first run {first:.3f} s "
                f"({found} violations), second run {second:.3f} s ({again} new); "
                f"rows: {written[0]} violations, {written[1]} tasks"
            )


def _timed_sweep(engine: Any, district_id: int) -> tuple[float, int]:
    with Session(engine) as db:
        district = db.get(District, district_id)
        assert district is not None
        started = time.perf_counter()
        result = sweep_overstays(db, district, NOW)
        db.commit()
        return time.perf_counter() - started, result.found


def _build(db: Session, bays: int, open_stays: int) -> int:
    """The generated district; returns its id."""
    rng = random.Random(42)
    district, _ = ensure_district(db, "bench", NOW, name="Bench", time_zone="Asia/Shanghai", currency="CNY")
    publish_tariff(db, district, "standard", TARIFF, NOW - timedelta(days=30), NOW)
    roads = []
    for r in range(-(-bays // BAYS_PER_ROAD)):
        lat, lng = 26.5 + (r // 100) * 0.001, 106.6 + (r % 100) * 0.001
        line = {"type": "LineString", "coordinates": [[lng, lat], [lng + 0.0009, lat]]}
        roads.append(
            {
                "uuid": str(uuid.uuid4()), "district_id": district.id, "name": f"Road {r}", "tariff_code": "standard",
                "geometry": line, "center_lat": lat, "center_lng": lng + 0.00045, "min_lat": lat, "min_lng": lng,
                "max_lat": lat, "max_lng": lng + 0.0009, "published_at": NOW, "updated_at": NOW,
            }
        )  # fmt: skip
    insert_rows(db, cast(Table, Road.__table__), roads)
    road_ids = {
        name: id_
        for name, id_ in db.execute(select(Road.name, Road.id).where(Road.district_id == district.id))
    }
    rows = []
    for b in range(bays):
        r = b // BAYS_PER_ROAD
        lat, lng = 26.5 + (r // 100) * 0.001, 106.6 + (r % 100) * 0.001 + (b % BAYS_PER_ROAD) * 0.000045
        rows.append(
            {
                "uuid": str(uuid.uuid4()), "district_id": district.id, "road_id": road_ids[f"Road {r}"],
                "name": f"B{b:06d}", "space_number": b % BAYS_PER_ROAD + 1, "lat": lat, "lng": lng,
                "geometry": {"type": "Point", "coordinates": [lng, lat]}, "length_cm": 600,
                "published_at": NOW, "updated_at": NOW, "state": "vacant", "state_since": NOW - timedelta(days=1),
            }
        )  # fmt: skip
    insert_rows(db, cast(Table, Bay.__table__), rows)
    bay_rows = db.execute(
        select(Bay.id, Bay.road_id).where(Bay.district_id == district.id).order_by(Bay.id)
    ).all()
    occupied = rng.sample(bay_rows, open_stays)
    stays = []
    for n, (bay_id, road_id) in enumerate(occupied):
        started = NOW - timedelta(seconds=rng.randint(60, 4 * 3600))
        event_id = str(uuid.uuid4())
        stays.append(
            {
                "uuid": str(uuid.uuid4()), "district_id": district.id, "bay_id": bay_id, "road_id": road_id,
                "plate": f"贵A{n:05d}", "plate_confidence": 90, "plate_source": "camera", "started_at": started,
                "start_event_id": event_id, "event_ids": [event_id], "sources": ["camera"], "updated_at": started,
            }
        )  # fmt: skip
    insert_rows(db, cast(Table, Stay.__table__), stays)
    opened = db.execute(select(Stay.id, Stay.bay_id, Stay.started_at).where(Stay.district_id == district.id))
    update_rows(
        db,
        cast(Table, Bay.__table__),
        [
            {"id": bay_id, "state": "occupied", "state_since": at, "open_stay_id": stay_id}
            for stay_id, bay_id, at in opened
        ],
    )
    return district.id
