"""The vehicle sweeps: each writes, in one INSERT ... SELECT, a violation for each open stay
newly breaking its rule and a task for each violation written, then withdraws the violations
late events disproved and ends those whose vehicle left.

Each is `(db, district, now) -> SweepResult`, idempotent: one violation per stay per rule,
however many sweeps see it (see docs/ENFORCEMENT.md for the rules). The database builds the
rows (uuids, start times, evidence): no row passes through Python."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, case, exists, func, literal, or_
from sqlalchemy.orm import Session

from billing.tariffs import TariffBook, compiled
from enforcement.models import OBSTRUCTION, OVERSTAY, RESTRICTION, UNREGISTERED
from enforcement.rules import (
    OBSTRUCTION_ATTRIBUTE,
    TASK_KIND_FOR_RULE,
    TEAM_FOR_RULE,
    overstay_limit,
    restriction_started_at,
    team_for_restriction,
)
from enforcement.violation_ends import end_violations, withdraw_violations
from enforcement.violations import (
    SweepResult,
    constants,
    open_stays,
    recent_stays,
    record_violations,
    stay_is_open,
)
from enforcement.window_sweep import OVERSTAY_LOOK_BACK, sweep_window_overstays
from parking.db import UTCDateTime
from parking.models import Bay, District, Road, Stay
from parking.sql_functions import json_object, json_value, utc_plus_seconds
from sensors.models import CurbEvent

UNREGISTERED_AFTER = timedelta(minutes=10)


def sweep_overstays(
    db: Session, district: District, now: datetime, look_back: timedelta = OVERSTAY_LOOK_BACK
) -> SweepResult:
    """Stays still there or written within `look_back` of `now` that lasted, or have lasted so far,
    longer than their tariff allows: its maximum stay plus grace, or the limit of the window
    their clock started in (`enforcement.window_limits`). The tariff is the bay's own, else
    its road's, in the version in force when the stay started (the one the driver parked
    under). Ended stays are flagged too; only stays still there get a warden's task."""
    since = now - look_back
    found, tasks = _sweep_max_stays(db, district, now, since)
    window_found, window_tasks = sweep_window_overstays(db, district, now, since)
    return _finish(db, district, now, OVERSTAY, found + window_found, tasks + window_tasks)


def _sweep_max_stays(db: Session, district: District, now: datetime, since: datetime) -> tuple[int, int]:
    book = TariffBook.load(db, district)
    limits = []
    for code, versions in book.versions.items():
        for i, version in enumerate(versions):
            tariff = compiled(version, district.time_zone)
            limit = overstay_limit(tariff)
            if limit is not None:
                limits.append(
                    {
                        "code": code,
                        "effective_from": version.effective_from,
                        "until": versions[i + 1].effective_from if i + 1 < len(versions) else now,
                        "latest_start": now - limit,  # a stay that began later is within its limit
                        "limit_seconds": int(limit.total_seconds()),
                        "version": version.version,
                        "max_stay_minutes": tariff.max_stay_minutes,
                        "grace_minutes": tariff.grace_minutes,
                    }
                )
    if not limits:
        return 0, 0
    at, minutes = UTCDateTime(), Integer()
    types = {"code": String(), "effective_from": at, "until": at, "latest_start": at}
    by_version = constants("limits", limits, types | dict.fromkeys(list(limits[0])[4:], minutes))
    evidence = json_object(
        ("event_ids", json_value(Stay.event_ids)),
        ("tariff", by_version.c.code),
        ("tariff_version", by_version.c.version),
        ("max_stay_minutes", by_version.c.max_stay_minutes),
        ("grace_minutes", by_version.c.grace_minutes),
    )
    breached_at = utc_plus_seconds(Stay.started_at, by_version.c.limit_seconds)
    found = (
        recent_stays(district.id, OVERSTAY, now, since, breached_at, evidence)
        .join(Road, Road.id == Stay.road_id)
        .join(
            by_version,
            and_(
                by_version.c.code == func.coalesce(Bay.tariff_code, Road.tariff_code),
                Stay.started_at >= by_version.c.effective_from,
                Stay.started_at < by_version.c.until,
                Stay.started_at < by_version.c.latest_start,
            ),
        )
        .where(or_(Stay.ended_at.is_(None), Stay.ended_at > breached_at))
    )
    return _record(db, district, OVERSTAY, TEAM_FOR_RULE[OVERSTAY], found, now, stay_is_open())


def sweep_restrictions(db: Session, district: District, now: datetime) -> SweepResult:
    """Open stays in bays whose tariff (the bay's own, else its road's; the version in force
    now) has a no-parking or no-stopping restriction in force now. No grace: the signs are up."""
    book = TariffBook.load(db, district)
    by_team: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for code in book.versions:
        version = book.in_force(code, now)
        window_start = restriction_started_at(version[1], now) if version else None
        restriction = version[1].restriction_at(now) if version else None
        if version and window_start is not None and restriction is not None:
            by_team[team_for_restriction(restriction)].append(
                {
                    "code": code,
                    "version": version[0].version,
                    "name": restriction.name,
                    "activity": restriction.activity,
                    "window_start": window_start,
                    "window_text": window_start.isoformat(),
                }
            )
    found_count = tasks = 0
    text = String()
    types = {
        "code": text,
        "version": Integer(),
        "name": text,
        "activity": text,
        "window_start": UTCDateTime(),
    }
    for team, in_force in sorted(by_team.items()):
        window = constants("windows", in_force, types | {"window_text": text})
        evidence = json_object(
            ("event_ids", json_value(Stay.event_ids)),
            ("tariff", window.c.code),
            ("tariff_version", window.c.version),
            ("restriction", window.c.name),
            ("activity", window.c.activity),
            ("window_started_at", window.c.window_text),
        )
        later = case((Stay.started_at > window.c.window_start, Stay.started_at), else_=window.c.window_start)
        found = (
            open_stays(district.id, RESTRICTION, now, later, evidence)
            .join(Road, Road.id == Stay.road_id)
            .join(window, window.c.code == func.coalesce(Bay.tariff_code, Road.tariff_code))
        )
        codes = exists().where(  # the bay is the task query's own (correlated)
            Road.id == Bay.road_id,
            func.coalesce(Bay.tariff_code, Road.tariff_code).in_([w["code"] for w in in_force]),
        )
        written = _record(db, district, RESTRICTION, team, found, now, codes)
        found_count, tasks = found_count + written[0], tasks + written[1]
    return _finish(db, district, now, RESTRICTION, found_count, tasks)


def sweep_unregistered(
    db: Session, district: District, now: datetime, unregistered_after: timedelta = UNREGISTERED_AFTER
) -> SweepResult:
    """Open stays that have had no plate for longer than `unregistered_after`: an attendant
    should register the vehicle. Obstructions are not vehicles and are left out."""
    seconds = int(unregistered_after.total_seconds())
    evidence = json_object(
        ("event_ids", json_value(Stay.event_ids)),
        ("unregistered_after_minutes", literal(seconds // 60, Integer())),
    )
    found = open_stays(
        district.id,
        UNREGISTERED,
        now,
        utc_plus_seconds(Stay.started_at, literal(seconds, Integer())),
        evidence,
    ).where(
        Stay.plate.is_(None),
        Stay.started_at < now - unregistered_after,
        ~exists().where(*_obstruction_start(district.id)),
    )
    team = TEAM_FOR_RULE[UNREGISTERED]
    return _finish(db, district, now, UNREGISTERED, *_record(db, district, UNREGISTERED, team, found, now))


def sweep_obstructions(db: Session, district: District, now: datetime) -> SweepResult:
    """Open "stays" that a stake started with a non-vehicle occupant (see `OBSTRUCTION_ATTRIBUTE`):
    something is blocking the bay, for city management to clear."""
    evidence = json_object(
        ("event_ids", json_value(Stay.event_ids)),
        ("vehicle_type", CurbEvent.extra["vehicle_type"].as_string()),
        ("occupant", literal(OBSTRUCTION_ATTRIBUTE[1], String())),
    )
    found = open_stays(district.id, OBSTRUCTION, now, Stay.started_at, evidence).join(
        CurbEvent, and_(*_obstruction_start(district.id))
    )
    team = TEAM_FOR_RULE[OBSTRUCTION]
    return _finish(db, district, now, OBSTRUCTION, *_record(db, district, OBSTRUCTION, team, found, now))


def _obstruction_start(district_id: int) -> list[Any]:
    """The conditions matching a stay's start event that reported a non-vehicle occupant."""
    name, value = OBSTRUCTION_ATTRIBUTE
    return [
        CurbEvent.district_id == district_id,
        CurbEvent.event_id == Stay.start_event_id,
        CurbEvent.extra[("custom_attributes", name)].as_string() == value,
    ]


def _record(
    db: Session, district: District, rule: str, team: str, found: Any, now: datetime, *conditions: Any
) -> tuple[int, int]:
    return record_violations(db, district.id, rule, TASK_KIND_FOR_RULE[rule], team, found, now, *conditions)


def _finish(db: Session, district: District, now: datetime, rule: str, found: int, tasks: int) -> SweepResult:
    """Withdraw what late events disproved first: ending would otherwise end it at its stay's
    end and hide that the rule was never broken."""
    withdrawn, withdrawn_tasks = withdraw_violations(db, district.id, now)
    ended, cancelled = end_violations(db, district.id, now)
    return SweepResult(rule, found, tasks, ended, cancelled + withdrawn_tasks, withdrawn)
