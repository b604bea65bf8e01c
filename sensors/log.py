"""Reading the event log back: for re-deriving timelines, and each event's CDS JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, or_, select
from sqlalchemy.orm import Session

from parking.models import Bay, Road
from parking.timeline import PARK_END, PARK_START, PLATE_READ, TimelineEvent
from sensors.event_payload import derived_fields, join_payload
from sensors.models import CurbEvent, Device


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


def select_payloads(*columns: Any) -> Select[Any]:
    """A query of logged events giving what `payload_of` needs, after `columns`."""
    return (
        select(
            *columns,
            CurbEvent.event_id,
            CurbEvent.event_type,
            CurbEvent.event_time,
            CurbEvent.published_ms,
            CurbEvent.data_source_type,
            Device.uuid.label("device_uuid"),
            Device.name.label("device_name"),
            Bay.uuid.label("space_uuid"),
            Bay.lng.label("bay_lng"),
            Bay.lat.label("bay_lat"),
            Road.uuid.label("zone_uuid"),
            CurbEvent.session_id,
            CurbEvent.plate,
            CurbEvent.plate_confidence,
            CurbEvent.sent_fields,
            CurbEvent.extra,
        )
        .join(Device, Device.id == CurbEvent.device_id)
        .outerjoin(Bay, Bay.id == CurbEvent.bay_id)
        .outerjoin(Road, Road.id == CurbEvent.road_id)
    )


def payload_of(row: Row[Any]) -> dict[str, Any]:
    """A logged event's CDS JSON as its device sent it (less a plate erased since)."""
    derived = derived_fields(
        event_id=row.event_id,
        event_type=row.event_type,
        event_time=row.event_time,
        published_ms=row.published_ms,
        data_source_type=row.data_source_type,
        device_uuid=row.device_uuid,
        space_uuid=row.space_uuid,
        zone_uuid=row.zone_uuid,
        session_id=row.session_id,
        plate=row.plate,
        plate_confidence=row.plate_confidence,
        device_name=row.device_name,
        bay_point=None if row.space_uuid is None else (row.bay_lng, row.bay_lat),
    )
    return join_payload(derived, row.sent_fields, row.extra)


def logged_payloads(db: Session, *where: ColumnElement[bool]) -> dict[str, dict[str, Any]]:
    """The CDS JSON of the logged events matching `where`, by event_id."""
    return {row.event_id: payload_of(row) for row in db.execute(select_payloads().where(*where))}
