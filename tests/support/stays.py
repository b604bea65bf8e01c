"""Stays written straight into the database, for tests that start from stays, not events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from parking.models import Bay, Stay

PLATE = "贵A12345"


def add_stay(
    db: Session,
    bay: Bay,
    started_at: datetime,
    ended_at: datetime | None,
    plate: str | None = PLATE,
    *,
    ended_by: str | None = None,
) -> Stay:
    """A camera stay in `bay`, flushed so it has its id. With `ended_by="event"` it carries
    the park_end event that closed it, as the timeline writes a stay a driver drove out of."""
    start_event = str(uuid.uuid4())
    end_event = str(uuid.uuid4()) if ended_by == "event" else None
    stay = Stay(
        district_id=bay.district_id,
        bay_id=bay.id,
        road_id=bay.road_id,
        plate=plate,
        started_at=started_at,
        ended_at=ended_at,
        ended_by=ended_by,
        start_event_id=start_event,
        end_event_id=end_event,
        event_ids=[start_event] + ([end_event] if end_event else []),
        sources=["camera"],
        updated_at=ended_at or started_at,
    )
    db.add(stay)
    db.flush()
    return stay
