"""One parser for where to search (api/place_args.py): the CDS curbs zones and the driver's
vacancy answer the same code for the same bad box or point, each in its own error shape."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from fixtures.builders import build_small_district
from parking.clock import FixedClock
from tests.support.http import assert_cds_error, assert_problem, get_ok

ZONES = "/cds/testville/curbs/zones"
VACANCY = "/api/v1/testville/vacancy"
BAD = [
    # (query, code, the fields named)
    ("lat=91&lng=106.63", "invalid_coordinates", ["lat", "lng"]),
    ("lat=-90.5&lng=106.63", "invalid_coordinates", ["lat", "lng"]),
    ("lat=26.68&lng=-181", "invalid_coordinates", ["lat", "lng"]),
    ("bbox=106.63,26.68,200,26.69", "invalid_coordinates", ["bbox"]),
    ("min_lat=26.6&min_lng=106.6&max_lat=95&max_lng=106.7", "invalid_coordinates", ["bbox"]),
    ("bbox=106.64,26.69,106.63,26.68", "bad_param", ["bbox"]),
    ("bbox=1,2,3", "bad_param", ["bbox"]),
    ("bbox=a,b,c,d", "bad_param", ["bbox"]),
    ("bbox=106.63,26.68,nan,26.69", "bad_param", ["bbox"]),
    ("lat=north&lng=106.63", "bad_param", ["lat"]),
    ("lat=nan&lng=106.63", "bad_param", ["lat"]),
    ("lat=26.68&lng=inf", "bad_param", ["lng"]),
    ("lat=26.68&lng=106.63&radius=ten", "bad_param", ["radius"]),
    ("lat=26.68&lng=106.63&radius=0", "radius_out_of_range", ["radius"]),
    ("lat=26.68&lng=106.63&radius=-5", "radius_out_of_range", ["radius"]),
    ("lat=26.68&lng=106.63&radius=5001", "radius_out_of_range", ["radius"]),
    ("lat=26.68", "missing_param", ["lng"]),
    ("lng=106.63", "missing_param", ["lat"]),
    ("radius=100", "missing_param", ["lat", "lng"]),
    ("min_lat=26.6&min_lng=106.6&max_lat=26.7", "missing_param", ["max_lng"]),
]


@pytest.fixture(autouse=True)
def town(db: Session, clock: FixedClock) -> None:
    build_small_district(db, clock.now())
    db.commit()


@pytest.mark.parametrize(("query", "code", "fields"), BAD)
def test_a_bad_place_answers_the_same_code_on_the_cds_zones_and_the_vacancy(
    client: FlaskClient, query: str, code: str, fields: list[str]
) -> None:
    cds = assert_cds_error(client.get(f"{ZONES}?{query}"), 400, code)
    native = assert_problem(client.get(f"{VACANCY}?{query}"), 400, code)
    assert cds["error_details"] == native["errors"] == fields
    assert cds["error_description"] == native["title"]


def test_the_vacancy_needs_one_place_and_only_one(client: FlaskClient) -> None:
    assert_problem(client.get(VACANCY), 400, "missing_param")
    both = f"{VACANCY}?lat=26.68&lng=106.63&bbox=106.63,26.68,106.64,26.69"
    assert_problem(client.get(both), 400, "bad_param")


def test_the_zones_take_no_place_or_both_a_box_and_a_point(client: FlaskClient) -> None:
    assert get_ok(client, ZONES)["data"]["zones"]
    get_ok(client, f"{ZONES}?lat=26.68&lng=106.63&bbox=106.62,26.67,106.64,26.69")


def test_the_four_cds_box_parameters_find_what_the_bbox_finds_on_both_routes(client: FlaskClient) -> None:
    box = "bbox=106.629,26.679,106.632,26.685"
    four = "min_lng=106.629&min_lat=26.679&max_lng=106.632&max_lat=26.685"
    zones, roads = get_ok(client, f"{ZONES}?{box}"), get_ok(client, f"{VACANCY}?{box}")
    assert len(zones["data"]["zones"]) == len(roads["roads"]) == 2
    assert get_ok(client, f"{ZONES}?{four}") == zones
    assert get_ok(client, f"{VACANCY}?{four}") == roads
