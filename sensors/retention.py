"""Plate retention in the event log (parking/retention.py runs it): events before the cutoff
that no stay still carrying a plate covers lose their plate column, and the plate as sent when
the log kept it apart from the column (`extra`, sensors/event_payload.py: sent before it was
normalised)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, exists
from sqlalchemy.orm import Session

from parking.models import Stay
from parking.retention import Keeps, RetentionStep, erase_plates, run
from parking.sql_functions import json_without
from parking.stay_rules import touching
from sensors.models import CurbEvent

PLATE_FIELD = "vehicle_license_plate"  # where a CDS curb event carries its plate
_EVENT = cast(Table, CurbEvent.__table__)


def erase_events(db: Session, district_id: int, cutoff: datetime, _kept: Keeps) -> int:
    event = _EVENT.c
    covered = exists().where(
        Stay.bay_id == event.bay_id,
        Stay.plate_key.is_not(None),
        touching(event.event_time),  # closed: a stay's end event carries its end time
    )
    statement = (
        erase_plates(_EVENT, district_id)
        .where(event.event_time < cutoff, ~covered)
        .values(extra=json_without(event.extra, PLATE_FIELD))
    )
    return run(db, statement)


CURB_EVENTS = RetentionStep("curb_events", erase_events)
