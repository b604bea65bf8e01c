"""Writing violations and their tasks once, and ending them when the vehicle leaves.

Every write here is set-based and idempotent: a violation is unique per (stay, rule) and a
task per `key`, so a sweep that sees the same stay again writes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Select, Table, and_, exists, select, update
from sqlalchemy.orm import Session

from enforcement.models import CANCELLED, OPEN, UNREGISTERED, UNTAKEN, Task, Violation
from parking.db import UTCDateTime, insert_rows
from parking.models import Bay, Stay, new_uuid

_VIOLATION = cast(Table, Violation.__table__)
_TASK = cast(Table, Task.__table__)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did, for the job's summary line."""

    sweep: str
    found: int = 0
    tasks: int = 0
    ended: int = 0
    cancelled: int = 0

    def summary(self) -> str:
        return (
            f"{self.sweep}: {self.found} new violations, {self.tasks} tasks, "
            f"{self.ended} violations ended, {self.cancelled} tasks cancelled"
        )


@dataclass(frozen=True)
class Breach:
    """One open stay found breaking a rule, with everything its violation and task need."""

    stay_id: int
    bay_id: int
    road_id: int
    plate: str | None
    stay_started_at: datetime
    started_at: datetime
    lat: float
    lng: float
    team: str
    evidence: dict[str, Any]


def open_stays(district_id: int, rule: str, *columns: Any) -> Select[Any]:
    """The district's open stays (through each bay's open stay) that have no violation of
    `rule` yet, with their bay's position."""
    return (
        select(
            Stay.id,
            Stay.bay_id,
            Stay.road_id,
            Stay.plate,
            Stay.started_at,
            Stay.event_ids,
            Bay.lat,
            Bay.lng,
            *columns,
        )
        .select_from(Bay)
        .join(Stay, Stay.id == Bay.open_stay_id)
        .where(
            Bay.district_id == district_id,
            ~exists().where(Violation.stay_id == Stay.id, Violation.rule == rule),
        )
    )


def record_violations(
    db: Session, district_id: int, rule: str, kind: str, breaches: list[Breach], now: datetime
) -> tuple[int, int]:
    """Insert a violation per breach (skipping any already there) and an open task for each
    one inserted. Returns (violations, tasks) written."""
    if not breaches:
        return 0, 0
    by_stay = {b.stay_id: b for b in breaches}
    ids = iter(new_uuids(len(breaches)))
    rows = [
        {
            "uuid": next(ids),
            "district_id": district_id,
            "rule": rule,
            "stay_id": b.stay_id,
            "bay_id": b.bay_id,
            "road_id": b.road_id,
            "plate": b.plate,
            "stay_started_at": b.stay_started_at,
            "started_at": b.started_at,
            "detected_at": now,
            "evidence": b.evidence,
        }
        for b in breaches
    ]
    insert_skipping(db, _VIOLATION, rows, ("stay_id", "rule"))
    inserted = db.execute(
        select(Violation.id, Violation.uuid, Violation.stay_id).where(
            Violation.district_id == district_id, Violation.rule == rule, Violation.detected_at == now
        )
    ).all()
    task_ids = iter(new_uuids(len(inserted)))
    tasks = []
    for v in inserted:
        b = by_stay[v.stay_id]
        tasks.append(
            task_row(
                district_id,
                f"violation:{v.uuid}",
                b.team,
                kind,
                now,
                uuid=next(task_ids),
                violation_id=v.id,
                bay_id=b.bay_id,
                road_id=b.road_id,
                lat=b.lat,
                lng=b.lng,
            )
        )
    return len(inserted), insert_skipping(db, _TASK, tasks, ("district_id", "key"))


def insert_skipping(db: Session, table: Table, rows: list[dict[str, Any]], unique: tuple[str, ...]) -> int:
    """INSERT rows, skipping those clashing on the `unique` key; returns how many were new.
    SQLite gets the driver's own executemany: SQLAlchemy's per-row parameter processing
    would cost more than the insert itself (a first sweep of a city writes tens of thousands)."""
    if not rows:
        return 0
    if db.get_bind().dialect.name != "sqlite":
        return len(insert_rows(db, table, rows, returning=("id",), skip_conflicts_on=unique))
    names = list(rows[0])
    convert = [_sqlite_converter(table.c[n].type) for n in names]
    raw = db.connection().connection.driver_connection
    assert raw is not None
    before = raw.total_changes
    raw.executemany(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
        f"ON CONFLICT ({', '.join(unique)}) DO NOTHING",
        [[f(row[n]) if f else row[n] for f, n in zip(convert, names, strict=True)] for row in rows],
    )
    return int(raw.total_changes - before)


def _sqlite_converter(kind: Any) -> Callable[[Any], Any] | None:
    """How a column's values are stored in SQLite here: `parking.db.UTCDateTime` text, JSON text."""
    if isinstance(kind, UTCDateTime):
        return lambda at: None if at is None else at.astimezone(UTC).isoformat(" ", "microseconds")[:26]
    if isinstance(kind, JSON):
        return lambda value: None if value is None else orjson.dumps(value).decode()
    return None


def new_uuids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs, from one read of the system's random source."""
    raw = os.urandom(16 * count).hex()
    out = []
    for i in range(0, 32 * count, 32):
        h = raw[i : i + 32]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}")
    return out


def task_row(
    district_id: int, key: str, team: str, kind: str, now: datetime, **fields: Any
) -> dict[str, Any]:
    """A new open task, every column present (bulk inserts need the same keys in each row)."""
    row: dict[str, Any] = {
        "uuid": None,
        "district_id": district_id,
        "key": key,
        "team": team,
        "kind": kind,
        "violation_id": None,
        "device_id": None,
        "bay_id": None,
        "road_id": None,
        "lat": None,
        "lng": None,
        "details": {},
        "status": OPEN,
        "created_at": now,
    }
    row.update(fields)
    if row["uuid"] is None:
        row["uuid"] = new_uuid()
    return row


def end_violations(db: Session, district_id: int, now: datetime) -> tuple[int, int]:
    """End the open violations whose vehicle has left (at the stay's end), whose stay was
    re-derived away by late events (now), and the unregistered ones whose stay now has a plate
    (now); then cancel their tasks nobody took. Returns (ended, cancelled)."""
    still_open = and_(Violation.district_id == district_id, Violation.ended_at.is_(None))
    stay_ended = select(Stay.ended_at).where(Stay.id == Violation.stay_id).scalar_subquery()
    ended = _update(
        db,
        update(Violation)
        .where(still_open, exists().where(Stay.id == Violation.stay_id, Stay.ended_at.is_not(None)))
        .values(ended_at=stay_ended),
    )
    ended += _update(
        db,
        update(Violation)
        .where(still_open, ~exists().where(Stay.id == Violation.stay_id))
        .values(ended_at=now),
    )
    ended += _update(
        db,
        update(Violation)
        .where(
            still_open,
            Violation.rule == UNREGISTERED,
            exists().where(Stay.id == Violation.stay_id, Stay.plate.is_not(None)),
        )
        .values(ended_at=now),
    )
    cancelled = _update(
        db,
        update(Task)
        .where(
            Task.district_id == district_id,
            Task.status.in_(UNTAKEN),
            Task.violation_id.is_not(None),
            exists().where(Violation.id == Task.violation_id, Violation.ended_at.is_not(None)),
        )
        .values(status=CANCELLED, resolved_at=now, outcome="violation_ended"),
    )
    return ended, cancelled


def _update(db: Session, statement: Any) -> int:
    result = db.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
