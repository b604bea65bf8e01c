"""Driver vacancy: free bays near a point or in a box, a road's bays, and the forecast of a
free bay at arrival. Public: the answers carry bays and tariffs, never plates or stays.

A bay is free only when its state is known (an online sensing device watches it, see
`sensors.availability`) and fresh: its newest report, its own event or a heartbeat of a
device watching it, is at most `VACANCY_STALE_MINUTES` old. Otherwise it is unknown."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.auth import clock_now
from api.database import get_db
from api.errors import ApiError
from api.openapi import documented
from api.place_args import Box, Near, one_place
from api.v1.drivers.vacancy_cache import (
    ROAD_COLUMNS,
    Place,
    cache_seconds,
    district_bays,
    district_roads,
    tariff_versions,
)
from api.v1.drivers.vacancy_cache import district as cached_district
from api.v1.schemas.vacancy import (
    ForecastOut,
    ForecastQuery,
    RoadBaysOut,
    VacancyOut,
    VacancyQuery,
    day_ahead,
    tariff_line,
)
from billing.holidays import district_holidays
from billing.models import TariffVersion
from billing.tariff import Tariff
from billing.tariffs import compiled
from parking.errors import N_, Message
from parking.forecast_current import CURRENT_HORIZON, RoadNow, probability_free
from parking.forecast_history import dwell_curve, forecast_at, open_stay_ages
from parking.geo import degrees_box, distance_m
from parking.inventory import get_district
from parking.models import District, Road
from sensors.availability import OCCUPIED, VACANT, BayReport, road_bay_reports

bp = Blueprint("vacancy", __name__, url_prefix="/api/v1/<district>")

FREE, TAKEN, UNKNOWN = "free", "occupied", "unknown"
# The roads whose outline box meets the search box, when the cache is off. Built once; the
# index ix_road_box serves it.
_ROADS_IN_BOX = select(*ROAD_COLUMNS).where(
    Road.district_id == bindparam("district"),
    Road.min_lat <= bindparam("max_lat"),
    Road.max_lat >= bindparam("min_lat"),
    Road.max_lng >= bindparam("min_lng"),
    Road.min_lng <= bindparam("max_lng"),
)


@dataclass(frozen=True)
class BayView:
    bay: BayReport
    state: str  # free, occupied or unknown


_QUERY = VacancyQuery()  # a schema keeps no state between loads


@bp.get("/vacancy")
@documented(
    "Free bays near a point or in a box", VacancyOut, query=VacancyQuery, auth=None, errors=(400, 404)
)
def vacancy(district: str) -> Response:
    """Roads nearest first (to the point, or to the box's centre), each with free, occupied and
    unknown bays, the age of its newest report, its tariff now and its free bays."""
    db = get_db()
    place = cached_district(db, district)
    lat, lng, box, radius = _search_place(request.args)  # before the schema: its codes (api/place_args.py)
    args = _QUERY.load(request.args)
    now = clock_now()
    roads = _roads_in_box(db, place.id, box, now)
    distances = {r.id: _distance_to_road(r, lat, lng) for r in roads}
    if radius is not None:
        roads = [r for r in roads if distances[r.id] <= radius]
    roads = sorted(roads, key=lambda r: (distances[r.id], r.id))[: args["limit"]]
    reports = _reports(db, place.id, [r.id for r in roads], now)
    stale_before = now - timedelta(minutes=_stale_minutes())
    tariffs = _TariffsNow(db, place, now)
    items = []
    for road in roads:
        shown = reports.get(road.id, _NO_BAYS).shown(stale_before)
        items.append(
            _road_summary(road, shown, tariffs, now)
            | {"distance_m": round(distances[road.id], 1), "free_bays": shown.free_bays}
        )
    body = {
        "district": place.slug,
        "at": now.isoformat(),
        "stale_after_minutes": _stale_minutes(),
        "roads": items,
    }
    # Built as VacancyOut describes it and encoded by orjson: marshmallow's dump of a few
    # hundred bays took longer than the queries.
    return Response(orjson.dumps(body), mimetype="application/json")


@bp.get("/roads/<road>/bays")
@documented("A road's bays: free, occupied or unknown", RoadBaysOut, auth=None, errors=(404,))
def road_bays(district: str, road: str) -> Response:
    """Every bay of one road with its state, and the road's tariff now."""
    db = get_db()
    place = get_district(db, district)
    found = _road(db, place, road)
    now = clock_now()
    stale_before = now - timedelta(minutes=_stale_minutes())
    reports = _reports(db, place.id, [found.id], now).get(found.id, _NO_BAYS)
    views = reports.views(stale_before)
    tariffs = _TariffsNow(db, place, now)
    body = _road_summary(found, reports.shown(stale_before), tariffs, now) | {
        "at": now,
        **day_ahead(tariffs.tariff(found.tariff_code), now, place.currency),
        "bays": [
            {
                "id": v.bay.uuid,
                "name": v.bay.name,
                "space_number": v.bay.space_number,
                "lat": v.bay.lat,
                "lng": v.bay.lng,
                "state": v.state,
            }
            for v in views
        ],
    }
    return jsonify(RoadBaysOut().dump(body))


@bp.get("/forecast")
@documented(
    "The chance a road has a free bay at arrival",
    ForecastOut,
    query=ForecastQuery,
    auth=None,
    errors=(400, 404),
)
def forecast(district: str) -> Response:
    """From the road's own history by day class and 15-minute slot (see docs/FORECAST.md):
    the probability that at least one bay is free `in` minutes from now, or `at` a time.
    Up to CURRENT_HORIZON ahead (`in` only), the road's bays now are carried forward too."""
    db = get_db()
    place = get_district(db, district)
    args = ForecastQuery().load(request.args)
    found = _road(db, place, args["road"])
    now = clock_now()
    arrival = args.get("at") or now + timedelta(minutes=args.get("in_minutes", 0))
    zone = ZoneInfo(place.time_zone)
    answer = forecast_at(db, found.id, arrival, zone, district_holidays(db, place.id))
    if answer is None:
        raise ApiError(
            404, "no_forecast", "no forecast is fitted for this road yet (job `forecast`)", ["road"]
        )
    probability, basis, free_now = answer.probability, "history", None
    curve = dwell_curve(db, found.id) if "at" not in args and arrival - now <= CURRENT_HORIZON else None
    if curve is not None:
        state = _road_now(db, place.id, found.id, now)
        if state.known:
            probability = probability_free(state, answer.probability, curve, arrival - now)
            basis, free_now = "history+current", state.free
    body = {
        "road": found.uuid,
        "road_name": found.name,
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
    return jsonify(ForecastOut().dump(body))


def _road_now(db: Session, district_id: int, road_id: int, now: datetime) -> RoadNow:
    """The road's bays as a driver sees them now, with the age of each occupied bay's stay."""
    stale_before = now - timedelta(minutes=_stale_minutes())
    views = _reports(db, district_id, [road_id], now).get(road_id, _NO_BAYS).views(stale_before)
    ages = open_stay_ages(db, road_id, now)
    return RoadNow(
        len(views),
        [ages.get(v.bay.id) for v in views if v.state == TAKEN],
        sum(v.state == UNKNOWN for v in views),
    )


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
        return [BayView(bay, _shown(bay, stale_before)) for bay in self.bays]

    def _count(self, stale_before: datetime | None) -> RoadShown:
        free_bays, taken = [], 0
        for bay in self.bays:
            state = _shown(bay, stale_before)
            if state == FREE:
                free_bays.append({"id": bay.uuid, "name": bay.name, "lat": bay.lat, "lng": bay.lng})
            taken += state == TAKEN
        reports = [b.reported_at for b in self.bays if b.reported_at is not None]
        return RoadShown(len(self.bays), len(free_bays), taken, max(reports, default=None), free_bays)


@dataclass(frozen=True)
class RoadShown:
    total: int
    free: int
    occupied: int
    newest_report_at: datetime | None
    free_bays: list[dict[str, Any]]


_NO_BAYS = RoadReports([])


def _shown(bay: BayReport, stale_before: datetime | None) -> str:
    reported = bay.reported_at
    if reported is None or bay.state not in (VACANT, OCCUPIED):
        return UNKNOWN
    if stale_before is not None and reported < stale_before:
        return UNKNOWN
    return FREE if bay.state == VACANT else TAKEN


def _road_summary(road: Any, shown: RoadShown, tariffs: _TariffsNow, now: datetime) -> dict[str, Any]:
    newest = shown.newest_report_at
    line, max_stay, restriction = tariffs.of(road.tariff_code)
    return {
        "id": road.uuid,
        "name": road.name,
        "total": shown.total,
        "free": shown.free,
        "occupied": shown.occupied,
        "unknown": shown.total - shown.free - shown.occupied,
        "data_age_seconds": max(0, int((now - newest).total_seconds())) if newest else None,
        "tariff": line,
        "max_stay_minutes": max_stay,
        "restriction_now": restriction,
    }


class _TariffsNow:
    """The district's tariffs in force at one moment, by code: (one line, max stay, name of
    the restriction in force). Reads only the versions' keys; a version's compiled tariff is
    cached by `billing.tariffs.compiled` (versions never change)."""

    def __init__(self, db: Session, place: District | Place, now: datetime) -> None:
        self._db, self._place, self._now = db, place, now
        self._versions = tariff_versions(db, place.id)
        self._found: dict[str, tuple[str | None, int | None, str | None]] = {}

    def of(self, code: str) -> tuple[str | None, int | None, str | None]:
        found = self._found.get(code)
        if found is None:
            found = self._found[code] = self._describe(code)
        return found

    def tariff(self, code: str) -> Tariff | None:
        """The compiled tariff of `code` in force at this moment, if any."""
        versions = self._versions.get(code, [])
        i = bisect_right([starts for starts, _ in versions], self._now) - 1
        return _compiled(self._db, versions[i][1], self._place.time_zone) if i >= 0 else None

    def _describe(self, code: str) -> tuple[str | None, int | None, str | None]:
        tariff = self.tariff(code)
        if tariff is None:
            return None, None, None
        restriction = tariff.restriction_at(self._now)
        return (
            tariff_line(tariff, self._now, self._place.currency),
            tariff.max_stay_minutes,
            restriction.name if restriction else None,
        )


def _compiled(db: Session, version_uuid: str, time_zone: str) -> Tariff:
    version = _VERSIONS.get(version_uuid)
    if version is None:
        version = _VERSIONS[version_uuid] = db.scalars(
            select(TariffVersion).where(TariffVersion.uuid == version_uuid)
        ).one()
        db.expunge(version)
    return compiled(version, time_zone)


# Tariff versions are immutable: each is read from the database once per process.
_VERSIONS: dict[str, TariffVersion] = {}


def _roads_in_box(
    db: Session, district_id: int, box: tuple[float, float, float, float], now: datetime
) -> list[Any]:
    """The roads whose outline box meets `box`: from the cache (`api.v1.drivers.vacancy_cache`), or read."""
    ttl = cache_seconds()
    if ttl > 0:
        return district_roads(district_id).in_box(db, box, ttl, now)
    params = {
        "district": district_id,
        "min_lat": box[0],
        "min_lng": box[1],
        "max_lat": box[2],
        "max_lng": box[3],
    }
    return list(db.execute(_ROADS_IN_BOX, params))


def _reports(db: Session, district_id: int, road_ids: list[int], now: datetime) -> dict[int, RoadReports]:
    """The roads' bays as a driver may see them: from the cache (`api.v1.drivers.vacancy_cache`: the
    truth of at most VACANCY_CACHE_SECONDS ago, freshness still judged at `now`), or read."""
    ttl = cache_seconds()
    if ttl > 0:
        return district_bays(district_id, RoadReports).reports(db, road_ids, ttl, now)
    found: dict[int, list[BayReport]] = {r: [] for r in road_ids}
    for bay in road_bay_reports(db, district_id, road_ids):
        found[bay.road_id].append(bay)
    return {road_id: RoadReports(bays) for road_id, bays in found.items()}


def _road(db: Session, place: District, road_uuid: str) -> Road:
    found = db.scalar(select(Road).where(Road.district_id == place.id, Road.uuid == road_uuid))
    if found is None:
        raise ApiError(
            404,
            "unknown_road",
            Message(N_("no road %(road)s in %(district)s"), {"road": road_uuid, "district": place.slug}),
            ["road"],
        )
    return found


def _search_place(args: Mapping[str, str]) -> tuple[float, float, Box, float | None]:
    """(lat, lng to measure from, (min_lat, min_lng, max_lat, max_lng) to search, radius):
    around the point, or in the box measured from its centre."""
    where = one_place(args, current_app.config["MAX_RADIUS_M"])
    if isinstance(where, Near):
        return where.lat, where.lng, degrees_box(where.lat, where.lng, where.radius_m), where.radius_m
    min_lat, min_lng, max_lat, max_lng = where
    return (min_lat + max_lat) / 2, (min_lng + max_lng) / 2, where, None


def _distance_to_road(road: Any, lat: float, lng: float) -> float:
    """Metres from a point to the nearest point of the road's outline box (0 inside it)."""
    near_lat = min(max(lat, road.min_lat), road.max_lat)
    near_lng = min(max(lng, road.min_lng), road.max_lng)
    return distance_m(lat, lng, near_lat, near_lng)


def _stale_minutes() -> int:
    return int(current_app.config["VACANCY_STALE_MINUTES"])
