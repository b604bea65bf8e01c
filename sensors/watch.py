"""Which devices watched which bays, and when they could not: the outages of every sensing
device (video stake or data feed) from the comms_lost / comms_restored events of the log, as
the occupancy metrics need them (docs/METRICS.md)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.metrics import Interval, device_outages
from sensors.models import DATA_FEED, VIDEO_STAKE, CurbEvent, Device, device_bay

_COMMS = {"comms_lost": False, "comms_restored": True}


def device_watch(
    db: Session, district_id: int, start: datetime, end: datetime
) -> tuple[list[int], dict[int, list[int]], dict[int, list[Interval]]]:
    """The district's data feeds, the stakes of each bay, and each sensing device's outages
    in [start, end) from the comms_lost/comms_restored events in the log."""
    feeds = list(
        db.scalars(select(Device.id).where(Device.district_id == district_id, Device.kind == DATA_FEED))
    )
    stakes: dict[int, list[int]] = defaultdict(list)
    for device_id, bay_id in db.execute(
        select(Device.id, device_bay.c.bay_id)
        .join(device_bay, device_bay.c.device_id == Device.id)
        .where(Device.district_id == district_id, Device.kind == VIDEO_STAKE)
    ):
        stakes[bay_id].append(device_id)
    transitions = db.execute(
        select(CurbEvent.device_id, CurbEvent.event_time, CurbEvent.event_type)
        .join(Device, Device.id == CurbEvent.device_id)
        .where(
            CurbEvent.district_id == district_id,
            CurbEvent.event_type.in_(_COMMS),
            CurbEvent.event_time < end,
            Device.kind.in_((DATA_FEED, VIDEO_STAKE)),
        )
    )
    outages = device_outages(((d, at, _COMMS[kind]) for d, at, kind in transitions), start, end)
    return feeds, stakes, outages
