"""Driver vacancy: free bays near a point or in a box, a road's bays, and the forecast of a
free bay at arrival. Public: the answers carry bays and tariffs, never plates or stays.

A bay is free only when its state is known (an online sensing device watches it, see
`sensors.availability`) and fresh: its newest report, its own event or a heartbeat of a
device watching it, is at most `VACANCY_STALE_MINUTES` old. Otherwise it is unknown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.cds import clock_now
from api.database import get_db
from api.errors import ApiError
from api.openapi import documented
from api.schemas_vacancy import (
    ForecastOut,
    ForecastQuery,
    RoadBaysOut,
    VacancyOut,
    VacancyQuery,
    tariff_line,
)
from billing.models import TariffVersion
from billing.tariffs import TariffBook
from parking.forecast import forecast_at
from parking.geo import degrees_box, distance_m, valid_lat_lng
from parking.inventory import get_district
from parking.models import Bay, District, Road
from sensors.availability import OCCUPIED, VACANT, bay_states
from sensors.models import DATA_FEED, VIDEO_STAKE, Device, device_bay

bp = Blueprint("vacancy", __name__, url_prefix="/api/v1/<district>")

FREE, TAKEN, UNKNOWN = "free", "occupied", "unknown"


@dataclass(frozen=True)
class BayView:
    bay: Bay
    state: str  # free, occupied or unknown
    reported_at: datetime | None


@bp.get("/vacancy")
@documented(
    "Free bays near a point or in a box", VacancyOut, query=VacancyQuery, auth=None, errors=(400, 404)
)
def vacancy(district: str) -> Response:
    """Roads nearest first (to the point, or to the box's centre), each with free, occupied and
    unknown bays, the age of its newest report, its tariff now and its free bays."""
    db = get_db()
    place = get_district(db, district)
    args = VacancyQuery().load(request.args)
    now = clock_now()
    lat, lng, box, radius = _place_args(args)
    roads = list(
        db.scalars(
            select(Road).where(
                Road.district_id == place.id,
                Road.max_lat >= box[0],
                Road.min_lat <= box[2],
                Road.max_lng >= box[1],
                Road.min_lng <= box[3],
            )
        )
    )
    distances = {r.id: _distance_to_road(r, lat, lng) for r in roads}
    if radius is not None:
        roads = [r for r in roads if distances[r.id] <= radius]
    roads = sorted(roads, key=lambda r: (distances[r.id], r.id))[: args["limit"]]
    views = bay_views(db, place, [r.id for r in roads], now)
    book = TariffBook.load(db, place)
    items = [
        _road_summary(road, views.get(road.id, []), book, place, now)
        | {
            "distance_m": round(distances[road.id], 1),
            "free_bays": [
                {"id": v.bay.uuid, "name": v.bay.name, "lat": v.bay.lat, "lng": v.bay.lng}
                for v in views.get(road.id, [])
                if v.state == FREE
            ],
        }
        for road in roads
    ]
    body = {"district": place.slug, "at": now, "stale_after_minutes": _stale_minutes(), "roads": items}
    return jsonify(VacancyOut().dump(body))


@bp.get("/roads/<road>/bays")
@documented("A road's bays: free, occupied or unknown", RoadBaysOut, auth=None, errors=(404,))
def road_bays(district: str, road: str) -> Response:
    """Every bay of one road with its state, and the road's tariff now."""
    db = get_db()
    place = get_district(db, district)
    found = _road(db, place, road)
    now = clock_now()
    views = bay_views(db, place, [found.id], now).get(found.id, [])
    body = _road_summary(found, views, TariffBook.load(db, place), place, now) | {
        "at": now,
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
    the probability that at least one bay is free `in` minutes from now, or `at` a time."""
    db = get_db()
    place = get_district(db, district)
    args = ForecastQuery().load(request.args)
    found = _road(db, place, args["road"])
    arrival = args.get("at") or clock_now() + timedelta(minutes=args.get("in_minutes", 0))
    zone = ZoneInfo(place.time_zone)
    answer = forecast_at(db, found.id, arrival, zone, district_holidays(db, place))
    if answer is None:
        raise ApiError(
            404, "no_forecast", "no forecast is fitted for this road yet (job `forecast`)", ["road"]
        )
    body = {
        "road": found.uuid,
        "road_name": found.name,
        "arrival": arrival,
        "day_class": answer.day_class,
        "slot": f"{answer.slot // 4:02d}:{answer.slot % 4 * 15:02d}",
        "probability_free": round(answer.probability, 3),
        "samples": answer.samples,
        "road_rate": round(answer.road_rate, 3),
        "fitted_at": answer.fitted_at,
    }
    return jsonify(ForecastOut().dump(body))


def bay_views(db: Session, place: District, road_ids: list[int], now: datetime) -> dict[int, list[BayView]]:
    """Per road, its bays in order with the state a driver should see and the newest report."""
    if not road_ids:
        return {}
    bays = list(
        db.scalars(select(Bay).where(Bay.road_id.in_(road_ids)).order_by(Bay.road_id, Bay.space_number))
    )
    ids = [b.id for b in bays]
    states = bay_states(db, place.id, ids)
    stakes: dict[int, datetime | None] = {
        bay_id: seen
        for bay_id, seen in db.execute(
            select(device_bay.c.bay_id, func.max(Device.last_seen_at))
            .join(Device, Device.id == device_bay.c.device_id)
            .where(device_bay.c.bay_id.in_(ids), Device.kind == VIDEO_STAKE)
            .group_by(device_bay.c.bay_id)
        )
    }
    feed = db.scalar(
        select(func.max(Device.last_seen_at)).where(Device.district_id == place.id, Device.kind == DATA_FEED)
    )
    stale_before = now - timedelta(minutes=_stale_minutes())
    out: dict[int, list[BayView]] = {}
    for bay in bays:
        seen = [t for t in (bay.last_event_at, stakes.get(bay.id), feed) if t is not None]
        reported = max(seen) if seen else None
        state = states.get(bay.id, UNKNOWN)
        if reported is None or reported < stale_before or state not in (VACANT, OCCUPIED):
            shown = UNKNOWN
        else:
            shown = FREE if state == VACANT else TAKEN
        out.setdefault(bay.road_id, []).append(BayView(bay, shown, reported))
    return out


def district_holidays(db: Session, place: District) -> frozenset[date]:
    """The public holidays listed by any of the district's tariffs."""
    days: set[date] = set()
    for document in db.scalars(select(TariffVersion.document).where(TariffVersion.district_id == place.id)):
        for text in document.get("holidays") or []:
            try:
                days.add(date.fromisoformat(text))
            except (TypeError, ValueError):
                continue
    return frozenset(days)


def _road_summary(
    road: Road, views: list[BayView], book: TariffBook, place: District, now: datetime
) -> dict[str, Any]:
    reports = [v.reported_at for v in views if v.reported_at is not None]
    found = book.in_force(road.tariff_code, now)
    tariff = found[1] if found else None
    restriction = tariff.restriction_at(now) if tariff else None
    return {
        "id": road.uuid,
        "name": road.name,
        "total": len(views),
        "free": sum(v.state == FREE for v in views),
        "occupied": sum(v.state == TAKEN for v in views),
        "unknown": sum(v.state == UNKNOWN for v in views),
        "data_age_seconds": max(0, int((now - max(reports)).total_seconds())) if reports else None,
        "tariff": tariff_line(tariff, now, place.currency) if tariff else None,
        "max_stay_minutes": tariff.max_stay_minutes if tariff else None,
        "restriction_now": restriction.name if restriction else None,
    }


def _road(db: Session, place: District, road_uuid: str) -> Road:
    found = db.scalar(select(Road).where(Road.district_id == place.id, Road.uuid == road_uuid))
    if found is None:
        raise ApiError(404, "unknown_road", f"no road {road_uuid} in {place.slug}", ["road"])
    return found


def _place_args(args: dict[str, Any]) -> tuple[float, float, tuple[float, float, float, float], float | None]:
    """(lat, lng to measure from, (min_lat, min_lng, max_lat, max_lng) to search, radius)."""
    if "bbox" in args:
        try:
            min_lng, min_lat, max_lng, max_lat = (float(p) for p in args["bbox"].split(","))
        except ValueError:
            raise ApiError(
                400, "invalid_parameters", "bbox is min_lng,min_lat,max_lng,max_lat", ["bbox"]
            ) from None
        if not (valid_lat_lng(min_lat, min_lng) and valid_lat_lng(max_lat, max_lng)):
            raise ApiError(400, "bad_coordinates", "latitudes are -90..90, longitudes -180..180", ["bbox"])
        if min_lat > max_lat or min_lng > max_lng:
            raise ApiError(400, "bad_coordinates", "the box's minimum is above its maximum", ["bbox"])
        return (min_lat + max_lat) / 2, (min_lng + max_lng) / 2, (min_lat, min_lng, max_lat, max_lng), None
    lat, lng, radius = args["lat"], args["lng"], args["radius"]
    if not valid_lat_lng(lat, lng):
        raise ApiError(400, "bad_coordinates", "lat is -90..90 and lng -180..180", ["lat", "lng"])
    limit = current_app.config["MAX_RADIUS_M"]
    if radius > limit:
        raise ApiError(400, "radius_too_large", f"radius is at most {limit} m", ["radius"])
    return lat, lng, degrees_box(lat, lng, radius), radius


def _distance_to_road(road: Road, lat: float, lng: float) -> float:
    """Metres from a point to the nearest point of the road's outline box (0 inside it)."""
    near_lat = min(max(lat, road.min_lat), road.max_lat)
    near_lng = min(max(lng, road.min_lng), road.max_lng)
    return distance_m(lat, lng, near_lat, near_lng)


def _stale_minutes() -> int:
    return int(current_app.config["VACANCY_STALE_MINUTES"])
