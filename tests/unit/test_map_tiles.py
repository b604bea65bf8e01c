"""A district's map tiles are data: an http(s) XYZ template, its attribution and its datum,
each checked, with a stable code for what is refused and nothing half-set."""

from __future__ import annotations

import pytest

from parking.map_tiles import (
    InvalidTileAttributionError,
    InvalidTileCrsError,
    InvalidTileUrlError,
    TileSource,
    clear_district_tiles,
    set_district_tiles,
    tile_source,
)
from parking.models import District

GAODE_LIKE = "https://webrd0{s}.tiles.example.cn/appmaptile?x={x}&y={y}&z={z}"


def district() -> District:
    return District(slug="baiyun", name="Baiyun", time_zone="Asia/Shanghai", currency="CNY", tile_crs="wgs84")


def test_a_district_has_no_tiles_until_an_operator_gives_it_some() -> None:
    assert tile_source(district()) is None


def test_a_valid_template_its_datum_and_credit_are_kept() -> None:
    place = district()
    set_district_tiles(place, " https://{s}.tiles.example/{z}/{x}/{y}{r}.png ", "gcj02", " © Example ")
    assert tile_source(place) == TileSource(
        "https://{s}.tiles.example/{z}/{x}/{y}{r}.png", "© Example", "gcj02"
    )


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://{s}.tiles.example/{z}/{x}/{y}.png", "https://*.tiles.example"),
        ("http://127.0.0.1:8081/tiles/{z}/{x}/{-y}.png", "http://127.0.0.1:8081"),
        (GAODE_LIKE, "https://*.tiles.example.cn"),
    ],
)
def test_the_tiles_origin_is_what_the_page_policy_allows_images_from(url: str, origin: str) -> None:
    place = district()
    set_district_tiles(place, url, "wgs84", "© Example")
    source = tile_source(place)
    assert source is not None and source.url == url and source.origin() == origin


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://tiles.example/{z}/{x}/{y}.png",
        "javascript:alert(1)//{z}/{x}/{y}",
        "//tiles.example/{z}/{x}/{y}.png",
        "https://tiles.example/{z}/{x}.png",
        "https://tiles.example/tile.png",
        "https://tiles.example/{z}/{x}/{y}.png?key={apikey}",
        "https://user:secret@tiles.example/{z}/{x}/{y}.png",
        "https://tiles.example; script-src *; /{z}/{x}/{y}.png",
        "https://tiles.example/{z}/\n{x}/{y}.png",
        "https://tiles.{s}.example/{z}/{x}/{y}.png",
        "https://tiles.example:99999/{z}/{x}/{y}.png",
        'https://tiles.example/{z}/{x}/{y}.png"onerror=',
        "https://tiles.example/" + "a" * 500 + "/{z}/{x}/{y}.png",
    ],
)
def test_a_tile_url_that_is_not_an_http_xyz_template_is_refused(url: str) -> None:
    place = district()
    with pytest.raises(InvalidTileUrlError) as refused:
        set_district_tiles(place, url, "wgs84", "© Example")
    assert refused.value.code == "invalid_tile_url" and refused.value.details == ["url"]
    assert tile_source(place) is None


@pytest.mark.parametrize("crs", ["", "WGS84", "bd09", "epsg:3857"])
def test_a_datum_other_than_wgs84_or_gcj02_is_refused_and_nothing_is_set(crs: str) -> None:
    place = district()
    with pytest.raises(InvalidTileCrsError) as refused:
        set_district_tiles(place, "https://tiles.example/{z}/{x}/{y}.png", crs, "© Example")
    assert refused.value.code == "invalid_tile_crs"
    assert tile_source(place) is None and place.tile_crs == "wgs84"


@pytest.mark.parametrize("attribution", ["", "   ", "two\nlines", "x" * 301])
def test_tiles_without_a_one_line_credit_are_refused(attribution: str) -> None:
    place = district()
    with pytest.raises(InvalidTileAttributionError) as refused:
        set_district_tiles(place, "https://tiles.example/{z}/{x}/{y}.png", "wgs84", attribution)
    assert refused.value.code == "invalid_tile_attribution"
    assert tile_source(place) is None


def test_clearing_the_tiles_goes_back_to_a_plain_background_in_wgs84() -> None:
    place = district()
    set_district_tiles(place, GAODE_LIKE, "gcj02", "© Example")
    clear_district_tiles(place)
    assert tile_source(place) is None and place.tile_crs == "wgs84" and place.tile_attribution is None
