"""`flask --app api bench-storage`: bytes on disk per event and per stay, before and after the
event archive (issue 17 item 5; figures in docs/BENCHMARKS.md).

A fresh database (a SQLite file, a throwaway durable PostgreSQL cluster, or `--url`) gets the
demo district and `--days` simulated pilot days pushed through the intake as the devices
would (sensors/intake.py: logged and folded into stays; POS payments are not booked). Then the sizes of the event log and the stays,
each with every index (SQLite: the dbstat table's pages; PostgreSQL: pg_total_relation_size),
then the archive step with `--hot-days`, the freed space compacted (VACUUM; VACUUM FULL of the
event table on PostgreSQL, as a long-running log would reuse it), and the sizes again, with
the archive's files.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import upgrade
from fixtures.demo import DEMO_SLUG, DEMO_TIME_ZONE, seed_demo
from fixtures.pgcluster import find_pg_bin
from fixtures.servers import throwaway_database
from fixtures.simulator import sim_bays, simulate_day
from parking.inventory import get_district
from parking.models import Bay, Road, Stay
from parking.unit_of_work import writing
from sensors.archive import archive_events, archive_files
from sensors.intake import ingest_batch
from sensors.models import CurbEvent, Device

ZONE = ZoneInfo(DEMO_TIME_ZONE)
NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # midnight in the demo's zone: the days are done
SKEW = timedelta(seconds=120)
CHUNK = 1000  # the most a push may hold
EVENT_TABLE, STAY_TABLE = "curb_event", "stay"


@click.command("bench-storage")
@click.option(
    "--database", type=click.Choice(["sqlite", "postgresql", "both"]), default="both", show_default=True
)
@click.option("--url", help="An empty database to fill instead of a throwaway one (then one --database).")
@click.option("--days", default=40, show_default=True, type=click.IntRange(1, 400))
@click.option("--hot-days", default=35.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
def bench_storage(database: str, url: str | None, days: int, hot_days: float) -> None:
    """Bytes on disk per event row and per stay, indexes included, before and after archiving."""
    kinds = ["sqlite", "postgresql"] if database == "both" else [database]
    if url and len(kinds) > 1:
        raise click.UsageError("--url fills one database: name its kind with --database")
    if "postgresql" in kinds and not url and find_pg_bin() is None:
        raise click.ClickException("PostgreSQL is not installed here (no initdb/pg_ctl)")
    for kind in kinds:
        with _database(kind, url) as target, tempfile.TemporaryDirectory(prefix="parking-archive-") as folder:
            for line in run_storage(kind, target, days, hot_days, Path(folder)):
                click.echo(line)


def _database(kind: str, url: str | None) -> Any:
    if url:
        return _given(url)
    return throwaway_database(kind, prefix="parking-bench-storage-")


class _given:
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_: object) -> None:
        return None


@dataclass(frozen=True)
class Sizes:
    events: int
    stays: int
    event_bytes: int
    stay_bytes: int

    def line(self, kind: str, when: str, archived: int = 0, archive_bytes: int = 0) -> str:
        per_event = self.event_bytes / self.events if self.events else 0.0
        per_stay = self.stay_bytes / self.stays if self.stays else 0.0
        text_ = (
            f"{kind}: {when}: {self.events} events in the database, {self.event_bytes / 1e6:.1f} MB "
            f"({per_event:.0f} bytes per event row, indexes included); {self.stays} stays, "
            f"{self.stay_bytes / 1e6:.1f} MB ({per_stay:.0f} bytes per stay)"
        )
        if archived:
            text_ += (
                f"; archive: {archived} events in {archive_bytes / 1e6:.1f} MB "
                f"({archive_bytes / archived:.0f} bytes per event)"
            )
        return text_


def run_storage(kind: str, url: str, days: int, hot_days: float, folder: Path) -> Iterator[str]:
    upgrade(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        with Session(engine) as db:
            pushed = _simulate(db, days)
        yield f"{kind}: {days} pilot days simulated, {pushed} events pushed in {time.perf_counter() - started:.0f} s"
        _compact(engine, kind)
        yield measure(engine, kind).line(kind, "before archiving")
        started = time.perf_counter()
        with Session(engine) as db:
            result = archive_events(db, get_district(db, DEMO_SLUG), folder, NOW, hot_days)
        took = time.perf_counter() - started
        files = archive_files(folder, DEMO_SLUG)
        archive_bytes = sum(p.stat().st_size for p in files)
        yield f"{kind}: archived {result.events} events older than {hot_days:g} days into {len(files)} files in {took:.1f} s"
        _compact(engine, kind)
        after = measure(engine, kind)
        yield after.line(kind, "after archiving", result.events, archive_bytes)
        total = after.events + result.events
        if total:
            yield (
                f"{kind}: every event, hot or archived: {(after.event_bytes + archive_bytes) / total:.0f} bytes "
                f"per event; older than the hot window: {archive_bytes / max(result.events, 1):.0f} bytes "
                f"per event (in the archive, none left in the database)"
            )
    finally:
        engine.dispose()


def _simulate(db: Session, days: int) -> int:
    """The demo district and `days` simulated local days before NOW, each day pushed device by
    device in one transaction (stakes first, then the POS terminals). Through the intake
    (logged, deduplicated, folded into the stays) but not the payment booking: payments are
    not what is measured, and booking each takes longer than the rest of its day."""
    with writing(db):
        seed_demo(db, NOW - timedelta(days=days + 1))
    spaces = {
        name: (space, zone)
        for name, space, zone in db.execute(
            select(Bay.name, Bay.uuid, Road.uuid).join(Road, Road.id == Bay.road_id)
        )
    }
    devices = {d.uuid: (d.id, d.kind) for d in db.scalars(select(Device))}
    bays = sim_bays(spaces, {name: uuid_ for name, uuid_ in db.execute(select(Device.name, Device.uuid))})
    today = NOW.astimezone(ZONE).date()
    pushed = 0
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        events = simulate_day(bays, datetime.combine(day, datetime.min.time(), tzinfo=ZONE), day.toordinal())
        by_device: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            by_device.setdefault(str(event["data_source_device_id"]), []).append(event)
        with writing(db):
            for device_uuid in sorted(by_device, key=lambda u: devices[u][1] == "handheld_pos"):
                items = by_device[device_uuid]
                for start in range(0, len(items), CHUNK):
                    device = db.get_one(Device, devices[device_uuid][0])
                    ingest_batch(db, device, items[start : start + CHUNK], NOW, SKEW)
        pushed += len(events)
    return pushed


def _compact(engine: Engine, kind: str) -> None:
    """Give back the space the deleted rows held, outside any transaction."""
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        driver.commit()
        if kind == "sqlite":
            driver.isolation_level = None
            driver.execute("VACUUM")
        else:
            driver.autocommit = True
            driver.execute(f"VACUUM FULL {EVENT_TABLE}")
            driver.execute(f"VACUUM ANALYZE {STAY_TABLE}")
    finally:
        raw.invalidate()  # not back to the pool in autocommit


def measure(engine: Engine, kind: str) -> Sizes:
    with Session(engine) as db:
        events = db.scalar(select(func.count()).select_from(CurbEvent)) or 0
        stays = db.scalar(select(func.count()).select_from(Stay)) or 0
        if kind == "sqlite":
            event_bytes, stay_bytes = (_sqlite_bytes(db, t) for t in (EVENT_TABLE, STAY_TABLE))
        else:
            event_bytes, stay_bytes = (
                int(db.scalar(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": t}) or 0)
                for t in (EVENT_TABLE, STAY_TABLE)
            )
    return Sizes(events, stays, event_bytes, stay_bytes)


def _sqlite_bytes(db: Session, table: str) -> int:
    """Pages of the table and of every index on it (its own and its unique constraints')."""
    names = [
        table,
        *db.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"), {"t": table}
        ),
    ]
    total = 0
    for name in names:
        total += int(
            db.scalar(text("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = :n"), {"n": name}) or 0
        )
    return total
