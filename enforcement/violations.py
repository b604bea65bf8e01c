"""Writing violations and their tasks once (ending and withdrawing them is
enforcement/violation_ends.py).

Every write here is set-based and idempotent: a violation is unique per (stay, rule) and a
task per `key`, so a sweep that sees the same stay again writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import (
    JSON,
    Select,
    Subquery,
    Table,
    column,
    exists,
    insert,
    literal,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from enforcement.models import (
    OPEN,
    Task,
    Violation,
)
from parking.db import UTCDateTime, insert_rows
from parking.models import Bay, Stay, new_uuid
from parking.sql_functions import random_uuid

_VIOLATION = cast(Table, Violation.__table__)
_TASK = cast(Table, Task.__table__)
_STAGING = table("found_violation", *(column(c.name) for c in _VIOLATION.c))


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did, for the job's summary line."""

    sweep: str
    found: int = 0
    tasks: int = 0
    ended: int = 0
    cancelled: int = 0
    withdrawn: int = 0

    def summary(self) -> str:
        return (
            f"{self.sweep}: {self.found} new violations, {self.tasks} tasks, "
            f"{self.ended} violations ended, {self.withdrawn} withdrawn, {self.cancelled} tasks cancelled"
        )


def _violation_columns(
    district_id: int, rule: str, now: datetime, started_at: Any, evidence: Any
) -> Select[Any]:
    """The columns of a new violation row of `rule`, one per stay the caller selects."""
    return select(
        random_uuid(),
        literal(district_id),
        literal(rule),
        Stay.id,
        Stay.bay_id,
        Stay.road_id,
        Stay.plate,
        Stay.plate_key,
        Stay.started_at,
        started_at,
        evidence,
        literal(now, UTCDateTime()),
    )


def open_stays(district_id: int, rule: str, now: datetime, started_at: Any, evidence: Any) -> Select[Any]:
    """The violation columns for the district's open stays (through each bay's open stay)
    that have no violation of `rule` yet; callers join what `started_at` and `evidence`
    need and add the rule's own conditions."""
    return (
        _violation_columns(district_id, rule, now, started_at, evidence)
        .select_from(Bay)
        .join(Stay, Stay.id == Bay.open_stay_id)
        .where(
            Bay.district_id == district_id,
            ~exists().where(Violation.stay_id == Stay.id, Violation.rule == rule),
        )
    )


def recent_stays(
    district_id: int, rule: str, now: datetime, since: datetime, started_at: Any, evidence: Any
) -> Select[Any]:
    """As `open_stays`, for every stay of the district still there or written (arrived,
    ended, re-derived) since `since`: a closed stay's overstay is a violation too (the
    compliance figure, and what a council's flag records), and a past day replayed or sent
    late is judged when it arrives; joined to its bay."""
    return (
        _violation_columns(district_id, rule, now, started_at, evidence)
        .select_from(Stay)
        .join(Bay, Bay.id == Stay.bay_id)
        .where(
            Stay.district_id == district_id,
            recently_written(since),
            ~exists().where(Violation.stay_id == Stay.id, Violation.rule == rule),
        )
    )


def recently_written(since: datetime) -> Any:
    """The stays a sweep with a look-back to `since` judges: open ones, and those written
    since (by the device clock a replayed day is years old; by the server's it is new)."""
    return or_(Stay.ended_at.is_(None), Stay.updated_at >= since)


def stay_is_open() -> Any:
    """The condition on a violation that its stay still lasts (a warden can still find it)."""
    return exists().where(Stay.id == Violation.stay_id, Stay.ended_at.is_(None))


def record_violations(
    db: Session,
    district_id: int,
    rule: str,
    kind: str,
    team: str,
    found: Select[Any],
    now: datetime,
    *conditions: Any,
) -> tuple[int, int]:
    """Insert a violation per row of `found` (an `open_stays` query; rows clashing on
    (stay, rule) are skipped), then an open task of `team` for each violation of `rule` this
    sweep detected and matching `conditions`. The database builds every row: nothing is
    read back. Returns (violations, tasks) written."""
    violations = _insert(db, _VIOLATION).from_select(_VIOLATION_COLUMNS, _staged(db, found))
    found_count = _count(db, violations.on_conflict_do_nothing(index_elements=["stay_id", "rule"]))
    if not found_count:
        return 0, 0
    return found_count, record_tasks(db, district_id, rule, kind, team, now, *conditions)


def record_tasks(
    db: Session, district_id: int, rule: str, kind: str, team: str, now: datetime, *conditions: Any
) -> int:
    """An open task of `team` for each violation of `rule` detected at `now` and matching
    `conditions` (one per violation: the task's key names it). Returns the tasks written."""
    tasks = select(
        random_uuid(),
        Violation.district_id,
        literal("violation:") + Violation.uuid,
        literal(team),
        literal(kind),
        Violation.id,
        Violation.bay_id,
        Violation.road_id,
        Bay.lat,
        Bay.lng,
        literal({}, JSON()),
        literal(OPEN),
        literal(now, UTCDateTime()),
    ).join(Bay, Bay.id == Violation.bay_id)
    tasks = tasks.where(
        Violation.district_id == district_id,
        Violation.rule == rule,
        Violation.detected_at == now,
        *conditions,
    )
    statement = _insert(db, _TASK).from_select(_TASK_COLUMNS, tasks)
    return _count(db, statement.on_conflict_do_nothing(index_elements=["district_id", "key"]))


_VIOLATION_COLUMNS = [
    "uuid",
    "district_id",
    "rule",
    "stay_id",
    "bay_id",
    "road_id",
    "plate",
    "plate_key",
    "stay_started_at",
    "started_at",
    "evidence",
    "detected_at",
]
_TASK_COLUMNS = [
    "uuid",
    "district_id",
    "key",
    "team",
    "kind",
    "violation_id",
    "bay_id",
    "road_id",
    "lat",
    "lng",
    "details",
    "status",
    "created_at",
]


def _insert(db: Session, table: Table) -> Any:
    """The dialect's INSERT, which can skip conflicts (SQLite and PostgreSQL both can)."""
    return (pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)


def _staged(db: Session, found: Select[Any]) -> Any:
    """PostgreSQL: the rows found, first written to a session-local table. Inserting straight
    from `found` would interleave its anti-join on `violation` with the insert into it, and
    when the planner thinks `violation` small (a new database) it rescans the growing table
    once per row (11 s instead of 0.1 s for 27,624 rows)."""
    if db.get_bind().dialect.name != "postgresql":
        return found
    columns = ", ".join(_VIOLATION_COLUMNS)
    db.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS found_violation ON COMMIT DELETE ROWS AS "
            f"SELECT {columns} FROM violation WITH NO DATA"
        )
    )
    db.execute(text("TRUNCATE found_violation"))  # a transaction may sweep more than once
    db.execute(insert(_STAGING).from_select(_VIOLATION_COLUMNS, found))
    return select(*(_STAGING.c[n] for n in _VIOLATION_COLUMNS))


def _count(db: Session, statement: Any) -> int:
    """Run an INSERT and say how many rows it wrote (SQLAlchemy keeps an INSERT's rowcount
    only when asked)."""
    result = db.execute(statement.execution_options(preserve_rowcount=True))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def constants(name: str, rows: list[dict[str, Any]], types: dict[str, Any]) -> Subquery:
    """A small table of per-tariff parameters to join, as a UNION ALL of literal rows."""
    selects = [select(*(literal(row[k], kind).label(k) for k, kind in types.items())) for row in rows]
    return (selects[0] if len(selects) == 1 else union_all(*selects)).subquery(name)


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


def stay_violations(db: Session, district_id: int) -> dict[str, list[str]]:
    """By stay uuid, the rules its stay was flagged for (withdrawn violations left out)."""
    rows = db.execute(
        select(Stay.uuid, Violation.rule)
        .join(Stay, Stay.id == Violation.stay_id)
        .where(
            Violation.district_id == district_id,
            or_(Violation.ended_at.is_(None), Violation.ended_at > Violation.started_at),
        )
        .order_by(Stay.uuid, Violation.rule)
    )
    found: dict[str, list[str]] = {}
    for uuid, rule in rows:
        found.setdefault(uuid, []).append(rule)
    return found
