"""WGS84 to GCJ-02, the datum Chinese map tiles are drawn in, for display only.

Positions are stored and compared in WGS84 (what GPS, the stakes and the CDS speak). A map
whose tiles are in GCJ-02 (every Chinese provider's, by law) shows a WGS84 point some hundreds
of metres off its street, so the page shifts what it draws onto such tiles, and nothing else.
This is the published forward formula on the Krasovsky 1940 ellipsoid; outside the rough box
of China it is the identity, as the providers' own tiles there are not shifted.
api/pages/static/driver/gcj02.js is the same function for the page; a browser test checks
that the two agree."""

from __future__ import annotations

import math

KRASOVSKY_A = 6378245.0  # semi-major axis, metres
KRASOVSKY_EE = 0.00669342162296594323  # first eccentricity squared


def outside_china(lat: float, lng: float) -> bool:
    """Whether a point lies outside the box where GCJ-02 applies."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """(lat, lng) where a WGS84 point is drawn on GCJ-02 tiles."""
    if outside_china(lat, lng):
        return lat, lng
    d_lat, d_lng = _shift_metres(lng - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1 - KRASOVSKY_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((KRASOVSKY_A * (1 - KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lng + d_lng


def _shift_metres(x: float, y: float) -> tuple[float, float]:
    """The offset polynomial of the formula, around (105° E, 35° N)."""
    x_pi, y_pi = x * math.pi, y * math.pi
    common = 20.0 * math.sin(6.0 * x_pi) + 20.0 * math.sin(2.0 * x_pi)
    d_lat = common + 20.0 * math.sin(y_pi) + 40.0 * math.sin(y_pi / 3.0)
    d_lng = common + 20.0 * math.sin(x_pi) + 40.0 * math.sin(x_pi / 3.0)
    d_lat += 160.0 * math.sin(y_pi / 12.0) + 320.0 * math.sin(y_pi / 30.0)
    d_lng += 150.0 * math.sin(x_pi / 12.0) + 300.0 * math.sin(x_pi / 30.0)
    d_lat = (
        d_lat * 2.0 / 3.0 - 100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    )
    d_lng = d_lng * 2.0 / 3.0 + 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    return d_lat, d_lng
