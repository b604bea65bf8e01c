"""A district's map tiles, as data: the XYZ URL template its driver page draws on, the
attribution the provider requires, and the datum its tiles are drawn in. Chinese providers
draw in GCJ-02 (parking/gcj02.py): positions stay WGS84 everywhere, and only the page shifts
what it draws onto such tiles. No tiles (the default) is a plain background, usable offline."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from parking.errors import InvalidInputError
from parking.models import District

TILE_CRS = ("wgs84", "gcj02")
MAX_URL = 500
MAX_ATTRIBUTION = 300
# The placeholders the page's map library fills in a tile URL: subdomain, zoom, column, row
# (or the row counted from the south, TMS), and "@2x" on high-density screens.
_PLACEHOLDERS = {"s", "z", "x", "y", "-y", "r"}
_HOST = re.compile(r"([A-Za-z0-9-]*\{s\}[A-Za-z0-9-]*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidTileUrlError(InvalidInputError):
    code = "invalid_tile_url"


class InvalidTileCrsError(InvalidInputError):
    code = "invalid_tile_crs"


class InvalidTileAttributionError(InvalidInputError):
    code = "invalid_tile_attribution"


@dataclass(frozen=True)
class TileSource:
    url: str
    attribution: str
    crs: str

    def origin(self) -> str:
        """The origin the tiles come from, as a Content-Security-Policy source: a first
        label holding the `{s}` subdomain becomes the `*` wildcard."""
        parts = urlsplit(self.url)
        first, dot, rest = parts.netloc.partition(".")
        return f"{parts.scheme}://{'*' + dot + rest if '{s}' in first else parts.netloc}"


def tile_source(district: District) -> TileSource | None:
    """The district's tiles, or None when its map is drawn on a plain background."""
    if district.tile_url is None:
        return None
    return TileSource(district.tile_url, district.tile_attribution or "", district.tile_crs)


def set_district_tiles(district: District, url: str, crs: str, attribution: str) -> TileSource:
    """Give the district's map these tiles, once each part is checked; nothing changes when
    one is refused."""
    source = TileSource(check_tile_url(url), check_attribution(attribution), check_crs(crs))
    district.tile_url, district.tile_attribution, district.tile_crs = (
        source.url,
        source.attribution,
        source.crs,
    )
    return source


def clear_district_tiles(district: District) -> None:
    """Back to a plain background (and WGS84: nothing to shift onto)."""
    district.tile_url, district.tile_attribution, district.tile_crs = None, None, "wgs84"


def check_tile_url(url: str) -> str:
    """An http(s) XYZ template naming {z}, {x} and {y} (or {-y}), with no other placeholder,
    a plain host name or address (the `{s}` subdomain only in its first label), and no
    user name or password."""
    url = url.strip()
    if not url or len(url) > MAX_URL or _CONTROL.search(url) or any(c in url for c in " \"'<>\\`"):
        raise InvalidTileUrlError(
            f"a tile URL is one line of at most {MAX_URL} characters, no spaces or quotes", ["url"]
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidTileUrlError("a tile URL starts with https:// or http://", ["url"])
    if "@" in parts.netloc or not _HOST.fullmatch(parts.netloc) or not _port_ok(parts.netloc):
        raise InvalidTileUrlError(
            "a tile URL's host is a plain name or address ({s} only in its first label), with no user or password",
            ["url"],
        )
    named = set(re.findall(r"\{([^{}]*)\}", url))
    if unknown := named - _PLACEHOLDERS:
        raise InvalidTileUrlError(
            f"a tile URL fills in only {{s}}, {{z}}, {{x}}, {{y}}, {{-y}} and {{r}}, not {', '.join(sorted(unknown))}",
            ["url"],
        )
    if not {"z", "x"} <= named or not named & {"y", "-y"}:
        raise InvalidTileUrlError("a tile URL is an XYZ template: it names {z}, {x} and {y}", ["url"])
    return url


def _port_ok(netloc: str) -> bool:
    _, colon, port = netloc.rpartition(":")
    return not colon or 0 < int(port) < 65536


def check_crs(crs: str) -> str:
    if crs not in TILE_CRS:
        raise InvalidTileCrsError(f"the tiles' datum is one of {', '.join(TILE_CRS)}, not {crs!r}", ["crs"])
    return crs


def check_attribution(attribution: str) -> str:
    """The provider's credit, shown on the map as plain text: one line, required (tile
    licences ask for it)."""
    attribution = attribution.strip()
    if not attribution or len(attribution) > MAX_ATTRIBUTION or _CONTROL.search(attribution):
        raise InvalidTileAttributionError(
            f"a tile attribution is one line of 1 to {MAX_ATTRIBUTION} characters", ["attribution"]
        )
    return attribution
