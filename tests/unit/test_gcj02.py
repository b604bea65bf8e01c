"""WGS84 to GCJ-02 (display only): the published reference pairs, and no shift outside China."""

from __future__ import annotations

import pytest

from parking.gcj02 import wgs84_to_gcj02

# The reference pairs of the widely used open implementation (eviltransform's tests):
# (WGS84 lat, lng) -> (GCJ-02 lat, lng).
REFERENCE_PAIRS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


@pytest.mark.parametrize(("wgs84", "gcj02"), REFERENCE_PAIRS)
def test_a_point_in_china_moves_to_its_published_gcj02_position(
    wgs84: tuple[float, float], gcj02: tuple[float, float]
) -> None:
    assert wgs84_to_gcj02(*wgs84) == pytest.approx(gcj02, abs=1e-9)


def test_a_guiyang_street_moves_a_few_hundred_metres_south_east_of_where_gps_puts_it() -> None:
    lat, lng = 26.5783, 106.7135
    shown_lat, shown_lng = wgs84_to_gcj02(lat, lng)
    assert -0.004 < shown_lat - lat < 0.0
    assert 0.001 < shown_lng - lng < 0.006


@pytest.mark.parametrize(
    "point",
    [(-37.8136, 144.9631), (39.7392, -104.9903), (-27.4698, 153.0251), (51.5072, -0.1276), (0.5, 110.0)],
)
def test_a_point_outside_china_is_drawn_where_it_is(point: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*point) == point
