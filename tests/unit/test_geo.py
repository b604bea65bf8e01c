"""Plane geometry on WGS84 points (parking/geo.py): distances, boxes, bay footprints, bounds."""

from __future__ import annotations

import math
from typing import Any

import pytest

from parking.geo import EARTH_RADIUS_M, bay_footprint, bounds, degrees_box, distance_m, rectangle

GUANGZHOU = (23.162, 113.2731)
MELBOURNE = (-37.8136, 144.9631)


def destination(lat: float, lng: float, bearing_deg: float, distance: float) -> tuple[float, float]:
    """The point `distance` metres from (lat, lng) along a great circle (spherical formula)."""
    p1, l1, b = math.radians(lat), math.radians(lng), math.radians(bearing_deg)
    d = distance / EARTH_RADIUS_M
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), math.degrees(l2)


def ring_of(polygon: dict[str, Any]) -> list[list[float]]:
    (ring,) = polygon["coordinates"]
    return list(ring)


def signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False)) / 2


# distance_m


def test_one_degree_of_latitude_is_about_111_2_km() -> None:
    assert distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_200, rel=0.005)
    assert distance_m(45.0, 10.0, 46.0, 10.0) == pytest.approx(111_200, rel=0.005)


def test_one_degree_of_longitude_shrinks_with_the_cosine_of_the_latitude() -> None:
    assert distance_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_200, rel=0.005)
    assert distance_m(60.0, 0.0, 60.0, 1.0) == pytest.approx(55_600, rel=0.005)


def test_london_to_paris_is_about_343_5_km() -> None:
    assert distance_m(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343_500, rel=0.005)


def test_a_distance_is_zero_to_the_same_point_and_symmetric() -> None:
    assert distance_m(*GUANGZHOU, *GUANGZHOU) == 0.0
    assert distance_m(*GUANGZHOU, *MELBOURNE) == pytest.approx(distance_m(*MELBOURNE, *GUANGZHOU))


def test_half_way_round_the_earth_is_pi_radii() -> None:
    assert distance_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)


# degrees_box


@pytest.mark.parametrize("centre", [GUANGZHOU, MELBOURNE, (0.0, 0.0), (60.0, 10.0)])
@pytest.mark.parametrize("radius", [50.0, 500.0, 5000.0])
def test_the_degrees_box_holds_every_point_of_the_circle(centre: tuple[float, float], radius: float) -> None:
    min_lat, min_lng, max_lat, max_lng = degrees_box(*centre, radius)
    tolerance = 1e-7  # about a centimetre

    for bearing in range(0, 360, 5):
        lat, lng = destination(*centre, bearing, radius)
        assert distance_m(*centre, lat, lng) == pytest.approx(radius)
        assert min_lat - tolerance <= lat <= max_lat + tolerance, bearing
        assert min_lng - tolerance <= lng <= max_lng + tolerance, bearing


@pytest.mark.parametrize("centre", [GUANGZHOU, MELBOURNE, (60.0, 10.0)])
def test_the_degrees_box_is_centred_and_no_larger_than_the_circle_needs(centre: tuple[float, float]) -> None:
    lat, lng = centre
    min_lat, min_lng, max_lat, max_lng = degrees_box(lat, lng, 500.0)

    assert (min_lat + max_lat) / 2 == pytest.approx(lat)
    assert (min_lng + max_lng) / 2 == pytest.approx(lng)
    assert distance_m(lat, lng, max_lat, lng) == pytest.approx(500.0, rel=1e-6)
    assert distance_m(lat, lng, lat, max_lng) == pytest.approx(500.0, rel=1e-3)


# bay_footprint and rectangle


def test_a_bay_footprint_is_a_closed_ring_of_five_positions() -> None:
    footprint = bay_footprint(*GUANGZHOU)

    assert footprint["type"] == "Polygon"
    ring = ring_of(footprint)
    assert len(ring) == 5
    assert ring[0] == ring[-1]
    assert len({tuple(p) for p in ring[:4]}) == 4
    assert all(len(position) == 2 for position in ring)


def test_a_bay_footprint_ring_is_counter_clockwise() -> None:
    assert signed_area(ring_of(bay_footprint(*MELBOURNE))) > 0


@pytest.mark.parametrize("centre", [GUANGZHOU, MELBOURNE, (0.0, 0.0)])
def test_a_bay_footprint_is_about_5_5_m_by_2_5_m_around_the_point(centre: tuple[float, float]) -> None:
    lat, lng = centre
    (min_lng, min_lat), _, (max_lng, max_lat), *_ = ring_of(bay_footprint(lat, lng))

    # Positions are rounded to 7 decimals, about a centimetre.
    assert distance_m(lat, min_lng, lat, max_lng) == pytest.approx(5.5, abs=0.03)
    assert distance_m(min_lat, lng, max_lat, lng) == pytest.approx(2.5, abs=0.03)
    assert (min_lat + max_lat) / 2 == pytest.approx(lat, abs=1e-7)
    assert (min_lng + max_lng) / 2 == pytest.approx(lng, abs=1e-7)


def test_a_rectangle_lists_longitude_before_latitude() -> None:
    ring = ring_of(rectangle(1.0, 2.0, 3.0, 4.0))

    assert ring == [[2.0, 1.0], [4.0, 1.0], [4.0, 3.0], [2.0, 3.0], [2.0, 1.0]]


# bounds


def test_bounds_covers_every_position_of_nested_geometries() -> None:
    geometries: list[dict[str, Any]] = [
        {"type": "Point", "coordinates": [113.0, 23.0]},
        {"type": "LineString", "coordinates": [[113.5, 22.5], [113.2, 23.4]]},
        {"type": "Polygon", "coordinates": [[[112.9, 23.1], [113.1, 23.1], [113.1, 23.2], [112.9, 23.1]]]},
        {
            "type": "MultiPolygon",
            "coordinates": [[[[113.0, 22.0], [113.1, 22.0], [113.1, 22.1], [113.0, 22.0]]]],
        },
    ]

    assert bounds(geometries) == (22.0, 112.9, 23.4, 113.5)


def test_bounds_ignores_an_altitude() -> None:
    assert bounds([{"type": "Point", "coordinates": [113.0, 23.0, 15.0]}]) == (23.0, 113.0, 23.0, 113.0)


def test_bounds_of_a_bay_footprint_are_its_rectangle() -> None:
    footprint = rectangle(23.1, 113.2, 23.2, 113.3)

    assert bounds([footprint]) == (23.1, 113.2, 23.2, 113.3)


def test_bounds_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        bounds([])
    with pytest.raises(ValueError):
        bounds([{"type": "Polygon", "coordinates": []}])
