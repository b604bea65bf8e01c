"""Which bays are free right now: bay state joined with the health of the devices watching it.

A bay counts as free only when it is vacant and at least one online sensing device (a stake
covering it, or a data feed of its district) is watching it; otherwise it is unknown.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, exists, func, select, true
from sqlalchemy.orm import Session

from parking.models import Bay
from sensors.models import DATA_FEED, VIDEO_STAKE, Device, device_bay

VACANT, OCCUPIED, UNKNOWN = "vacant", "occupied", "unknown"


@dataclass(frozen=True)
class RoadCounts:
    num_spaces: int
    available: int
    unknown: int


def _watched(db: Session, district_id: int) -> ColumnElement[bool]:
    """SQL truth of "some online sensing device watches this bay"."""
    feed_online = db.scalar(
        select(exists().where(Device.district_id == district_id, Device.kind == DATA_FEED, Device.online))
    )
    if feed_online:
        return true()
    stake = (
        select(device_bay.c.bay_id)
        .join(Device, Device.id == device_bay.c.device_id)
        .where(device_bay.c.bay_id == Bay.id, Device.kind == VIDEO_STAKE, Device.online)
    )
    return exists(stake)


def road_counts(db: Session, district_id: int, road_ids: Collection[int]) -> dict[int, RoadCounts]:
    """Per road: bays, free bays, and bays whose state is unknown."""
    if not road_ids:
        return {}
    known = and_(Bay.state != UNKNOWN, _watched(db, district_id))
    rows = db.execute(
        select(
            Bay.road_id,
            func.count(),
            func.sum(case((and_(known, Bay.state == VACANT), 1), else_=0)),
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
    watched = _watched(db, district_id)
    rows = db.execute(
        select(Bay.id, Bay.state, case((watched, True), else_=False)).where(Bay.id.in_(bay_ids))
    )
    return {bay_id: state if seen else UNKNOWN for bay_id, state, seen in rows}
