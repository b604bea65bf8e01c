"""Where to search, from a query string: a box, a point with a radius, or both. One parser for
the CDS curbs routes and the driver's vacancy route, so the same bad input answers the same
code on both (see docs/API.md):

- `bad_param`: a value is not a finite number, `bbox` is not four numbers, a box's minimum is
  above its maximum, or (`one_place`) both a box and a point are given;
- `missing_param`: half a point (`lat` without `lng`, a `radius` alone), three of the four box
  parameters, or (`one_place`) no place at all;
- `invalid_coordinates`: a latitude outside -90..90 or a longitude outside -180..180;
- `radius_out_of_range`: a radius not above 0 metres and at most the configured limit.

A box is `bbox=min_lng,min_lat,max_lng,max_lat` (GeoJSON order) or the four CDS parameters
`min_lat`, `min_lng`, `max_lat`, `max_lng`. A point is `lat`, `lng` and an optional `radius`
in metres (DEFAULT_RADIUS_M)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from api.errors import ApiError
from parking.errors import N_, Message
from parking.geo import valid_lat_lng

DEFAULT_RADIUS_M = 500.0
BOX_PARAMS = ("min_lat", "min_lng", "max_lat", "max_lng")
Box = tuple[float, float, float, float]  # (min_lat, min_lng, max_lat, max_lng)


@dataclass(frozen=True)
class Near:
    lat: float
    lng: float
    radius_m: float


@dataclass(frozen=True)
class PlaceArgs:
    box: Box | None
    near: Near | None


def place_args(args: Mapping[str, str], max_radius_m: float) -> PlaceArgs:
    """The box and the point the query asks for, each None when absent (the CDS routes
    filter by both when both are given)."""
    return PlaceArgs(_box(args), _near(args, max_radius_m))


def one_place(args: Mapping[str, str], max_radius_m: float) -> Box | Near:
    """The box or the point the query asks for, exactly one of them."""
    box, near = _box(args), _near(args, max_radius_m)
    if box is not None and near is not None:
        raise ApiError(400, "bad_param", "give lat and lng, or a bbox, not both", ["bbox"])
    if box is not None:
        return box
    if near is not None:
        return near
    raise ApiError(400, "missing_param", "give lat and lng, or a bbox", ["lat", "lng", "bbox"])


def _box(args: Mapping[str, str]) -> Box | None:
    if args.get("bbox"):
        try:
            min_lng, min_lat, max_lng, max_lat = (_finite(p) for p in args["bbox"].split(","))
        except ValueError:
            raise ApiError(400, "bad_param", "bbox is min_lng,min_lat,max_lng,max_lat", ["bbox"]) from None
    elif any(args.get(n) for n in BOX_PARAMS):
        values = [_number(args, n) for n in BOX_PARAMS]
        missing = [n for n, v in zip(BOX_PARAMS, values, strict=True) if v is None]
        if missing:
            needs = Message(N_("a box needs all four of %(names)s"), {"names": ", ".join(BOX_PARAMS)})
            raise ApiError(400, "missing_param", needs, missing)
        min_lat, min_lng, max_lat, max_lng = (v for v in values if v is not None)
    else:
        return None
    if not (valid_lat_lng(min_lat, min_lng) and valid_lat_lng(max_lat, max_lng)):
        raise ApiError(400, "invalid_coordinates", "latitudes are -90..90, longitudes -180..180", ["bbox"])
    if min_lat > max_lat or min_lng > max_lng:
        raise ApiError(400, "bad_param", "the box's minimum is above its maximum", ["bbox"])
    return min_lat, min_lng, max_lat, max_lng


def _near(args: Mapping[str, str], max_radius_m: float) -> Near | None:
    lat, lng, radius = _number(args, "lat"), _number(args, "lng"), _number(args, "radius")
    if lat is None and lng is None and radius is None:
        return None
    if lat is None or lng is None:
        missing = [n for n, v in (("lat", lat), ("lng", lng)) if v is None]
        raise ApiError(400, "missing_param", "a search near a point needs lat and lng", missing)
    if not valid_lat_lng(lat, lng):
        raise ApiError(400, "invalid_coordinates", "lat is -90..90 and lng -180..180", ["lat", "lng"])
    radius = DEFAULT_RADIUS_M if radius is None else radius
    if not 0 < radius <= max_radius_m:
        limit = Message(N_("radius is metres, above 0 and at most %(limit)s"), {"limit": f"{max_radius_m:g}"})
        raise ApiError(400, "radius_out_of_range", limit, ["radius"])
    return Near(lat, lng, radius)


def _number(args: Mapping[str, str], name: str) -> float | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return _finite(raw)
    except ValueError:
        finite = Message(N_("%(name)s must be a finite number"), {"name": name})
        raise ApiError(400, "bad_param", finite, [name]) from None


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not finite")
    return value
