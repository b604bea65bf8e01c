"""What a driver is shown of the street: the use cases "free bays near a point or in a box",
"a road's bays now" and "the chance of a free bay at arrival". Public answers: bays and
tariffs, never plates or stays.

A bay is free only when its state is known (an online sensing device watches it, see
`sensors.availability`) and fresh: its newest report, its own event or a heartbeat of a
device watching it, is at most `stale_minutes` old at `now`. Otherwise it is unknown.

The rows come through `VacancyReads`: `DatabaseReads` reads them, the web layer's per-process
cache (api/v1/drivers/vacancy_cache.py) keeps them; either way freshness is judged here, at the
request's own moment. The tariff in force on each road comes through `TariffsNow`, which the
caller words in the reader's language (billing owns tariffs; this package may not import it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from parking.errors import N_, Message, NotFoundError
from parking.forecast_current import CURRENT_HORIZON, RoadNow, probability_free
from parking.forecast_history import dwell_curve, forecast_at, open_stay_ages
from parking.geo import Box, degrees_box, distance_to_box
from parking.models import Road
from sensors.availability import OCCUPIED, VACANT, BayReport, road_bay_reports

FREE, TAKEN, UNKNOWN = "free", "occupied", "unknown"


class UnknownRoadError(NotFoundError):
    code = "unknown_road"


class NoForecastError(NotFoundError):
    code = "no_forecast"


# -- what a driver is shown of a bay and of a road ------------------------------------------


def shown_state(bay: BayReport, stale_before: datetime | None) -> str:
    """free, occupied or unknown: known and reported at `stale_before` or later (None: any age)."""
    reported = bay.reported_at
    if reported is None or bay.state not in (VACANT, OCCUPIED):
        return UNKNOWN
    if stale_before is not None and reported < stale_before:
        return UNKNOWN
    return FREE if bay.state == VACANT else TAKEN


@dataclass(frozen=True)
class BayView:
    bay: BayReport
    state: str  # free, occupied or unknown


@dataclass(frozen=True)
class RoadShown:
    total: int
    free: int
    occupied: int
    newest_report_at: datetime | None
    free_bays: list[dict[str, Any]]


class RoadReports:
    """One road's bays as last read, and what a driver is shown of them at a given moment:
    a bay is free or occupied only while its newest report is younger than `stale_before`."""

    def __init__(self, bays: list[BayReport]) -> None:
        self.bays = bays
        known = [b.reported_at for b in bays if b.state in (VACANT, OCCUPIED) and b.reported_at]
        self._oldest_known = min(known, default=None)
        self._all_fresh = self._count(None)

    def shown(self, stale_before: datetime) -> RoadShown:
        if self._oldest_known is None or self._oldest_known >= stale_before:
            return self._all_fresh  # no known report has gone stale: counted once, when read
        return self._count(stale_before)

    def views(self, stale_before: datetime) -> list[BayView]:
        return [BayView(bay, shown_state(bay, stale_before)) for bay in self.bays]

    def _count(self, stale_before: datetime | None) -> RoadShown:
        free_bays, taken = [], 0
        for bay in self.bays:
            state = shown_state(bay, stale_before)
            if state == FREE:
                free_bays.append({"id": bay.uuid, "name": bay.name, "lat": bay.lat, "lng": bay.lng})
            taken += state == TAKEN
        reports = [b.reported_at for b in self.bays if b.reported_at is not None]
        return RoadShown(len(self.bays), len(free_bays), taken, max(reports, default=None), free_bays)


NO_BAYS = RoadReports([])


# -- where the rows come from, and the tariffs ----------------------------------------------


class VacancyReads(Protocol):
    """The district's roads and bays as last read (by the database or a cache of it)."""

    def roads_in_box(self, box: Box) -> list[Any]:
        """The roads (ROAD_COLUMNS) whose outline box meets `box`."""
        ...

    def reports(self, road_ids: list[int]) -> dict[int, RoadReports]:
        """Each of these roads' bays as last read."""
        ...


class TariffNow(NamedTuple):
    line: str | None  # the price in force in one line
    max_stay_minutes: int | None
    restriction_now: str | None


class TariffsNow(Protocol):
    """The district's tariffs in force at the request's moment, worded for the reader."""

    def of(self, code: str) -> TariffNow: ...

    def day_ahead(self, code: str) -> dict[str, Any]:
        """{"day_ahead": [...], "restrictions_ahead": [...]}: the rest of the local day."""
        ...


# The columns a vacancy search needs of a road (not its geometry, the costliest to load).
ROAD_COLUMNS = (
    Road.id,
    Road.uuid,
    Road.name,
    Road.tariff_code,
    Road.min_lat,
    Road.min_lng,
    Road.max_lat,
    Road.max_lng,
)
# The roads whose outline box meets the search box. Built once; the index ix_road_box serves it.
_ROADS_IN_BOX = select(*ROAD_COLUMNS).where(
    Road.district_id == bindparam("district"),
    Road.min_lat <= bindparam("max_lat"),
    Road.max_lat >= bindparam("min_lat"),
    Road.max_lng >= bindparam("min_lng"),
    Road.min_lng <= bindparam("max_lng"),
)


class DatabaseReads:
    """`VacancyReads` straight from the database."""

    def __init__(self, db: Session, district_id: int) -> None:
        self._db, self._district_id = db, district_id

    def roads_in_box(self, box: Box) -> list[Any]:
        min_lat, min_lng, max_lat, max_lng = box
        params = {"district": self._district_id, "min_lat": min_lat, "min_lng": min_lng}
        return list(self._db.execute(_ROADS_IN_BOX, params | {"max_lat": max_lat, "max_lng": max_lng}))

    def reports(self, road_ids: list[int]) -> dict[int, RoadReports]:
        found: dict[int, list[BayReport]] = {r: [] for r in road_ids}
        for bay in road_bay_reports(self._db, self._district_id, road_ids):
            found[bay.road_id].append(bay)
        return {road_id: RoadReports(bays) for road_id, bays in found.items()}


# -- the use cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchArea:
    """Where to look (`box`), what distances are measured from, and the radius, if any."""

    lat: float
    lng: float
    box: Box
    radius_m: float | None

    @classmethod
    def near(cls, lat: float, lng: float, radius_m: float) -> SearchArea:
        return cls(lat, lng, degrees_box(lat, lng, radius_m), radius_m)

    @classmethod
    def in_box(cls, box: Box) -> SearchArea:
        """The box, distances measured from its centre."""
        return cls((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box, None)


def vacancy_near(
    reads: VacancyReads,
    tariffs: TariffsNow,
    district: str,
    area: SearchArea,
    limit: int,
    now: datetime,
    stale_minutes: int,
) -> dict[str, Any]:
    """Roads nearest first (to the point, or to the box's centre; within the radius), at most
    `limit`, each with free, occupied and unknown bays, the age of its newest report, its
    tariff now and its free bays."""
    roads = reads.roads_in_box(area.box)
    distances = {r.id: distance_to_box(area.lat, area.lng, _box(r)) for r in roads}
    if area.radius_m is not None:
        roads = [r for r in roads if distances[r.id] <= area.radius_m]
    roads = sorted(roads, key=lambda r: (distances[r.id], r.id))[:limit]
    reports = reads.reports([r.id for r in roads])
    stale_before = now - timedelta(minutes=stale_minutes)
    items = []
    for road in roads:
        shown = reports.get(road.id, NO_BAYS).shown(stale_before)
        items.append(
            _road_summary(road, shown, tariffs.of(road.tariff_code), now)
            | {"distance_m": round(distances[road.id], 1), "free_bays": shown.free_bays}
        )
    return {"district": district, "at": now.isoformat(), "stale_after_minutes": stale_minutes, "roads": items}


def find_road(db: Session, district_id: int, district: str, road_uuid: str) -> Road:
    """The district's road by its uuid, or UnknownRoadError."""
    found = db.scalar(select(Road).where(Road.district_id == district_id, Road.uuid == road_uuid))
    if found is None:
        message = Message(N_("no road %(road)s in %(district)s"), {"road": road_uuid, "district": district})
        raise UnknownRoadError(message, ["road"])
    return found


def road_bays_now(
    reads: VacancyReads, tariffs: TariffsNow, road: Road, now: datetime, stale_minutes: int
) -> dict[str, Any]:
    """Every bay of one road with its state, the road's tariff now and the rest of its day."""
    stale_before = now - timedelta(minutes=stale_minutes)
    reports = reads.reports([road.id]).get(road.id, NO_BAYS)
    summary = _road_summary(road, reports.shown(stale_before), tariffs.of(road.tariff_code), now)
    bays = [
        {
            "id": v.bay.uuid,
            "name": v.bay.name,
            "space_number": v.bay.space_number,
            "lat": v.bay.lat,
            "lng": v.bay.lng,
            "state": v.state,
        }
        for v in reports.views(stale_before)
    ]
    return summary | {"at": now, **tariffs.day_ahead(road.tariff_code), "bays": bays}


def forecast_for_road(
    db: Session,
    reads: VacancyReads,
    road: Road,
    now: datetime,
    time_zone: str,
    holidays: frozenset[date],
    stale_minutes: int,
    at: datetime | None = None,
    in_minutes: int | None = None,
) -> dict[str, Any]:
    """From the road's own history by day class and 15-minute slot (docs/FORECAST.md): the
    probability that at least one bay is free `in_minutes` from now, or `at` a time. Up to
    CURRENT_HORIZON ahead (`in_minutes` only), the road's bays now are carried forward too."""
    arrival = at or now + timedelta(minutes=in_minutes or 0)
    answer = forecast_at(db, road.id, arrival, ZoneInfo(time_zone), holidays)
    if answer is None:
        raise NoForecastError(N_("no forecast is fitted for this road yet (job `forecast`)"), ["road"])
    probability, basis, free_now = answer.probability, "history", None
    curve = dwell_curve(db, road.id) if at is None and arrival - now <= CURRENT_HORIZON else None
    if curve is not None:
        state = _road_now(db, reads, road.id, now, stale_minutes)
        if state.known:
            probability = probability_free(state, answer.probability, curve, arrival - now)
            basis, free_now = "history+current", state.free
    return {
        "road": road.uuid,
        "road_name": road.name,
        "arrival": arrival,
        "basis": basis,
        "day_class": answer.day_class,
        "slot": f"{answer.slot // 4:02d}:{answer.slot % 4 * 15:02d}",
        "probability_free": round(probability, 3),
        "history_probability": round(answer.probability, 3),
        "free_now": free_now,
        "samples": answer.samples,
        "road_rate": round(answer.road_rate, 3),
        "fitted_at": answer.fitted_at,
    }


def _road_now(db: Session, reads: VacancyReads, road_id: int, now: datetime, stale_minutes: int) -> RoadNow:
    """The road's bays as a driver sees them now, with the age of each occupied bay's stay."""
    stale_before = now - timedelta(minutes=stale_minutes)
    views = reads.reports([road_id]).get(road_id, NO_BAYS).views(stale_before)
    ages = open_stay_ages(db, road_id, now)
    return RoadNow(
        len(views),
        [ages.get(v.bay.id) for v in views if v.state == TAKEN],
        sum(v.state == UNKNOWN for v in views),
    )


def _box(road: Any) -> Box:
    return road.min_lat, road.min_lng, road.max_lat, road.max_lng


def _road_summary(road: Any, shown: RoadShown, tariff: TariffNow, now: datetime) -> dict[str, Any]:
    newest = shown.newest_report_at
    return {
        "id": road.uuid,
        "name": road.name,
        "total": shown.total,
        "free": shown.free,
        "occupied": shown.occupied,
        "unknown": shown.total - shown.free - shown.occupied,
        "data_age_seconds": max(0, int((now - newest).total_seconds())) if newest else None,
        "tariff": tariff.line,
        "max_stay_minutes": tariff.max_stay_minutes,
        "restriction_now": tariff.restriction_now,
    }
