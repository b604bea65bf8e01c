"""Reading the event log back, for re-deriving timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.timeline import PARK_END, PARK_START, PLATE_READ, TimelineEvent
from sensors.models import CurbEvent


def load_timeline_events(db: Session, bay_id: int, since: datetime | None) -> Sequence[TimelineEvent]:
    """A bay's timeline events at or after `since` (all of them when None), in log order."""
    query = select(
        CurbEvent.event_id,
        CurbEvent.event_type,
        CurbEvent.event_time,
        CurbEvent.data_source_type,
        CurbEvent.plate,
        CurbEvent.plate_confidence,
    ).where(CurbEvent.bay_id == bay_id)
    if since is not None:
        query = query.where(CurbEvent.event_time >= since)
    events = (to_timeline_event(*row) for row in db.execute(query))
    return [e for e in events if e is not None]


_TIMELINE_KIND = {"park_start": PARK_START, "park_end": PARK_END, "vehicle_detected": PLATE_READ}


def to_timeline_event(
    event_id: str,
    event_type: str,
    at: datetime,
    source: str,
    plate: str | None,
    confidence: int | None,
) -> TimelineEvent | None:
    """The bay-timeline view of a logged event, or None when it does not touch a timeline."""
    kind = _TIMELINE_KIND.get(event_type)
    if kind is None or (kind == PLATE_READ and plate is None):
        return None
    return TimelineEvent(event_id, kind, at, source, plate, confidence)
