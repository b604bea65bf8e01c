"""Violations, citations and task response times of a place over two adjacent periods."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.orm import Session

from enforcement.models import VOIDED, Citation, Task, Violation
from reports.money import CURRENT, PREVIOUS
from reports.places import Place

Counts = dict[int, dict[str, tuple[int, int, int]]]


def violations(
    db: Session, district_id: int, place: Place, start: datetime, split: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """Per period and rule, the violations that began in it; withdrawn ones (ended at or
    before they began, docs/ENFORCEMENT.md) never happened and do not count."""
    tag = case((Violation.started_at >= split, CURRENT), else_=PREVIOUS)
    withdrawn = and_(Violation.ended_at.is_not(None), Violation.ended_at <= Violation.started_at)
    rows = db.execute(
        select(tag, Violation.rule, func.count())
        .where(
            Violation.district_id == district_id,
            Violation.started_at >= start,
            Violation.started_at < end,
            not_(withdrawn),
            *place.within(Violation.road_id),
        )
        .group_by(tag, Violation.rule)
    )
    out: dict[int, dict[str, int]] = {CURRENT: {}, PREVIOUS: {}}
    for period, rule, count in rows:
        out[int(period)][rule] = count
    return out


def citations(
    db: Session, district_id: int, place: Place, start: datetime, split: datetime, end: datetime
) -> Counts:
    """Per period and rule, (citations issued in it, of them voided, fines of the others)."""
    tag = case((Citation.issued_at >= split, CURRENT), else_=PREVIOUS)
    voided = case((Citation.status == VOIDED, 1), else_=0)
    fines = case((Citation.status == VOIDED, 0), else_=Citation.amount)
    rows = db.execute(
        select(tag, Violation.rule, func.count(), func.sum(voided), func.sum(fines))
        .join(Violation, Violation.id == Citation.violation_id)
        .where(
            Citation.district_id == district_id,
            Citation.issued_at >= start,
            Citation.issued_at < end,
            *place.within(Violation.road_id),
        )
        .group_by(tag, Violation.rule)
    )
    out: Counts = {CURRENT: {}, PREVIOUS: {}}
    for period, rule, count, void, amount in rows:
        out[int(period)][rule] = (count, int(void or 0), int(amount or 0))
    return out


TaskRow = tuple[str, str, datetime, datetime | None, datetime | None]


def tasks(db: Session, district_id: int, place: Place, start: datetime, end: datetime) -> list[TaskRow]:
    """(team, status, created, taken, resolved) of the tasks created in [start, end). For an
    area or a road, the tasks at its roads (device tasks without a road count for the district
    only)."""
    return [
        (team, status, created, taken, resolved)
        for team, status, created, taken, resolved in db.execute(
            select(Task.team, Task.status, Task.created_at, Task.taken_at, Task.resolved_at).where(
                Task.district_id == district_id,
                Task.created_at >= start,
                Task.created_at < end,
                *place.within(Task.road_id),
            )
        )
    ]
