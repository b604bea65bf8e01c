"""The CDS Metrics use cases (docs/METRICS.md): hourly aggregates of a window per area, zone
and space, and the stays that started in it as sessions. The arithmetic is parking/metrics.py;
the sensing devices' outages come from the event log (`sensors.watch`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.metrics import Aggregate, aggregates, local_hours, tally, unwatched_bays
from parking.metrics_queries import load_bays, load_stays, stays_at
from parking.models import Bay, Road, Stay
from parking.stay_rules import started_within
from sensors.models import CurbEvent
from sensors.watch import device_watch

Place = tuple[str, str]  # (curb_place_type, curb_place_id)


def hourly_aggregates(
    db: Session,
    district_id: int,
    zone: ZoneInfo,
    window: tuple[datetime, datetime],
    chosen: Place | None,
    place_types: Sequence[str],
    metrics: Sequence[str],
    now: datetime,
) -> list[Aggregate]:
    """The metrics of each local hour of `window` for the chosen place (and the places inside
    it) or the whole district, leaving out the time no online device watched a bay."""
    hours = local_hours(*window, zone)
    bays = load_bays(db, district_id, chosen)
    start, end = (hours[0].start, hours[-1].end) if hours else window
    unwatched = unwatched_bays(bays, (start, end), *device_watch(db, district_id, start, end))
    tallies = tally(bays, hours, load_stays(db, district_id, start, end, chosen), unwatched, now)
    return list(aggregates(bays, hours, tallies, place_types, metrics))


class CdsSession(NamedTuple):
    """A stay as a CDS session: its session id (of the start event), the ids of its start and
    end events, where and when it began and ended, its zone (road) and space (bay)."""

    session_id: str | None
    start_event_id: str | None
    end_event_id: str | None
    lat: float
    lng: float
    started_at: datetime
    ended_at: datetime | None
    zone_id: str
    space_id: str


def sessions(
    db: Session, district_id: int, window: tuple[datetime, datetime], chosen: Place | None
) -> list[CdsSession]:
    """The stays that started in `window` at the chosen place (or anywhere), oldest first."""
    query: Any = (
        select(
            CurbEvent.session_id,
            Stay.start_event_id,
            Stay.end_event_id,
            Bay.lat,
            Bay.lng,
            Stay.started_at,
            Stay.ended_at,
            Road.uuid,
            Bay.uuid,
        )
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .outerjoin(
            CurbEvent,
            (CurbEvent.district_id == Stay.district_id) & (CurbEvent.event_id == Stay.start_event_id),
        )
        .where(Stay.district_id == district_id, started_within(*window))
        .order_by(Stay.started_at, Stay.id)
    )
    if chosen is not None:
        query = query.where(stays_at(*chosen))
    return [CdsSession(*row) for row in db.execute(query)]
