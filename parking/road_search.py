"""Finding a district's roads by place, as the CDS curbs routes ask for them: in an area, in
a box, and near a point (within a radius, nearest first, measured to each road's outline box);
one road by its id; the bays (curb spaces) a page at a time and each road's bays; and the
bays' own tariff codes, by road, that a zone's policies include."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from parking.errors import N_, Message, NotFoundError
from parking.geo import Box, degrees_box, distance_to_box
from parking.models import Area, Bay, District, Road


class UnknownRoadError(NotFoundError):
    code = "unknown_road"


@dataclass(frozen=True)
class FoundRoads:
    roads: list[Road]  # by id, or nearest first when searched near a point
    distances: dict[int, float]  # metres by road id, when searched near a point


def find_roads(
    db: Session,
    district_id: int,
    area: str | None = None,
    box: Box | None = None,
    near: tuple[float, float, float] | None = None,
) -> FoundRoads:
    """The district's roads in the area (by uuid), meeting the box, and within `near`'s
    (lat, lng, radius in metres): every filter given applies."""
    query = select(Road).where(Road.district_id == district_id)
    if area:
        query = query.join(Area, Area.id == Road.area_id).where(Area.uuid == area)
    if box is not None:
        query = _overlapping(query, box)
    if near is not None:
        query = _overlapping(query, degrees_box(*near))
    roads = list(db.scalars(query.order_by(Road.id)))
    if near is None:
        return FoundRoads(roads, {})
    lat, lng, radius = near
    distances = {r.id: distance_to_box(lat, lng, _box(r)) for r in roads}
    roads = sorted((r for r in roads if distances[r.id] <= radius), key=lambda r: distances[r.id])
    return FoundRoads(roads, distances)


def find_road(db: Session, district: District, road_uuid: str) -> Road:
    """The district's road with this CDS curb zone id."""
    road = db.scalar(select(Road).where(Road.district_id == district.id, Road.uuid == road_uuid))
    if road is None:
        raise UnknownRoadError(
            Message(N_("no road %(road)s in %(district)s"), {"road": road_uuid, "district": district.slug}),
            ["road"],
        )
    return road


@dataclass(frozen=True)
class FoundBays:
    total: int  # every bay the search found, over all pages
    bays: list[tuple[Bay, str]]  # this page's bays, each with its road's uuid, by road and number


def find_bays(db: Session, district_id: int, road: str | None, page: int, size: int) -> FoundBays:
    """The district's bays, or those of one road (by uuid), page `page` (from 1) of `size`."""
    query = select(Bay, Road.uuid).join(Road, Road.id == Bay.road_id).where(Bay.district_id == district_id)
    if road:
        query = query.where(Road.uuid == road)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(
        query.order_by(Bay.road_id, Bay.space_number).limit(size).offset((page - 1) * size)
    ).all()
    return FoundBays(total, [(bay, road_uuid) for bay, road_uuid in rows])


def bay_uuids(db: Session, road_ids: Sequence[int]) -> dict[int, list[str]]:
    """By road, its bays' CDS curb space ids in space-number order."""
    out: dict[int, list[str]] = {}
    if road_ids:
        rows = db.execute(
            select(Bay.road_id, Bay.uuid)
            .where(Bay.road_id.in_(road_ids))
            .order_by(Bay.road_id, Bay.space_number)
        )
        for road_id, uuid in rows:
            out.setdefault(road_id, []).append(uuid)
    return out


def bay_tariff_codes(db: Session, road_ids: Sequence[int]) -> dict[int, list[str]]:
    """By road, the tariffs of its bays that have their own (a city's signs per bay)."""
    out: dict[int, list[str]] = {}
    if road_ids:
        rows = db.execute(
            select(Bay.road_id, Bay.tariff_code)
            .where(Bay.road_id.in_(road_ids), Bay.tariff_code.is_not(None))
            .distinct()
            .order_by(Bay.road_id, Bay.tariff_code)
        )
        for road_id, code in rows:
            if code is not None:
                out.setdefault(road_id, []).append(code)
    return out


def zone_policy_ids(
    tariff_code: str, bay_codes: Sequence[str], policy_ids: dict[str, list[str]]
) -> list[str]:
    """A zone's policies: its road's tariff's, and those of its bays' own tariffs."""
    found = list(policy_ids.get(tariff_code, []))
    for code in bay_codes:
        found.extend(i for i in policy_ids.get(code, []) if i not in found)
    return found


def _overlapping(query: Select[Any], box: Box) -> Select[Any]:
    min_lat, min_lng, max_lat, max_lng = box
    return query.where(
        Road.max_lat >= min_lat, Road.min_lat <= max_lat, Road.max_lng >= min_lng, Road.min_lng <= max_lng
    )


def _box(road: Road) -> Box:
    return road.min_lat, road.min_lng, road.max_lat, road.max_lng
