"""Which bays are free right now: bay state joined with the health of the devices watching it.

A bay counts as free only when it is vacant and at least one online sensing device (a stake
covering it, or a data feed of its district) is watching it; otherwise it is unknown. A bay
that has never had an event is vacant once a watching device has reported at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, case, exists, func, or_, select, true
from sqlalchemy.orm import Session

from parking.models import Bay
from sensors.models import DATA_FEED, VIDEO_STAKE, Device, device_bay

VACANT, OCCUPIED, UNKNOWN = "vacant", "occupied", "unknown"


@dataclass(frozen=True)
class BayReport:
    """A bay as a driver may see it: where it is, its state (vacant, occupied or unknown, as
    `bay_states` gives it) and its newest report (its own event, the newest heartbeat of a
    stake covering it or of the district's data feed, online or not)."""

    id: int
    road_id: int
    uuid: str
    name: str
    space_number: int
    lat: float
    lng: float
    state: str
    reported_at: datetime | None


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


def road_bay_reports(db: Session, district_id: int, road_ids: Collection[int]) -> list[BayReport]:
    """The bays of these roads, by road then space number, each with its state and newest
    report: the same answer as `bay_states` plus the report times, in two reads (no ORM
    objects: this is the vacancy hot path)."""
    if not road_ids:
        return []
    online, heard, feed_seen = _feed(db, district_id)
    out = []
    for (
        bay_id,
        road_id,
        uuid,
        name,
        number,
        lat,
        lng,
        state,
        event_at,
        stake_seen,
        stake_on,
        stake_heard,
    ) in db.execute(_BAYS_WITH_STAKES, {"roads": list(road_ids)}):
        known = (state != UNKNOWN and (online or bool(stake_on))) or heard or bool(stake_heard)
        seen = [t for t in (event_at, stake_seen, feed_seen) if t is not None]
        shown = (OCCUPIED if state == OCCUPIED else VACANT) if known else UNKNOWN
        out.append(
            BayReport(bay_id, road_id, uuid, name, number, lat, lng, shown, max(seen) if seen else None)
        )
    return out


def _feed(db: Session, district_id: int) -> tuple[bool, bool, datetime | None]:
    """(an online data feed watches the district, one that has reported, the newest
    heartbeat of any of its data feeds)."""
    online, heard, seen = db.execute(_FEEDS, {"district": district_id}).one()
    return bool(online), bool(heard), seen


def _online(heard: bool) -> ColumnElement[int]:
    """1 for an online device (that has reported, with `heard`), else 0: max() of it over a
    bay's devices says whether one such watches it."""
    condition = and_(Device.online, Device.last_seen_at.is_not(None)) if heard else Device.online
    return case((condition, 1), else_=0)


_FEEDS = select(func.max(_online(False)), func.max(_online(True)), func.max(Device.last_seen_at)).where(
    Device.district_id == bindparam("district"), Device.kind == DATA_FEED
)
# Per bay, its stakes folded in: the newest heartbeat, and whether an online stake (one that
# has reported) covers it. Driven from the bays of the roads, then device_bay by bay: joining
# the other way, PostgreSQL merged along the whole bay table.
_BAYS_WITH_STAKES = (
    select(
        Bay.id, Bay.road_id, Bay.uuid, Bay.name, Bay.space_number, Bay.lat, Bay.lng, Bay.state, Bay.last_event_at,
        func.max(Device.last_seen_at), func.max(_online(False)), func.max(_online(True)),
    )
    .select_from(Bay)
    .outerjoin(device_bay, device_bay.c.bay_id == Bay.id)
    .outerjoin(Device, and_(Device.id == device_bay.c.device_id, Device.kind == VIDEO_STAKE))
    .where(Bay.road_id.in_(bindparam("roads", expanding=True)))
    .group_by(Bay.id)
    .order_by(Bay.road_id, Bay.space_number)
)  # fmt: skip
