"""CDS Curbs API: roads as curb zones and bays as curb spaces, with live availability.

The HTTP shell of GET /cds/<district>/curbs/areas, GET /cds/<district>/curbs/policies,
GET /cds/<district>/curbs/policies/<policy_id>, GET /cds/<district>/curbs/spaces,
GET /cds/<district>/curbs/zones: each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import func, select

from api.auth import clock_now
from api.cds.common import envelope, negotiate, page_args, page_links
from api.database import get_db
from api.errors import ApiError
from api.place_args import place_args
from billing.policies import district_policies
from parking.clock import to_ms
from parking.errors import N_, Message
from parking.inventory import get_district
from parking.models import Area, Bay, Road
from parking.road_search import bay_tariff_codes, find_roads, zone_policy_ids
from sensors.availability import UNKNOWN, VACANT, bay_states, road_counts

bp = Blueprint("cds_curbs", __name__, url_prefix="/cds/<district>/curbs")


@bp.get("/zones")
def zones(district: str) -> Response:
    """Roads with their bays and live free-bay counts; near a point (`lat`, `lng`, `radius`
    in metres, nearest first), in a box (`bbox=min_lng,min_lat,max_lng,max_lat` or
    `min_lat`...`max_lng`), or in an `area`."""
    media_type = negotiate()
    db = get_db()
    place = get_district(db, district)
    now = clock_now()
    where = place_args(request.args, current_app.config["MAX_RADIUS_M"])
    near = None if where.near is None else (where.near.lat, where.near.lng, where.near.radius_m)
    found = find_roads(db, place.id, request.args.get("area"), where.box, near)
    roads, distances = found.roads, found.distances
    page, size = page_args()
    total = len(roads)
    roads = roads[(page - 1) * size : page * size]
    counts = road_counts(db, place.id, [r.id for r in roads])
    space_ids = _space_ids(db, [r.id for r in roads])
    areas = {a: u for a, u in db.execute(select(Area.id, Area.uuid).where(Area.district_id == place.id))}
    with_geometry = request.args.get("include_geometry", "true").lower() != "false"
    _, policy_ids = district_policies(db, place, now)
    bay_codes = bay_tariff_codes(db, [r.id for r in roads])
    items = [
        _zone(r, counts.get(r.id), space_ids.get(r.id, []), areas, distances.get(r.id), now, with_geometry)
        | {"curb_policy_ids": zone_policy_ids(r.tariff_code, bay_codes.get(r.id, []), policy_ids)}
        for r in roads
    ]
    return envelope(place, "zones", items, now, media_type, page_links(page, size, total))


@bp.get("/spaces")
def spaces(district: str) -> Response:
    """Bays, optionally of one `zone`, each `available` when known to be free."""
    media_type = negotiate()
    db = get_db()
    place = get_district(db, district)
    now = clock_now()
    query = select(Bay, Road.uuid).join(Road, Road.id == Bay.road_id).where(Bay.district_id == place.id)
    if request.args.get("zone"):
        query = query.where(Road.uuid == request.args["zone"])
    page, size = page_args()
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(
        query.order_by(Bay.road_id, Bay.space_number).limit(size).offset((page - 1) * size)
    ).all()
    states = bay_states(db, place.id, [bay.id for bay, _ in rows])
    items = [_space(bay, zone, states.get(bay.id, UNKNOWN), now) for bay, zone in rows]
    if any(bay.tariff_code for bay, _ in rows):
        _, policy_ids = district_policies(db, place, now)
        for item, (bay, _) in zip(items, rows, strict=True):
            if bay.tariff_code:  # CDS spaces have no policy field: a custom attribute (strings)
                item["custom_attributes"]["curb_policy_ids"] = ",".join(policy_ids.get(bay.tariff_code, []))
    return envelope(place, "spaces", items, now, media_type, page_links(page, size, total))


@bp.get("/policies")
def policies(district: str) -> Response:
    """The district's tariffs and restrictions as CDS policies: every version in force now
    or published to take effect later."""
    media_type = negotiate()
    db = get_db()
    place = get_district(db, district)
    now = clock_now()
    items, _ = district_policies(db, place, now)
    if request.args.get("ids"):
        wanted = set(request.args["ids"].split(","))
        items = [p for p in items if p["curb_policy_id"] in wanted]
    return envelope(place, "policies", items, now, media_type)


@bp.get("/policies/<policy_id>")
def policy(district: str, policy_id: str) -> Response:
    """One CDS policy by its id."""
    media_type = negotiate()
    db = get_db()
    place = get_district(db, district)
    now = clock_now()
    items, _ = district_policies(db, place, now)
    found = [p for p in items if p["curb_policy_id"] == policy_id]
    if not found:
        raise ApiError(
            404,
            "not_found",
            Message(
                N_("no policy %(policy)s in %(district)s"), {"policy": policy_id, "district": place.slug}
            ),
        )
    return envelope(place, "policy", [], now, media_type, single=found[0])


@bp.get("/areas")
def areas(district: str) -> Response:
    """Curb areas: named groups of roads."""
    media_type = negotiate()
    db = get_db()
    place = get_district(db, district)
    zone_ids: dict[int, list[str]] = {}
    for area_id, road_uuid in db.execute(
        select(Road.area_id, Road.uuid).where(Road.district_id == place.id, Road.area_id.is_not(None))
    ):
        if area_id is not None:
            zone_ids.setdefault(area_id, []).append(road_uuid)
    items = [
        {
            "curb_area_id": a.uuid,
            "geometry": a.geometry,
            "name": a.name,
            "published_date": to_ms(a.published_at),
            "last_updated_date": to_ms(a.updated_at),
            "curb_zone_ids": zone_ids.get(a.id, []),
        }
        for a in db.scalars(select(Area).where(Area.district_id == place.id).order_by(Area.id))
    ]
    return envelope(place, "areas", items, clock_now(), media_type)


def _zone(
    road: Road,
    counts: Any,
    space_ids: list[str],
    areas: dict[int, str],
    distance: float | None,
    now: datetime,
    with_geometry: bool,
) -> dict[str, Any]:
    zone: dict[str, Any] = {"curb_zone_id": road.uuid}
    if with_geometry:
        zone["geometry"] = road.geometry
    zone.update(
        {
            "curb_policy_ids": [],
            "published_date": to_ms(road.published_at),
            "last_updated_date": to_ms(road.updated_at),
            "start_date": to_ms(road.published_at),
            "name": road.name,
            "num_spaces": counts.num_spaces if counts else 0,
            "available_spaces": counts.available if counts else 0,
            "availability_time": to_ms(now),
            "curb_space_ids": space_ids,
            # CDS custom attributes are strings.
            "custom_attributes": {"unknown_spaces": str(counts.unknown if counts else 0)},
        }
    )
    optional = {
        "street_name": road.street_name,
        "cross_street_start_name": road.cross_street_start_name,
        "cross_street_end_name": road.cross_street_end_name,
        "street_side": road.street_side,
    }
    zone.update({k: v for k, v in optional.items() if v})
    if road.area_id is not None and road.area_id in areas:
        zone["curb_area_ids"] = [areas[road.area_id]]
    if distance is not None:
        zone["custom_attributes"]["distance_m"] = f"{distance:.1f}"
    return zone


def _space(bay: Bay, zone_uuid: str, state: str, now: datetime) -> dict[str, Any]:
    space: dict[str, Any] = {
        "curb_space_id": bay.uuid,
        "geometry": bay.geometry,
        "name": bay.name,
        "published_date": to_ms(bay.published_at),
        "last_updated_date": to_ms(bay.updated_at),
        "curb_zone_id": zone_uuid,
        "space_number": bay.space_number,
        "length": bay.length_cm,
        "availability_time": to_ms(now),
        "custom_attributes": {"state": state},
    }
    if state != UNKNOWN:  # CDS: leave `available` out when availability is unknown
        space["available"] = state == VACANT
    return space


def _space_ids(db: Any, road_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if road_ids:
        rows = db.execute(
            select(Bay.road_id, Bay.uuid)
            .where(Bay.road_id.in_(road_ids))
            .order_by(Bay.road_id, Bay.space_number)
        )
        for road_id, bay_uuid in rows:
            out.setdefault(road_id, []).append(bay_uuid)
    return out
