"""Reading the event log back, for re-deriving timelines."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from parking.timeline import PARK_END, PARK_START, PLATE_READ, TimelineEvent
from sensors.models import CurbEvent


def load_timeline_events(
    db: Session, since_by_bay: Mapping[int, datetime | None]
) -> dict[int, list[TimelineEvent]]:
    """Each bay's timeline events at or after its own time (all of them for None)."""
    columns = (
        CurbEvent.bay_id,
        CurbEvent.event_id,
        CurbEvent.event_type,
        CurbEvent.event_time,
        CurbEvent.data_source_type,
        CurbEvent.plate,
        CurbEvent.plate_confidence,
    )
    out: dict[int, list[TimelineEvent]] = {bay_id: [] for bay_id in since_by_bay}
    items = list(since_by_bay.items())
    for i in range(0, len(items), _BAYS_PER_QUERY):
        places = [
            CurbEvent.bay_id == bay_id
            if since is None
            else and_(CurbEvent.bay_id == bay_id, CurbEvent.event_time >= since)
            for bay_id, since in items[i : i + _BAYS_PER_QUERY]
        ]
        for row in db.execute(select(*columns).where(or_(*places))):
            event = to_timeline_event(
                row.event_id,
                row.event_type,
                row.event_time,
                row.data_source_type,
                row.plate,
                row.plate_confidence,
            )
            if event is not None and row.bay_id is not None:
                out[row.bay_id].append(event)
    return out


_BAYS_PER_QUERY = 200


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
