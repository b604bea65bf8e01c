"""Which bays are free right now: bay state joined with the health of the devices watching it.

A bay counts as free only when it is vacant and at least one online sensing device (a stake
covering it, or a data feed of its district) is watching it; otherwise it is unknown. A bay
that has never had an event is vacant once a watching device has reported at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, true
from sqlalchemy.orm import Session

from parking.models import Bay
from sensors.models import DATA_FEED, VIDEO_STAKE, Device, device_bay

VACANT, OCCUPIED, UNKNOWN = "vacant", "occupied", "unknown"


@dataclass(frozen=True)
class RoadCounts:
    num_spaces: int
    available: int
    unknown: int


def _watched(db: Session, district_id: int, heard: bool) -> ColumnElement[bool]:
    """SQL truth of "an online sensing device watches this bay" (and, with `heard`, one that
    has reported at least once)."""
    feed = [Device.district_id == district_id, Device.kind == DATA_FEED, Device.online]
    if heard:
        feed.append(Device.last_seen_at.is_not(None))
    if db.scalar(select(exists().where(*feed))):
        return true()
    stake = [device_bay.c.bay_id == Bay.id, Device.kind == VIDEO_STAKE, Device.online]
    if heard:
        stake.append(Device.last_seen_at.is_not(None))
    return exists(select(device_bay.c.bay_id).join(Device, Device.id == device_bay.c.device_id).where(*stake))


def _known(db: Session, district_id: int) -> ColumnElement[bool]:
    """A bay's state is known when an online device watches it; a bay that has had no event
    yet is known vacant only once a watching device has reported (it is alive and saw none)."""
    return or_(
        and_(Bay.state != UNKNOWN, _watched(db, district_id, heard=False)),
        _watched(db, district_id, heard=True),
    )


def road_counts(db: Session, district_id: int, road_ids: Collection[int]) -> dict[int, RoadCounts]:
    """Per road: bays, free bays, and bays whose state is unknown."""
    if not road_ids:
        return {}
    known = _known(db, district_id)
    rows = db.execute(
        select(
            Bay.road_id,
            func.count(),
            func.sum(case((and_(known, Bay.state != OCCUPIED), 1), else_=0)),
            func.sum(case((known, 0), else_=1)),
        )
        .where(Bay.road_id.in_(road_ids))
        .group_by(Bay.road_id)
    )
    return {road: RoadCounts(n, int(free or 0), int(unknown or 0)) for road, n, free, unknown in rows}


def bay_states(db: Session, district_id: int, bay_ids: Collection[int]) -> dict[int, str]:
    """Each bay's state as a driver should see it: vacant, occupied or unknown."""
    if not bay_ids:
        return {}
    rows = db.execute(
        select(Bay.id, Bay.state, case((_known(db, district_id), True), else_=False)).where(
            Bay.id.in_(bay_ids)
        )
    )
    return {
        bay_id: (OCCUPIED if state == OCCUPIED else VACANT) if known else UNKNOWN
        for bay_id, state, known in rows
    }
