"""Small plane geometry on WGS84 points: distances, boxes, bay footprints (RFC 7946)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

EARTH_RADIUS_M = 6_371_008.8
BAY_LENGTH_M = 5.5
BAY_WIDTH_M = 2.5


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def degrees_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, min_lng, max_lat, max_lng) of a box that holds the circle around a point."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlng = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lat - dlat, lng - dlng, lat + dlat, lng + dlng


def rectangle(min_lat: float, min_lng: float, max_lat: float, max_lng: float) -> dict[str, Any]:
    """An RFC 7946 polygon (one closed, counter-clockwise ring) for a lat/lng box."""
    ring = [
        [min_lng, min_lat],
        [max_lng, min_lat],
        [max_lng, max_lat],
        [min_lng, max_lat],
        [min_lng, min_lat],
    ]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]]}


def bay_footprint(lat: float, lng: float) -> dict[str, Any]:
    """A bay-sized rectangle centred on a bay's point, for sources that give only points."""
    half_lat = math.degrees(BAY_WIDTH_M / 2 / EARTH_RADIUS_M)
    half_lng = math.degrees(BAY_LENGTH_M / 2 / EARTH_RADIUS_M) / math.cos(math.radians(lat))
    return rectangle(lat - half_lat, lng - half_lng, lat + half_lat, lng + half_lng)


def bounds(geometries: Iterable[dict[str, Any]]) -> tuple[float, float, float, float]:
    """(min_lat, min_lng, max_lat, max_lng) over every position of some geometries."""
    lats: list[float] = []
    lngs: list[float] = []
    for geometry in geometries:
        for lng, lat, *_ in _positions(geometry["coordinates"]):
            lats.append(lat)
            lngs.append(lng)
    if not lats:
        raise ValueError("no positions")
    return min(lats), min(lngs), max(lats), max(lngs)


def _positions(coordinates: Any) -> Iterable[list[float]]:
    if coordinates and isinstance(coordinates[0], (int, float)):
        yield coordinates
        return
    for part in coordinates:
        yield from _positions(part)


def valid_lat_lng(lat: float, lng: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0


Box = tuple[float, float, float, float]  # (min_lat, min_lng, max_lat, max_lng)


def boxes_meet(a: Box, b: Box) -> bool:
    """Whether two (min_lat, min_lng, max_lat, max_lng) boxes share at least a point."""
    return a[0] <= b[2] and a[2] >= b[0] and a[3] >= b[1] and a[1] <= b[3]


def grid_cells(box: Box, cell_degrees: float) -> list[tuple[int, int]]:
    """The cells of a grid of `cell_degrees` squares that a box touches, as (row, column)."""
    lat0, lat1 = int(box[0] // cell_degrees), int(box[2] // cell_degrees)
    lng0, lng1 = int(box[1] // cell_degrees), int(box[3] // cell_degrees)
    return [(a, b) for a in range(lat0, lat1 + 1) for b in range(lng0, lng1 + 1)]


def grid_cell_count(box: Box, cell_degrees: float) -> int:
    """len(grid_cells(box, cell_degrees)), without listing them."""
    lat_cells = int(box[2] // cell_degrees) - int(box[0] // cell_degrees) + 1
    return lat_cells * (int(box[3] // cell_degrees) - int(box[1] // cell_degrees) + 1)


def distance_to_box(lat: float, lng: float, box: Box) -> float:
    """Metres from a point to the nearest point of a box (0 inside it)."""
    near_lat = min(max(lat, box[0]), box[2])
    near_lng = min(max(lng, box[1]), box[3])
    return distance_m(lat, lng, near_lat, near_lng)
