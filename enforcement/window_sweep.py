"""The overstay sweep for tariffs whose signs set a maximum stay per window
(`Tariff.stay_limits`): the stays long enough to break the shortest limit are read, each
is walked through its windows in Python (`enforcement.window_limits`), and the violations
found are written in one statement, their tasks in another."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, exists, func, literal, select
from sqlalchemy.orm import Session

from billing.tariffs import TariffBook, compiled
from enforcement.models import OVERSTAY, Violation
from enforcement.rules import TASK_KIND_FOR_RULE, TEAM_FOR_RULE
from enforcement.violations import insert_skipping, recently_written, record_tasks, stay_is_open
from enforcement.window_limits import first_breach, shortest_limit
from parking.models import Bay, District, Road, Stay, new_uuid
from parking.sql_functions import utc_plus_seconds

# How far back the overstay sweep looks for stays written (arrived, ended, re-derived) and not
# yet judged: a replayed or late-arriving past day is judged by a sweep within this.
OVERSTAY_LOOK_BACK = timedelta(days=7)

_VIOLATION = cast(Table, Violation.__table__)


def sweep_window_overstays(
    db: Session, district: District, now: datetime, since: datetime
) -> tuple[int, int]:
    """Violations (and tasks for the stays still there) of the window limits, for stays open
    or written since `since`. Returns (violations, tasks) written."""
    book = TariffBook.load(db, district)
    codes: dict[str, timedelta] = {}
    for code, versions in book.versions.items():
        shortest = [shortest_limit(compiled(v, district.time_zone)) for v in versions]
        found = [s for s in shortest if s is not None]
        if found:
            codes[code] = min(found)
    if not codes:
        return 0, 0
    least = int(min(codes.values()).total_seconds())
    code_of_bay = func.coalesce(Bay.tariff_code, Road.tariff_code)
    rows = db.execute(
        select(
            Stay.id,
            Stay.bay_id,
            Stay.road_id,
            Stay.plate,
            Stay.plate_key,
            Stay.started_at,
            Stay.ended_at,
            Stay.event_ids,
            code_of_bay.label("code"),
        )
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .where(
            Stay.district_id == district.id,
            recently_written(since),
            code_of_bay.in_(list(codes)),
            utc_plus_seconds(Stay.started_at, literal(least)) < func.coalesce(Stay.ended_at, now),
            ~exists().where(Violation.stay_id == Stay.id, Violation.rule == OVERSTAY),
        )
    ).all()
    violations = [v for v in (_violation(book, district, row, now) for row in rows) if v is not None]
    written = insert_skipping(db, _VIOLATION, violations, ("stay_id", "rule"))
    if not written:
        return 0, 0
    team, kind = TEAM_FOR_RULE[OVERSTAY], TASK_KIND_FOR_RULE[OVERSTAY]
    return written, record_tasks(db, district.id, OVERSTAY, kind, team, now, stay_is_open())


def _violation(book: TariffBook, district: District, row: Any, now: datetime) -> dict[str, Any] | None:
    found = book.in_force(row.code, row.started_at)
    if found is None:
        return None
    version, tariff = found
    breach = first_breach(tariff, row.started_at, row.ended_at or now)
    if breach is None:
        return None
    limit = breach.limit
    return {
        "uuid": new_uuid(),
        "district_id": district.id,
        "rule": OVERSTAY,
        "stay_id": row.id,
        "bay_id": row.bay_id,
        "road_id": row.road_id,
        "plate": row.plate,
        "plate_key": row.plate_key,
        "stay_started_at": row.started_at,
        "started_at": breach.at,
        "detected_at": now,
        "ended_at": None,
        "evidence": {
            "event_ids": row.event_ids,
            "tariff": version.code,
            "tariff_version": version.version,
            "sign": limit.sign or limit.name,
            "max_stay_minutes": limit.max_stay_minutes,
            "grace_minutes": tariff.grace_minutes,
            "clock_started_at": breach.clock_started_at.isoformat(),
        },
    }
