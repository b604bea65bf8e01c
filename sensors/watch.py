"""Which devices watched which bays, and when they could not: the outages of every sensing
device (video stake or data feed) from the comms_lost / comms_restored events of the log, as
the occupancy metrics need them (docs/METRICS.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parking.forecast import Gap, merge_gaps
from parking.metrics import BayPlace, Interval, device_outages, unwatched_bays
from parking.metrics_queries import load_bays
from sensors.models import DATA_FEED, SENSING_KINDS, VIDEO_STAKE, CurbEvent, Device, device_bay

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


# A silence the health sweep logged: how far back before its comms_lost to look for the
# device's last report (a sweep runs every few minutes; this bounds the scan).
SILENCE_LOOKBACK = timedelta(hours=2)


def unwatched_history(
    db: Session, district_id: int, since: datetime, until: datetime, stale: timedelta
) -> dict[int, list[Gap]]:
    """Per bay, when no online sensing device watched it in [since, until): the outages the
    device log records (comms_lost to comms_restored, `sensors.watch`), each begun as early
    as the device went stale (its last report before the comms_lost, plus `stale`), as the
    live vacancy would have shown its bays unknown from then on."""
    feeds, stakes, outages = device_watch(db, district_id, since, until)
    for device, gap in _silences(db, district_id, since, until, stale):
        outages[device] = merge_gaps([*outages.get(device, []), gap])
    return unwatched_bays(load_bays(db, district_id), (since, until), feeds, stakes, outages)


def _silences(
    db: Session, district_id: int, since: datetime, until: datetime, stale: timedelta
) -> list[tuple[int, Gap]]:
    """(device, gap) from a sensing device's going stale to the comms_lost logged for it."""
    lost = db.execute(
        select(CurbEvent.device_id, CurbEvent.event_time)
        .join(Device, Device.id == CurbEvent.device_id)
        .where(
            CurbEvent.district_id == district_id,
            CurbEvent.event_type == "comms_lost",
            CurbEvent.event_time >= since,
            CurbEvent.event_time < until,
            Device.kind.in_(SENSING_KINDS),
        )
    ).all()
    out = []
    for device, at in lost:
        heard = db.scalar(
            select(func.max(CurbEvent.event_time)).where(
                CurbEvent.district_id == district_id,
                CurbEvent.device_id == device,
                CurbEvent.event_time >= at - SILENCE_LOOKBACK,
                CurbEvent.event_time < at,
            )
        )
        stale_from = max((heard or at - SILENCE_LOOKBACK) + stale, since)
        if stale_from < at:
            out.append((device, (stale_from, at)))
    return out


def unwatched_of(
    db: Session, district_id: int
) -> Callable[[Sequence[BayPlace], Interval], Mapping[int, Sequence[Interval]]]:
    """When each of the district's bays went unwatched in a window (device health, the CDS
    rule): the collaborator the occupancy of pricing advice and open data takes."""

    def find(bays: Sequence[BayPlace], window: Interval) -> Mapping[int, Sequence[Interval]]:
        return unwatched_bays(bays, window, *device_watch(db, district_id, *window))

    return find
