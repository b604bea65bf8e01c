"""The vacancy cache (`VACANCY_CACHE_SECONDS`, 5 by default; 0 turns it off). Per worker
process: each district's row and tariff versions, re-read once they are that many seconds
old; and per district, the stored bays of every road asked for so far and the district's
sensing devices, kept current by an incremental refresh at most that many seconds apart.

A refresh re-reads the district's devices (data feeds, video stakes and the bays each stake
covers: a few rows per device) and only the bays that may have changed since the previous
refresh: those with a CDS event received since (the timeline writes a bay's state in the
transaction that stores its events) or an inventory edit (`bay.updated_at`). "Since" reaches
`LOOKBACK` further back than the previous refresh, so a transaction that committed a little
after it started, or a server clock slightly behind another, is still caught. A road is read
whole only the first time it is asked for, and again after `RELOAD_SECONDS`, a safety net for
writes that bypass both marks (a `rebuild`, hand edits in SQL).

The district's roads (their names, tariff codes and outline boxes: what a vacancy search
needs to find them) are kept the same way: read whole once, then only those created or edited
since (`road.updated_at`), with a grid over their boxes so a search looks only at the roads
near it. A vacancy request then reads nothing from the database between refreshes.

What is cached is stored state, never the verdict: a bay's state (free, occupied or unknown)
and the age of its newest report are worked out from the bay row and the devices as last read,
and freshness against `VACANCY_STALE_MINUTES` is judged at the request's own moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from billing.models import TariffVersion
from parking.geo import Box, boxes_meet, grid_cell_count, grid_cells
from parking.inventory import get_district
from parking.models import Road
from sensors.availability import (
    BayReport,
    BayRow,
    Watchers,
    bay_report,
    bay_rows,
    changed_bay_rows,
    district_watchers,
)
from sensors.vacancy import ROAD_COLUMNS, DatabaseReads, RoadReports, VacancyReads

T = TypeVar("T")

LOOKBACK = timedelta(seconds=60)
RELOAD_SECONDS = 600.0


class _Road(Generic[T]):
    __slots__ = ("bays", "loaded", "reports", "built_for")

    def __init__(self, bays: list[BayRow], loaded: float) -> None:
        self.bays = bays
        self.loaded = loaded
        self.reports: T | None = None
        self.built_for = -1  # the devices' version the reports were built from


class DistrictBays(Generic[T]):
    """One district's cached roads and devices in one worker process; `build` makes what is
    kept of a road (its reports, as the endpoint counts them) from its bays' reports."""

    def __init__(self, district_id: int, build: Callable[[list[BayReport]], T]) -> None:
        self.district_id = district_id
        self._build = build
        self._roads: dict[int, _Road[T]] = {}
        self._road_of_bay: dict[int, int] = {}
        self._watchers: Watchers | None = None
        self._version = 0  # bumped whenever the devices read differ from the last read
        self._refreshed = float("-inf")
        self._since: datetime | None = None
        self._lock = threading.Lock()  # gthread workers share a process

    def reports(
        self, db: Session, road_ids: list[int], ttl: float, now: datetime, clock: float | None = None
    ) -> dict[int, T]:
        """These roads' reports, refreshed first when the last refresh is `ttl` seconds old.
        `now` is the server's time (marks "since" for the next refresh); `clock` is monotonic."""
        clock = time.monotonic() if clock is None else clock
        with self._lock:
            if clock - self._refreshed >= ttl:
                self._refresh(db, now, clock)
            missing = [
                r for r in road_ids if (e := self._roads.get(r)) is None or clock - e.loaded >= RELOAD_SECONDS
            ]
            if missing:
                self._load(db, missing, clock)
            out: dict[int, T] = {}
            for road_id in road_ids:
                road = self._roads[road_id]
                if road.reports is None or road.built_for != self._version:
                    assert self._watchers is not None  # read by the first refresh
                    road.reports = self._build([bay_report(b, self._watchers) for b in road.bays])
                    road.built_for = self._version
                out[road_id] = road.reports
            return out

    def _refresh(self, db: Session, now: datetime, clock: float) -> None:
        watchers = district_watchers(db, self.district_id)
        if watchers != self._watchers:
            self._watchers, self._version = watchers, self._version + 1
        if self._since is not None and self._roads:
            self._apply(changed_bay_rows(db, self.district_id, self._since))
        self._since = now - LOOKBACK
        self._refreshed = clock

    def _load(self, db: Session, road_ids: list[int], clock: float) -> None:
        found: dict[int, list[BayRow]] = {r: [] for r in road_ids}
        for row in bay_rows(db, road_ids):
            found[row.road_id].append(row)
        for road_id, bays in found.items():
            old = self._roads.get(road_id)
            for bay in old.bays if old else ():
                self._road_of_bay.pop(bay.id, None)
            self._roads[road_id] = _Road(bays, clock)
            self._road_of_bay.update((b.id, road_id) for b in bays)

    def _apply(self, rows: list[BayRow]) -> None:
        """Put changed bays in their roads (out of their former ones, if they moved). The
        lookback re-reads recent changes: a bay that is as cached changes nothing."""
        touched: set[int] = set()
        for row in rows:
            before = self._road_of_bay.get(row.id)
            road = self._roads.get(before) if before is not None else None
            if road is not None and before == row.road_id and row in road.bays:
                continue
            if road is not None and before is not None:
                road.bays = [b for b in road.bays if b.id != row.id]
                touched.add(before)
            self._road_of_bay.pop(row.id, None)
            if (target := self._roads.get(row.road_id)) is not None:
                target.bays = [b for b in target.bays if b.id != row.id] + [row]
                self._road_of_bay[row.id] = row.road_id
                touched.add(row.road_id)
        for road_id in touched:
            road = self._roads[road_id]
            road.bays.sort(key=lambda b: (b.space_number, b.id))
            road.reports = None


_ALL_ROADS = select(*ROAD_COLUMNS).where(Road.district_id == bindparam("district"))
_ROADS_EDITED = _ALL_ROADS.where(Road.updated_at >= bindparam("since"))
CELL_DEGREES = 0.01  # the grid over road boxes: about 1.1 km north-south


def _road_box(row: Any) -> Box:
    return row.min_lat, row.min_lng, row.max_lat, row.max_lng


class DistrictRoads:
    """One district's roads in one worker process, found by box through a grid of cells."""

    def __init__(self, district_id: int) -> None:
        self.district_id = district_id
        self._rows: dict[int, Any] = {}
        self._grid: dict[tuple[int, int], set[int]] = {}
        self._loaded = float("-inf")
        self._refreshed = float("-inf")
        self._since: datetime | None = None
        self._lock = threading.Lock()

    def in_box(
        self,
        db: Session,
        box: Box,
        ttl: float,
        now: datetime,
        clock: float | None = None,
    ) -> list[Any]:
        """The roads whose outline box meets `box` (min_lat, min_lng, max_lat, max_lng)."""
        clock = time.monotonic() if clock is None else clock
        with self._lock:
            if clock - self._loaded >= RELOAD_SECONDS:
                self._rows, self._grid = {}, {}
                self._put(db.execute(_ALL_ROADS, {"district": self.district_id}))
                self._loaded = self._refreshed = clock
                self._since = now - LOOKBACK
            elif clock - self._refreshed >= ttl:
                self._put(db.execute(_ROADS_EDITED, {"district": self.district_id, "since": self._since}))
                self._refreshed = clock
                self._since = now - LOOKBACK
            if grid_cell_count(box, CELL_DEGREES) > len(self._rows):
                candidates: Any = self._rows.keys()  # a box wider than the district: look at all
            else:
                cells = grid_cells(box, CELL_DEGREES)
                candidates = set().union(*(self._grid.get(c, ()) for c in cells))
            rows = (self._rows[i] for i in candidates)
            return [r for r in rows if boxes_meet(_road_box(r), box)]

    def _put(self, rows: Any) -> None:
        for row in rows:
            old = self._rows.get(row.id)
            if old is not None:
                for cell in grid_cells(_road_box(old), CELL_DEGREES):
                    self._grid[cell].discard(row.id)
            self._rows[row.id] = row
            for cell in grid_cells(_road_box(row), CELL_DEGREES):
                self._grid.setdefault(cell, set()).add(row.id)


def district_roads(district_id: int) -> DistrictRoads:
    found = cache("roads").get(district_id)
    if found is None:
        found = cache("roads")[district_id] = DistrictRoads(district_id)
    roads: DistrictRoads = found
    return roads


def cache_seconds() -> float:
    return float(current_app.config.get("VACANCY_CACHE_SECONDS", 0))


def cache(name: str) -> dict[Any, Any]:
    """One of the app's (so the worker process's) vacancy caches."""
    found: dict[Any, Any] = current_app.extensions.setdefault(f"vacancy.{name}", {})
    return found


def district_bays(district_id: int, build: Callable[[list[BayReport]], T]) -> DistrictBays[T]:
    found = cache("bays").get(district_id)
    if found is None:
        found = cache("bays")[district_id] = DistrictBays(district_id, build)
    district: DistrictBays[T] = found
    return district


@dataclass(frozen=True)
class Place:
    """What the vacancy answer needs of a district."""

    id: int
    slug: str
    time_zone: str
    currency: str


def district(db: Session, slug: str) -> Place:
    """The district by its slug (404 when there is none), cached `cache_seconds()`."""
    ttl, clock = cache_seconds(), time.monotonic()
    hit = cache("districts").get(slug) if ttl > 0 else None
    if hit is not None and clock - hit[0] < ttl:
        place: Place = hit[1]
        return place
    found = get_district(db, slug)
    place = Place(found.id, found.slug, found.time_zone, found.currency)
    if ttl > 0:
        cache("districts")[slug] = (clock, place)
    return place


def tariff_versions(db: Session, district_id: int) -> dict[str, list[tuple[datetime, str]]]:
    """By tariff code: (effective from, version uuid) in order, cached `cache_seconds()`."""
    ttl, clock = cache_seconds(), time.monotonic()
    hit = cache("tariffs").get(district_id) if ttl > 0 else None
    if hit is not None and clock - hit[0] < ttl:
        cached: dict[str, list[tuple[datetime, str]]] = hit[1]
        return cached
    versions: dict[str, list[tuple[datetime, str]]] = {}
    for code, starts, uuid in db.execute(_VERSIONS_OF_DISTRICT, {"district": district_id}):
        versions.setdefault(code, []).append((starts, uuid))
    if ttl > 0:
        cache("tariffs")[district_id] = (clock, versions)
    return versions


_VERSIONS_OF_DISTRICT = (
    select(TariffVersion.code, TariffVersion.effective_from, TariffVersion.uuid)
    .where(TariffVersion.district_id == bindparam("district"))
    .order_by(TariffVersion.code, TariffVersion.effective_from)
)


class _CachedReads:
    """`VacancyReads` from this process's cache: the truth of at most VACANCY_CACHE_SECONDS
    ago (freshness is still judged at the request's moment, by `sensors.vacancy`)."""

    def __init__(self, db: Session, district_id: int, ttl: float, now: datetime) -> None:
        self._db, self._district_id, self._ttl, self._now = db, district_id, ttl, now

    def roads_in_box(self, box: Box) -> list[Any]:
        return district_roads(self._district_id).in_box(self._db, box, self._ttl, self._now)

    def reports(self, road_ids: list[int]) -> dict[int, RoadReports]:
        found = district_bays(self._district_id, RoadReports)
        return found.reports(self._db, road_ids, self._ttl, self._now)


def vacancy_reads(db: Session, district_id: int, now: datetime) -> VacancyReads:
    """The district's roads and bays: from the cache when it is on, else read."""
    ttl = cache_seconds()
    return _CachedReads(db, district_id, ttl, now) if ttl > 0 else DatabaseReads(db, district_id)
