"""Which devices watch a place, and when they were offline, from the comms events in the log
(the same reading as CDS Metrics: offline from `comms_lost` to the next `comms_restored`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from parking.metrics import Interval, device_outages
from parking.models import Bay
from reports.figures import DeviceSpan
from reports.places import Place
from sensors.models import DATA_FEED, SENSING_KINDS, VIDEO_STAKE, CurbEvent, Device, device_bay, device_road

_COMMS = {"comms_lost": False, "comms_restored": True}


@dataclass(frozen=True)
class DeviceWatch:
    """The place's devices, the data feeds and stakes watching its bays, and the comms
    transitions (device, at, online) of all of them up to the end of the window."""

    devices: list[tuple[int, str, datetime]]  # (id, kind, created at)
    feeds: list[int]
    stakes: dict[int, list[int]]
    transitions: list[tuple[int, datetime, bool]]

    def sensing_outages(self, start: datetime, end: datetime) -> dict[int, list[Interval]]:
        sensing = {d for d, kind, _ in self.devices if kind in SENSING_KINDS}
        return device_outages((t for t in self.transitions if t[0] in sensing), start, end)

    def spans(self, start: datetime, end: datetime) -> list[DeviceSpan]:
        """Each device that existed before `end`, counted from its creation or `start`."""
        return [DeviceSpan(d, kind, max(start, made)) for d, kind, made in self.devices if made < end]


def load_watch(db: Session, district_id: int, place: Place, end: datetime) -> DeviceWatch:
    """Three set-based queries: the devices of the place, the stakes of its bays, and the
    comms events of those devices before `end`."""
    bays = select(Bay.id).where(Bay.district_id == district_id, *place.within(Bay.road_id))
    covering = or_(
        Device.kind == DATA_FEED,
        Device.id.in_(select(device_bay.c.device_id).where(device_bay.c.bay_id.in_(bays))),
        Device.id.in_(select(device_road.c.device_id).where(*place.within(device_road.c.road_id))),  # type: ignore[arg-type]
    )
    query = select(Device.id, Device.kind, Device.created_at).where(Device.district_id == district_id)
    if place.kind != "district":
        query = query.where(covering)
    devices = [(d, kind, made) for d, kind, made in db.execute(query.order_by(Device.id))]
    stakes: dict[int, list[int]] = defaultdict(list)
    for device_id, bay_id in db.execute(
        select(device_bay.c.device_id, device_bay.c.bay_id)
        .join(Device, Device.id == device_bay.c.device_id)
        .where(Device.district_id == district_id, Device.kind == VIDEO_STAKE, device_bay.c.bay_id.in_(bays))
    ):
        stakes[bay_id].append(device_id)
    ids = {d for d, _, _ in devices}
    transitions = [
        (d, at, _COMMS[kind])
        for d, at, kind in db.execute(
            select(CurbEvent.device_id, CurbEvent.event_time, CurbEvent.event_type).where(
                CurbEvent.district_id == district_id,
                CurbEvent.event_type.in_(_COMMS),
                CurbEvent.event_time < end,
            )
        )
        if d in ids
    ]
    feeds = [d for d, kind, _ in devices if kind == DATA_FEED]
    return DeviceWatch(devices, feeds, dict(stakes), transitions)
