"""Finding stays for staff and auditors: by road, bay, plate and time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from parking.models import Bay, Road, Stay, TimelineAnomaly
from parking.plates import plate_key
from parking.stay_rules import overlapping


@dataclass(frozen=True)
class StayFilter:
    road: str | None = None
    bay: str | None = None
    plate: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    open: bool | None = None


@dataclass(frozen=True)
class StayView:
    uuid: str
    bay: str
    road: str
    plate: str | None
    plate_confidence: int | None
    plate_source: str | None
    started_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    duration_seconds: int
    sources: list[str]
    event_ids: list[str]


def _query(district_id: int, flt: StayFilter) -> Select[Stay, str, str]:
    """Stays that overlap [since, until): started before `until`, not ended before `since`."""
    query = (
        select(Stay, Bay.name, Road.name)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .where(Stay.district_id == district_id)
    )
    if flt.road:
        query = query.where(Road.name == flt.road)
    if flt.bay:
        query = query.where(Bay.name == flt.bay)
    if flt.plate:
        query = query.where(Stay.plate_key == plate_key(flt.plate))
    if flt.since or flt.until:
        query = query.where(overlapping(flt.since, flt.until))
    if flt.open is not None:
        query = query.where(Stay.ended_at.is_(None) if flt.open else Stay.ended_at.is_not(None))
    return query


def find_stays(
    db: Session, district_id: int, flt: StayFilter, now: datetime, *, offset: int = 0, limit: int = 100
) -> tuple[list[StayView], int]:
    """One page of matching stays, oldest first, and how many match in all."""
    query = _query(district_id, flt)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(query.order_by(Stay.started_at, Stay.id).offset(offset).limit(limit))
    return [_view(stay, bay, road, now) for stay, bay, road in rows], total


def iter_stays(db: Session, district_id: int, flt: StayFilter, now: datetime) -> Iterator[StayView]:
    """Every matching stay, oldest first, streamed for exports."""
    query = _query(district_id, flt).order_by(Stay.started_at, Stay.id)
    for stay, bay, road in db.execute(query.execution_options(yield_per=2000)):
        yield _view(stay, bay, road, now)


def anomaly_counts(db: Session, district_id: int) -> dict[str, int]:
    rows = db.execute(
        select(TimelineAnomaly.kind, func.count())
        .where(TimelineAnomaly.district_id == district_id)
        .group_by(TimelineAnomaly.kind)
    )
    return {kind: count for kind, count in rows}


def _view(stay: Stay, bay: str, road: str, now: datetime) -> StayView:
    end = stay.ended_at or now
    return StayView(
        uuid=stay.uuid,
        bay=bay,
        road=road,
        plate=stay.plate,
        plate_confidence=stay.plate_confidence,
        plate_source=stay.plate_source,
        started_at=stay.started_at,
        ended_at=stay.ended_at,
        ended_by=stay.ended_by,
        duration_seconds=max(0, int((end - stay.started_at).total_seconds())),
        sources=list(stay.sources),
        event_ids=list(stay.event_ids),
    )
