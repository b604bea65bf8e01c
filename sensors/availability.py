"""Which bays are free right now: bay state joined with the health of the devices watching it.

A bay counts as free only when it is vacant and at least one online sensing device (a stake
covering it, or a data feed of its district) is watching it; otherwise it is unknown. A bay
that has never had an event is vacant once a watching device has reported at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, case, exists, func, or_, select, true
from sqlalchemy.orm import Session

from parking.models import Bay
from sensors.models import DATA_FEED, VIDEO_STAKE, CurbEvent, Device, device_bay

VACANT, OCCUPIED, UNKNOWN = "vacant", "occupied", "unknown"


class BayReport(NamedTuple):
    """A bay as a driver may see it: where it is, its state (vacant, occupied or unknown, as
    `bay_states` gives it) and its newest report (its own event, the newest heartbeat of a
    stake covering it or of the district's data feed, online or not). A tuple of plain
    values, which the garbage collector stops tracking: the vacancy cache holds many."""

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


# -- the pieces of `road_bay_reports`, for a cache that refreshes them separately ------------


class BayRow(NamedTuple):
    """A bay as stored: what `road_bay_reports` reads of it, before its devices are folded in
    (a plain tuple, as `BayReport`)."""

    id: int
    road_id: int
    uuid: str
    name: str
    space_number: int
    lat: float
    lng: float
    state: str
    last_event_at: datetime | None


@dataclass(frozen=True)
class Watchers:
    """A district's sensing devices as `road_bay_reports` folds them in: whether an online
    data feed (one that has reported) watches the district and its feeds' newest heartbeat;
    each video stake's (online, last heard); the stakes covering each bay."""

    feed_online: bool
    feed_heard: bool
    feed_seen: datetime | None
    stakes: dict[int, tuple[bool, datetime | None]]
    stakes_of_bay: dict[int, tuple[int, ...]]


_BAY_COLUMNS = (
    Bay.id, Bay.road_id, Bay.uuid, Bay.name, Bay.space_number, Bay.lat, Bay.lng, Bay.state, Bay.last_event_at
)  # fmt: skip
_BAYS_OF_ROADS = (
    select(*_BAY_COLUMNS).where(Bay.road_id.in_(bindparam("roads", expanding=True))).order_by(Bay.road_id, Bay.space_number)
)  # fmt: skip
# Bays that may have changed since a moment: an event received for them (the timeline writes
# their state in the same transaction), or an inventory edit (which sets `updated_at`). Two
# statements, each served by its index (ix_curb_event_district_received, ix_bay_district_updated).
_BAYS_WITH_EVENTS = select(*_BAY_COLUMNS).where(
    Bay.id.in_(
        select(CurbEvent.bay_id).where(
            CurbEvent.district_id == bindparam("district"), CurbEvent.received_at >= bindparam("since")
        )
    )
)
_BAYS_EDITED = select(*_BAY_COLUMNS).where(
    Bay.district_id == bindparam("district"), Bay.updated_at >= bindparam("since")
)
_STAKES = select(Device.id, Device.online, Device.last_seen_at).where(
    Device.district_id == bindparam("district"), Device.kind == VIDEO_STAKE
)
_STAKE_BAYS = (
    select(device_bay.c.bay_id, device_bay.c.device_id)
    .join(Device, Device.id == device_bay.c.device_id)
    .where(Device.district_id == bindparam("district"), Device.kind == VIDEO_STAKE)
    .order_by(device_bay.c.bay_id, device_bay.c.device_id)
)


def bay_rows(db: Session, road_ids: Collection[int]) -> list[BayRow]:
    """The stored bays of these roads, by road then space number."""
    if not road_ids:
        return []
    return [BayRow(*row) for row in db.execute(_BAYS_OF_ROADS, {"roads": list(road_ids)})]


def changed_bay_rows(db: Session, district_id: int, since: datetime) -> list[BayRow]:
    """The district's bays with an event received, or an inventory edit, at `since` or later."""
    params = {"district": district_id, "since": since}
    found = {row.id: BayRow(*row) for row in db.execute(_BAYS_WITH_EVENTS, params)}
    found.update((row.id, BayRow(*row)) for row in db.execute(_BAYS_EDITED, params))
    return list(found.values())


def district_watchers(db: Session, district_id: int) -> Watchers:
    """The district's data feeds, its video stakes and the bays each stake covers."""
    online, heard, seen = _feed(db, district_id)
    stakes = {i: (bool(on), at) for i, on, at in db.execute(_STAKES, {"district": district_id})}
    of_bay: dict[int, list[int]] = {}
    for bay_id, device_id in db.execute(_STAKE_BAYS, {"district": district_id}):
        of_bay.setdefault(bay_id, []).append(device_id)
    return Watchers(online, heard, seen, stakes, {b: tuple(d) for b, d in of_bay.items()})


def bay_report(row: BayRow, watchers: Watchers) -> BayReport:
    """The bay as `road_bay_reports` gives it, from its stored row and its district's devices."""
    stake_on = stake_heard = False
    stake_seen: datetime | None = None
    for device_id in watchers.stakes_of_bay.get(row.id, ()):
        on, at = watchers.stakes.get(device_id, (False, None))  # created since: not yet read
        stake_on = stake_on or on
        stake_heard = stake_heard or (on and at is not None)
        if at is not None and (stake_seen is None or at > stake_seen):
            stake_seen = at
    known = (
        (row.state != UNKNOWN and (watchers.feed_online or stake_on)) or watchers.feed_heard or stake_heard
    )
    seen = [t for t in (row.last_event_at, stake_seen, watchers.feed_seen) if t is not None]
    shown = (OCCUPIED if row.state == OCCUPIED else VACANT) if known else UNKNOWN
    return BayReport(
        row.id,
        row.road_id,
        row.uuid,
        row.name,
        row.space_number,
        row.lat,
        row.lng,
        shown,
        max(seen, default=None),
    )
