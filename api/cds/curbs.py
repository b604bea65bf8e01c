"""CDS Curbs API: roads as curb zones and bays as curb spaces, with live availability.

The HTTP shell of GET /cds/<district>/curbs/areas, GET /cds/<district>/curbs/policies,
GET /cds/<district>/curbs/policies/<policy_id>, GET /cds/<district>/curbs/spaces,
GET /cds/<district>/curbs/zones: each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request

from api.auth import clock_now
from api.cds.common import envelope, negotiate, page_args, page_links
from api.database import get_db
from api.errors import ApiError
from api.place_args import place_args
from billing.policies import district_policies
from parking.clock import to_ms
from parking.errors import N_, Message
from parking.inventory import area_uuids, areas_with_zones, get_district
from parking.models import Bay, Road
from parking.road_search import bay_tariff_codes, bay_uuids, find_bays, find_roads, zone_policy_ids
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
    space_ids = bay_uuids(db, [r.id for r in roads])
    areas = area_uuids(db, place.id)
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
    page, size = page_args()
    found = find_bays(db, place.id, request.args.get("zone"), page, size)
    total, rows = found.total, found.bays
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
    items = [
        {
            "curb_area_id": a.uuid,
            "geometry": a.geometry,
            "name": a.name,
            "published_date": to_ms(a.published_at),
            "last_updated_date": to_ms(a.updated_at),
            "curb_zone_ids": zone_ids,
        }
        for a, zone_ids in areas_with_zones(db, place.id)
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
