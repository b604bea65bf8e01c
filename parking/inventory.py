"""The district's inventory: districts, areas, roads (curb zones) and bays (curb spaces)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parking.errors import InvalidInputError, UnknownDistrictError
from parking.geo import bay_footprint, bounds, rectangle, valid_lat_lng
from parking.models import Area, Bay, District, Road
from parking.plate_rules import DEFAULT_PLATE_RULE, PLATE_RULES

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SIDES = {"N", "NE", "E", "SE", "S", "SW", "W", "NW"}
# Road outlines reach this far (in degrees, about a metre) past their bays' footprints.
_ROAD_MARGIN_DEG = 0.00001


class InvalidInventoryError(InvalidInputError):
    code = "invalid_inventory"


@dataclass(frozen=True)
class BaySpec:
    name: str
    lat: float
    lng: float


def get_district(db: Session, slug: str) -> District:
    district = db.scalars(select(District).where(District.slug == slug)).first()
    if district is None:
        raise UnknownDistrictError(f"no district {slug!r}", ["district"])
    return district


def district_by_id(db: Session, district_id: int) -> District:
    """The district a row of another table belongs to (its foreign key: it exists)."""
    return db.get_one(District, district_id)


def every_district(db: Session) -> list[District]:
    return list(db.scalars(select(District)))


def ensure_district(
    db: Session,
    slug: str,
    now: datetime,
    *,
    name: str,
    time_zone: str,
    currency: str,
    plate_rule: str = DEFAULT_PLATE_RULE,
    default_locale: str = "en",
) -> tuple[District, bool]:
    """The district with this slug, created when missing. Returns (district, created)."""
    existing = db.scalars(select(District).where(District.slug == slug)).first()
    if existing is not None:
        return existing, False
    if not _SLUG.fullmatch(slug):
        raise InvalidInventoryError("a district slug is lower-case letters, digits and -", ["slug"])
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInventoryError(f"{time_zone!r} is not an IANA time zone", ["time_zone"]) from None
    if not _CURRENCY.fullmatch(currency):
        raise InvalidInventoryError(f"{currency!r} is not an ISO 4217 code", ["currency"])
    if plate_rule not in PLATE_RULES:
        raise InvalidInventoryError(
            f"{plate_rule!r} is not a plate rule ({', '.join(PLATE_RULES)})", ["plate_rule"]
        )
    district = District(
        slug=slug,
        name=name,
        time_zone=time_zone,
        currency=currency,
        plate_rule=plate_rule,
        default_locale=default_locale,
        created_at=now,
    )
    db.add(district)
    db.flush()
    return district, True


def add_area(db: Session, district: District, name: str, roads: Sequence[Road], now: datetime) -> Area:
    """A curb area around some roads, its outline their joint bounding box."""
    area = Area(
        district_id=district.id,
        name=name,
        geometry=rectangle(*bounds(r.geometry for r in roads)),
        published_at=now,
        updated_at=now,
    )
    db.add(area)
    db.flush()
    for road in roads:
        road.area_id = area.id
    return area


def add_road(
    db: Session,
    district: District,
    name: str,
    bays: Sequence[BaySpec],
    now: datetime,
    *,
    street_name: str | None = None,
    cross_streets: tuple[str | None, str | None] = (None, None),
    street_side: str | None = None,
    geometry: dict[str, Any] | None = None,
) -> Road:
    """A road (curb zone) and its bays, numbered in the order given."""
    if not bays:
        raise InvalidInventoryError(f"road {name!r} has no bays", ["bays"])
    for spec in bays:
        if not valid_lat_lng(spec.lat, spec.lng):
            raise InvalidInventoryError(f"bay {spec.name!r} has no valid position", [spec.name])
    if geometry is None:
        min_lat, min_lng, max_lat, max_lng = bounds(bay_footprint(b.lat, b.lng) for b in bays)
        m = _ROAD_MARGIN_DEG
        geometry = rectangle(min_lat - m, min_lng - m, max_lat + m, max_lng + m)
    min_lat, min_lng, max_lat, max_lng = bounds([geometry])
    road = Road(
        district_id=district.id,
        name=name,
        street_name=street_name,
        cross_street_start_name=cross_streets[0],
        cross_street_end_name=cross_streets[1],
        street_side=street_side if street_side in _SIDES else None,
        geometry=geometry,
        center_lat=(min_lat + max_lat) / 2,
        center_lng=(min_lng + max_lng) / 2,
        min_lat=min_lat,
        min_lng=min_lng,
        max_lat=max_lat,
        max_lng=max_lng,
        published_at=now,
        updated_at=now,
    )
    db.add(road)
    db.flush()
    db.add_all(_new_bay(road, number, spec, now) for number, spec in enumerate(bays, start=1))
    db.flush()
    return road


@dataclass
class ImportResult:
    roads_created: int = 0
    bays_created: int = 0
    bays_skipped: int = 0


def import_bays(
    db: Session,
    district: District,
    features: Sequence[Any],
    id_property: str,
    zone_properties: Sequence[str],
    now: datetime,
) -> ImportResult:
    """Bays from GeoJSON point features. The zone properties' values together name the road:
    the first is the street, the next two its cross streets, and a compass value its side.
    Bays already known by name are left as they are."""
    known = set(db.scalars(select(Bay.name).where(Bay.district_id == district.id)))
    roads: dict[tuple[str, ...], list[BaySpec]] = {}
    result = ImportResult()
    for index, feature in enumerate(features):
        props, point = _point_feature(feature, index, id_property, zone_properties)
        name = str(props[id_property])
        if name in known:
            result.bays_skipped += 1
            continue
        known.add(name)
        key = tuple(str(props.get(p) or "").strip() for p in zone_properties)
        roads.setdefault(key, []).append(BaySpec(name, point[1], point[0]))

    existing = {r.name: r for r in db.scalars(select(Road).where(Road.district_id == district.id))}
    for key, specs in roads.items():
        road_name = " / ".join(v for v in key if v)
        if road_name in existing:
            _append_bays(db, existing[road_name], specs, now)
        else:
            sides = [v for v in key[1:] if v in _SIDES]
            crosses = [v for v in key[1:] if v not in _SIDES] + [None, None]
            add_road(
                db,
                district,
                road_name,
                specs,
                now,
                street_name=key[0],
                cross_streets=(crosses[0], crosses[1]),
                street_side=sides[0] if sides else None,
            )
            result.roads_created += 1
        result.bays_created += len(specs)
    return result


def _point_feature(
    feature: Any, index: int, id_property: str, zone_properties: Sequence[str]
) -> tuple[dict[str, Any], list[float]]:
    where = f"feature {index}"
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        raise InvalidInventoryError(f"{where} is not a GeoJSON feature with properties", [where])
    props = feature["properties"]
    # The bay's name and its street are needed; a blank cross street or side is allowed.
    missing = [p for p in (id_property, zone_properties[0]) if props.get(p) in (None, "")]
    if missing:
        raise InvalidInventoryError(f"{where} lacks {', '.join(missing)}", missing)
    geometry = feature.get("geometry") or {}
    coords = geometry.get("coordinates")
    if (
        geometry.get("type") != "Point"
        or not isinstance(coords, list)
        or len(coords) < 2
        or not all(isinstance(c, (int, float)) for c in coords[:2])
        or not valid_lat_lng(coords[1], coords[0])
    ):
        raise InvalidInventoryError(f"{where} is not a point with a valid lon/lat", [where])
    return props, coords


def _append_bays(db: Session, road: Road, specs: list[BaySpec], now: datetime) -> None:
    last = max((b.space_number for b in road.bays), default=0)
    db.add_all(_new_bay(road, n, spec, now) for n, spec in enumerate(specs, start=last + 1))
    db.flush()


def _new_bay(road: Road, number: int, spec: BaySpec, now: datetime) -> Bay:
    return Bay(
        district_id=road.district_id,
        road_id=road.id,
        name=spec.name,
        space_number=number,
        lat=spec.lat,
        lng=spec.lng,
        geometry=bay_footprint(spec.lat, spec.lng),
        length_cm=550,
        published_at=now,
        updated_at=now,
    )


def district_centre(db: Session, district_id: int) -> tuple[float, float]:
    """(lat, lng) of the centre of the box around the district's roads; (0, 0) without roads."""
    min_lat, max_lat, min_lng, max_lng = db.execute(
        select(
            func.min(Road.min_lat), func.max(Road.max_lat), func.min(Road.min_lng), func.max(Road.max_lng)
        ).where(Road.district_id == district_id)
    ).one()
    if min_lat is None:
        return 0.0, 0.0
    return (min_lat + max_lat) / 2, (min_lng + max_lng) / 2


def road_name(db: Session, road_id: int | None) -> str | None:
    """The name of a road, None for no road."""
    return db.scalar(select(Road.name).where(Road.id == road_id)) if road_id else None


def area_uuids(db: Session, district_id: int) -> dict[int, str]:
    """The district's areas: CDS curb area id by row id."""
    return {a: u for a, u in db.execute(select(Area.id, Area.uuid).where(Area.district_id == district_id))}


def areas_with_zones(db: Session, district_id: int) -> list[tuple[Area, list[str]]]:
    """The district's areas by id, each with its roads' CDS curb zone ids."""
    zone_ids: dict[int, list[str]] = {}
    for area_id, road_uuid in db.execute(
        select(Road.area_id, Road.uuid).where(Road.district_id == district_id, Road.area_id.is_not(None))
    ):
        if area_id is not None:
            zone_ids.setdefault(area_id, []).append(road_uuid)
    areas = db.scalars(select(Area).where(Area.district_id == district_id).order_by(Area.id))
    return [(area, zone_ids.get(area.id, [])) for area in areas]
