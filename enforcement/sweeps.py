"""The vehicle sweeps: each reads the district's open stays in one query, writes a violation
and a task for each stay newly breaking its rule, and ends the violations whose vehicle left.

Each is `(db, district, now) -> SweepResult`, idempotent: one violation per stay per rule,
however many sweeps see it (see docs/ENFORCEMENT.md for the rules)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import Session

from billing.models import TariffVersion
from billing.tariff import Tariff
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
from enforcement.violations import Breach, SweepResult, end_violations, open_stays, record_violations
from parking.models import District, Road, Stay
from sensors.models import CurbEvent

UNREGISTERED_AFTER = timedelta(minutes=10)


def sweep_overstays(db: Session, district: District, now: datetime) -> SweepResult:
    """Open stays that have lasted longer than their tariff's maximum stay plus grace. The
    tariff is the version in force when the stay started (the one the driver parked under)."""
    book = TariffBook.load(db, district)
    limits: list[tuple[str, TariffVersion, datetime | None, timedelta]] = []
    for code, versions in book.versions.items():
        for i, version in enumerate(versions):
            limit = overstay_limit(compiled(version, district.time_zone))
            if limit is not None:
                until = versions[i + 1].effective_from if i + 1 < len(versions) else None
                limits.append((code, version, until, limit))
    limits.sort(key=lambda entry: entry[1].effective_from, reverse=True)  # the latest that began first
    if not limits:
        return _finish(db, district, now, OVERSTAY, [])
    when = [
        and_(
            Road.tariff_code == code,
            Stay.started_at >= version.effective_from,
            Stay.started_at < (until or now),
            Stay.started_at < now - limit,
        )
        for code, version, until, limit in limits
    ]
    query = (
        open_stays(district.id, OVERSTAY, Road.tariff_code)
        .join(Road, Road.id == Stay.road_id)
        .where(or_(*when))
    )
    breaches = []
    for row in db.execute(query):
        code, version, _, limit = next(
            entry
            for entry in limits
            if entry[0] == row.tariff_code and row.started_at >= entry[1].effective_from
        )
        tariff = compiled(version, district.time_zone)
        evidence = {
            "event_ids": row.event_ids,
            "tariff": code,
            "tariff_version": version.version,
            "max_stay_minutes": tariff.max_stay_minutes,
            "grace_minutes": tariff.grace_minutes,
        }
        breaches.append(_breach(row, row.started_at + limit, TEAM_FOR_RULE[OVERSTAY], evidence))
    return _finish(db, district, now, OVERSTAY, breaches)


def sweep_restrictions(db: Session, district: District, now: datetime) -> SweepResult:
    """Open stays in bays whose road's tariff (the version in force now) has a no-parking or
    no-stopping restriction in force now. No grace: the signs are up."""
    book = TariffBook.load(db, district)
    in_force: dict[str, tuple[TariffVersion, Tariff, datetime]] = {}
    for code in book.versions:
        found = book.in_force(code, now)
        window_start = restriction_started_at(found[1], now) if found else None
        if found and window_start is not None:
            in_force[code] = (found[0], found[1], window_start)
    if not in_force:
        return _finish(db, district, now, RESTRICTION, [])
    query = (
        open_stays(district.id, RESTRICTION, Road.tariff_code)
        .join(Road, Road.id == Stay.road_id)
        .where(Road.tariff_code.in_(sorted(in_force)))
    )
    breaches = []
    for row in db.execute(query):
        version, tariff, window_start = in_force[row.tariff_code]
        restriction = tariff.restriction_at(now)
        assert restriction is not None
        evidence = {
            "event_ids": row.event_ids,
            "tariff": row.tariff_code,
            "tariff_version": version.version,
            "restriction": restriction.name,
            "activity": restriction.activity,
            "window_started_at": window_start.isoformat(),
        }
        started = max(row.started_at, window_start)
        breaches.append(_breach(row, started, team_for_restriction(restriction), evidence))
    return _finish(db, district, now, RESTRICTION, breaches)


def sweep_unregistered(
    db: Session, district: District, now: datetime, unregistered_after: timedelta = UNREGISTERED_AFTER
) -> SweepResult:
    """Open stays that have had no plate for longer than `unregistered_after`: an attendant
    should register the vehicle. Obstructions are not vehicles and are left out."""
    query = open_stays(district.id, UNREGISTERED).where(
        Stay.plate.is_(None),
        Stay.started_at < now - unregistered_after,
        ~exists().where(*_obstruction_start(district.id)),
    )
    minutes = int(unregistered_after.total_seconds() // 60)
    breaches = [
        _breach(
            row,
            row.started_at + unregistered_after,
            TEAM_FOR_RULE[UNREGISTERED],
            {"event_ids": row.event_ids, "unregistered_after_minutes": minutes},
        )
        for row in db.execute(query)
    ]
    return _finish(db, district, now, UNREGISTERED, breaches)


def sweep_obstructions(db: Session, district: District, now: datetime) -> SweepResult:
    """Open "stays" that a stake started with a non-vehicle occupant (see `OBSTRUCTION_ATTRIBUTE`):
    something is blocking the bay, for city management to clear."""
    query = open_stays(district.id, OBSTRUCTION, CurbEvent.payload).join(
        CurbEvent, and_(*_obstruction_start(district.id))
    )
    breaches = [
        _breach(
            row,
            row.started_at,
            TEAM_FOR_RULE[OBSTRUCTION],
            {
                "event_ids": row.event_ids,
                "vehicle_type": row.payload.get("vehicle_type"),
                "occupant": "object",
            },
        )
        for row in db.execute(query)
    ]
    return _finish(db, district, now, OBSTRUCTION, breaches)


def _obstruction_start(district_id: int) -> list[Any]:
    """The conditions matching a stay's start event that reported a non-vehicle occupant."""
    name, value = OBSTRUCTION_ATTRIBUTE
    return [
        CurbEvent.district_id == district_id,
        CurbEvent.event_id == Stay.start_event_id,
        CurbEvent.payload[("custom_attributes", name)].as_string() == value,
    ]


def _breach(row: Any, started_at: datetime, team: str, evidence: dict[str, Any]) -> Breach:
    return Breach(
        stay_id=row.id,
        bay_id=row.bay_id,
        road_id=row.road_id,
        plate=row.plate,
        stay_started_at=row.started_at,
        started_at=started_at,
        lat=row.lat,
        lng=row.lng,
        team=team,
        evidence=evidence,
    )


def _finish(db: Session, district: District, now: datetime, rule: str, breaches: list[Breach]) -> SweepResult:
    found, tasks = record_violations(db, district.id, rule, TASK_KIND_FOR_RULE[rule], breaches, now)
    ended, cancelled = end_violations(db, district.id, now)
    return SweepResult(rule, found, tasks, ended, cancelled)
