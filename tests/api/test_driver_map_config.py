"""The driver page hands its map the district's tiles in the page (<script id="map-config">),
and its Content-Security-Policy lets images come from the tiles' origin and no other."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district
from parking.clock import FixedClock
from parking.map_tiles import set_district_tiles

PAGE = "/drive/testville"


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    built = build_small_district(db, clock.now() - timedelta(days=1))
    db.commit()
    return built


def map_config(html: str) -> dict[str, object]:
    found = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries its map's settings"
    parsed: dict[str, object] = json.loads(found.group(1))
    return parsed


def image_sources(policy: str) -> list[str]:
    return next(d.split()[1:] for d in policy.split("; ") if d.startswith("img-src "))


def test_a_district_without_tiles_gets_a_plain_map_and_images_from_itself_only(
    client: FlaskClient, town: SmallDistrict
) -> None:
    response = client.get(PAGE)

    assert map_config(response.text) == {"tiles": None}
    assert image_sources(response.headers["Content-Security-Policy"]) == ["'self'", "blob:", "data:"]


def test_a_district_with_gcj02_tiles_hands_them_to_the_map_and_allows_images_from_their_origin(
    client: FlaskClient, db: Session, town: SmallDistrict
) -> None:
    url = "https://{s}.tiles.example.cn/{z}/{x}/{y}.png"
    set_district_tiles(town.district, url, "gcj02", "© 示例地图")
    db.commit()

    response = client.get(PAGE)

    assert map_config(response.text) == {"tiles": {"url": url, "attribution": "© 示例地图", "crs": "gcj02"}}
    policy = response.headers["Content-Security-Policy"]
    assert image_sources(policy) == ["'self'", "https://*.tiles.example.cn", "blob:", "data:"]
    assert policy.count("tiles.example.cn") == 1, "images only"


def test_an_attribution_that_looks_like_markup_cannot_end_the_settings_script(
    client: FlaskClient, db: Session, town: SmallDistrict
) -> None:
    credit = "</script><script>alert(1)</script>"
    set_district_tiles(town.district, "https://tiles.example/{z}/{x}/{y}.png", "wgs84", credit)
    db.commit()

    response = client.get(PAGE)

    assert "<script>alert(1)" not in response.text
    assert map_config(response.text)["tiles"] == {
        "url": "https://tiles.example/{z}/{x}/{y}.png",
        "attribution": credit,
        "crs": "wgs84",
    }
