"""CDS Curbs API: zones, spaces and areas, their filters, paging, errors and conformance."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district, cds_event
from fixtures.cds_check import envelope_errors
from parking.clock import FixedClock, to_ms
from parking.geo import distance_m
from parking.inventory import BaySpec, add_area, add_road
from parking.models import Area, Road
from tests.support.cds import assert_valid_cds
from tests.support.http import assert_cds_error, get_ok, push_ok

BASE = "/cds/testville/curbs"
# Bays of road 1 sit on lat 26.680, road 2 on lat 26.684, both at lng 106.63006 to 106.63024;
# the far road added below sits on lat 26.700, about 2.2 km north.
NEAR_ROAD_1 = (26.6795, 106.6301)
NEAR_ROAD_2 = (26.6841, 106.6301)


class Town:
    def __init__(self, small: SmallDistrict, far_road: Road, north: Area, centre: Area) -> None:
        self.small, self.far_road, self.north, self.centre = small, far_road, north, centre
        self.road_1, self.road_2 = small.roads


@pytest.fixture
def town(db: Session, clock: FixedClock) -> Town:
    small = build_small_district(db, clock.now())
    specs = [BaySpec(f"F-{n}", 26.700, 106.630 + n * 0.00006) for n in range(1, 3)]
    far = add_road(
        db, small.district, "Far Road", specs, clock.now(), street_name="Far Road", street_side="S"
    )
    north = add_area(db, small.district, "North", [far], clock.now())
    centre = db.get(Area, small.roads[0].area_id)
    assert centre is not None
    db.commit()
    return Town(small, far, north, centre)


def zone_names(body: dict[str, Any]) -> list[str]:
    return [z["name"] for z in body["data"]["zones"]]


# --- zones -------------------------------------------------------------------------------


def test_zones_list_every_road_with_its_spaces_and_the_cds_envelope(
    client: FlaskClient, town: Town, clock: FixedClock
) -> None:
    body = get_ok(client, f"{BASE}/zones")
    assert body["version"] == "1.1.0"
    assert body["time_zone"] == "Asia/Shanghai"
    assert body["currency"] == "CNY"
    assert body["last_updated"] == to_ms(clock.now())
    assert "links" not in body
    zones = {z["name"]: z for z in body["data"]["zones"]}
    assert set(zones) == {"Jianshan Road", "Zhaohui Road", "Far Road"}
    road_1 = zones["Jianshan Road"]
    assert road_1["curb_zone_id"] == town.road_1.uuid
    assert road_1["curb_space_ids"] == [b.uuid for b in town.road_1.bays]
    assert road_1["curb_area_ids"] == [town.centre.uuid]
    assert road_1["num_spaces"] == 4
    assert road_1["availability_time"] == to_ms(clock.now())
    assert road_1["geometry"]["type"] == "Polygon"
    assert zones["Far Road"]["num_spaces"] == 2


def test_zones_count_free_bays_as_available_spaces(
    client: FlaskClient, town: Town, clock: FixedClock
) -> None:
    t0 = clock.now() - timedelta(hours=1)
    bays = town.small
    push_ok(
        client,
        town.small.stake_a,
        [
            cds_event(bays.stake_a, bays.bay("T1-1"), "park_start", t0, plate="贵A12345"),
            cds_event(bays.stake_a, bays.bay("T1-1"), "park_end", t0 + timedelta(minutes=10)),
            cds_event(bays.stake_a, bays.bay("T1-2"), "park_end", t0 + timedelta(minutes=11)),
            cds_event(
                bays.stake_a, bays.bay("T1-3"), "park_start", t0 + timedelta(minutes=12), plate="贵B12345"
            ),
        ],
    )
    zones = {z["name"]: z for z in get_ok(client, f"{BASE}/zones")["data"]["zones"]}
    road_1 = zones["Jianshan Road"]
    # T1-4 has had no event, but its stake is alive and reporting: it saw no vehicle there.
    assert (road_1["num_spaces"], road_1["available_spaces"]) == (4, 3)
    assert int(road_1["custom_attributes"]["unknown_spaces"]) == 0
    assert zones["Zhaohui Road"]["available_spaces"] == 0
    assert int(zones["Zhaohui Road"]["custom_attributes"]["unknown_spaces"]) == 4


def test_zones_near_a_point_are_those_within_the_radius_nearest_first(
    client: FlaskClient, town: Town
) -> None:
    lat, lng = NEAR_ROAD_2
    body = get_ok(client, f"{BASE}/zones?lat={lat}&lng={lng}&radius=1000")
    assert zone_names(body) == ["Zhaohui Road", "Jianshan Road"]
    distances = [float(z["custom_attributes"]["distance_m"]) for z in body["data"]["zones"]]
    assert distances == sorted(distances)
    assert distances[0] < 20
    assert 420 < distances[1] < 520

    lat, lng = NEAR_ROAD_1
    body = get_ok(client, f"{BASE}/zones?lat={lat}&lng={lng}&radius=5000")
    assert zone_names(body) == ["Jianshan Road", "Zhaohui Road", "Far Road"]


def test_zones_near_a_point_leave_out_roads_beyond_the_radius(client: FlaskClient, town: Town) -> None:
    lat, lng = NEAR_ROAD_1
    body = get_ok(client, f"{BASE}/zones?lat={lat}&lng={lng}&radius=200")
    assert zone_names(body) == ["Jianshan Road"]
    distance = float(body["data"]["zones"][0]["custom_attributes"]["distance_m"])
    assert distance == pytest.approx(distance_m(lat, lng, town.road_1.min_lat, lng), abs=0.2)


def test_zones_near_a_point_default_to_a_500_metre_radius(client: FlaskClient, town: Town) -> None:
    lat, lng = NEAR_ROAD_1
    assert zone_names(get_ok(client, f"{BASE}/zones?lat={lat}&lng={lng}")) == [
        "Jianshan Road",
        "Zhaohui Road",
    ]


def test_zones_without_a_point_carry_no_distance(client: FlaskClient, town: Town) -> None:
    for zone in get_ok(client, f"{BASE}/zones")["data"]["zones"]:
        assert "distance_m" not in zone["custom_attributes"]


def test_zones_in_a_bbox_are_those_overlapping_it(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{BASE}/zones?bbox=106.62,26.683,106.64,26.685")
    assert zone_names(body) == ["Zhaohui Road"]
    body = get_ok(client, f"{BASE}/zones?bbox=106.62,26.679,106.64,26.685")
    assert zone_names(body) == ["Jianshan Road", "Zhaohui Road"]
    assert zone_names(get_ok(client, f"{BASE}/zones?bbox=100,20,100.1,20.1")) == []


def test_zones_in_a_box_given_by_the_four_cds_parameters(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{BASE}/zones?min_lat=26.699&min_lng=106.62&max_lat=26.701&max_lng=106.64")
    assert zone_names(body) == ["Far Road"]


def test_zones_of_an_area_are_its_roads(client: FlaskClient, town: Town) -> None:
    assert zone_names(get_ok(client, f"{BASE}/zones?area={town.centre.uuid}")) == [
        "Jianshan Road",
        "Zhaohui Road",
    ]
    assert zone_names(get_ok(client, f"{BASE}/zones?area={town.north.uuid}")) == ["Far Road"]
    assert zone_names(get_ok(client, f"{BASE}/zones?area={uuid.uuid4()}")) == []


def test_filters_combine(client: FlaskClient, town: Town) -> None:
    lat, lng = NEAR_ROAD_1
    url = f"{BASE}/zones?lat={lat}&lng={lng}&radius=5000&area={town.centre.uuid}&bbox=106.62,26.683,106.64,26.685"
    assert zone_names(get_ok(client, url)) == ["Zhaohui Road"]


def test_zones_leave_out_geometry_when_asked(client: FlaskClient, town: Town) -> None:
    zones = get_ok(client, f"{BASE}/zones?include_geometry=false")["data"]["zones"]
    assert len(zones) == 3
    assert all("geometry" not in z for z in zones)
    assert all("num_spaces" in z for z in zones)


def test_zones_page_with_json_api_links(client: FlaskClient, town: Town) -> None:
    first = get_ok(client, f"{BASE}/zones?page_size=1&include_geometry=false")
    assert zone_names(first) == ["Jianshan Road"]
    links = first["links"]
    assert set(links) == {"first", "last", "next"}

    def args(url: str) -> dict[str, list[str]]:
        parts = urlsplit(url)
        assert parts.path == f"{BASE}/zones"
        return parse_qs(parts.query)

    assert args(links["next"]) == {"page": ["2"], "page_size": ["1"], "include_geometry": ["false"]}
    assert args(links["last"])["page"] == ["3"]
    assert args(links["first"])["page"] == ["1"]

    middle = get_ok(client, links["next"])
    assert zone_names(middle) == ["Zhaohui Road"]
    assert set(middle["links"]) == {"first", "last", "prev", "next"}
    assert args(middle["links"]["prev"])["page"] == ["1"]

    last = get_ok(client, middle["links"]["next"])
    assert zone_names(last) == ["Far Road"]
    assert set(last["links"]) == {"first", "last", "prev"}


def test_zones_near_a_point_page_in_distance_order(client: FlaskClient, town: Town) -> None:
    lat, lng = NEAR_ROAD_2
    url = f"{BASE}/zones?lat={lat}&lng={lng}&radius=5000&page_size=2"
    first = get_ok(client, url)
    assert zone_names(first) == ["Zhaohui Road", "Jianshan Road"]
    second = get_ok(client, first["links"]["next"])
    assert zone_names(second) == ["Far Road"]
    assert "next" not in second["links"]


def test_a_list_that_fits_one_page_has_no_links(client: FlaskClient, town: Town) -> None:
    assert "links" not in get_ok(client, f"{BASE}/zones?page_size=3")
    assert "links" not in get_ok(client, f"{BASE}/spaces")


def test_a_page_past_the_end_is_empty_and_points_back(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{BASE}/zones?page=9&page_size=2")
    assert body["data"]["zones"] == []
    assert parse_qs(urlsplit(body["links"]["prev"]).query)["page"] == ["2"]
    assert "next" not in body["links"]


def test_zones_answer_the_cds_media_type_when_asked(client: FlaskClient, town: Town) -> None:
    response = client.get(f"{BASE}/zones", headers={"Accept": "application/vnd.cds+json;version=1.1"})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.cds+json"
    assert client.get(f"{BASE}/zones").mimetype == "application/json"


def test_zones_refuse_the_cds_1_0_media_type_and_html(client: FlaskClient, town: Town) -> None:
    for accept in ("application/vnd.cds+json;version=1.0", "text/html"):
        response = client.get(f"{BASE}/zones", headers={"Accept": accept})
        assert_cds_error(response, 406, "not_acceptable")


# --- zone errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["lat=91&lng=106.63", "lat=-90.5&lng=106.63", "lat=26.68&lng=181", "bbox=106.62,26.68,106.64,95"],
)
def test_coordinates_off_the_globe_are_invalid_coordinates(
    client: FlaskClient, town: Town, query: str
) -> None:
    assert_cds_error(client.get(f"{BASE}/zones?{query}"), 400, "invalid_coordinates")


@pytest.mark.parametrize("radius", ["0", "-5", "5001", "100000"])
def test_a_radius_outside_1_to_5000_metres_is_out_of_range(
    client: FlaskClient, town: Town, radius: str
) -> None:
    details = assert_cds_error(
        client.get(f"{BASE}/zones?lat=26.68&lng=106.63&radius={radius}"), 400, "radius_out_of_range"
    )["error_details"]
    assert details == ["radius"]


def test_a_radius_of_exactly_5000_metres_is_fine(client: FlaskClient, town: Town) -> None:
    get_ok(client, f"{BASE}/zones?lat=26.68&lng=106.63&radius=5000")


@pytest.mark.parametrize("query", ["lat=26.68", "lng=106.63", "radius=100", "lat=26.68&radius=100"])
def test_half_a_point_is_a_missing_param(client: FlaskClient, town: Town, query: str) -> None:
    details = assert_cds_error(client.get(f"{BASE}/zones?{query}"), 400, "missing_param")["error_details"]
    assert set(details) <= {"lat", "lng"} and details


def test_three_of_the_four_box_parameters_are_a_missing_param(client: FlaskClient, town: Town) -> None:
    response = client.get(f"{BASE}/zones?min_lat=26.6&min_lng=106.6&max_lat=26.7")
    assert_cds_error(response, 400, "missing_param")


@pytest.mark.parametrize(
    "query",
    [
        "lat=north&lng=106.63",
        "lat=nan&lng=106.63",
        "lat=26.68&lng=inf",
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=106.64,26.68,106.62,26.69",
        "page=0",
        "page=two",
        "page_size=0",
        "page_size=2001",
    ],
)
def test_a_malformed_parameter_is_a_bad_param(client: FlaskClient, town: Town, query: str) -> None:
    assert_cds_error(client.get(f"{BASE}/zones?{query}"), 400, "bad_param")


def test_an_unknown_district_is_unknown_district(client: FlaskClient, town: Town) -> None:
    for what in ("zones", "spaces", "areas"):
        assert_cds_error(client.get(f"/cds/nowhere/curbs/{what}"), 404, "unknown_district")


# --- spaces ------------------------------------------------------------------------------


def test_spaces_list_every_bay_with_its_zone(client: FlaskClient, town: Town, clock: FixedClock) -> None:
    spaces = get_ok(client, f"{BASE}/spaces")["data"]["spaces"]
    assert [s["name"] for s in spaces] == [
        "T1-1",
        "T1-2",
        "T1-3",
        "T1-4",
        "T2-1",
        "T2-2",
        "T2-3",
        "T2-4",
        "F-1",
        "F-2",
    ]
    first = spaces[0]
    assert first["curb_zone_id"] == town.road_1.uuid
    assert first["space_number"] == 1
    assert first["availability_time"] == to_ms(clock.now())
    assert "available" not in first  # nothing reported yet


def test_spaces_of_one_zone(client: FlaskClient, town: Town) -> None:
    spaces = get_ok(client, f"{BASE}/spaces?zone={town.road_2.uuid}")["data"]["spaces"]
    assert [s["name"] for s in spaces] == ["T2-1", "T2-2", "T2-3", "T2-4"]
    assert {s["curb_zone_id"] for s in spaces} == {town.road_2.uuid}
    assert get_ok(client, f"{BASE}/spaces?zone={uuid.uuid4()}")["data"]["spaces"] == []


def test_each_space_says_whether_it_is_available(client: FlaskClient, town: Town, clock: FixedClock) -> None:
    t0 = clock.now() - timedelta(minutes=30)
    bays = town.small
    push_ok(
        client,
        town.small.stake_a,
        [
            cds_event(bays.stake_a, bays.bay("T1-1"), "park_start", t0, plate="贵A12345"),
            cds_event(bays.stake_a, bays.bay("T1-2"), "park_start", t0, plate="贵A54321"),
            cds_event(bays.stake_a, bays.bay("T1-2"), "park_end", t0 + timedelta(minutes=5)),
        ],
    )
    spaces = {s["name"]: s for s in get_ok(client, f"{BASE}/spaces")["data"]["spaces"]}
    assert spaces["T1-1"]["available"] is False
    assert spaces["T1-2"]["available"] is True
    assert spaces["T1-3"]["available"] is True  # no event yet, and its stake has reported
    assert "available" not in spaces["T2-1"]  # stake B has never reported
    assert [spaces[n]["custom_attributes"]["state"] for n in ("T1-1", "T1-2", "T1-3", "T2-1")] == [
        "occupied",
        "vacant",
        "vacant",
        "unknown",
    ]


def test_spaces_page_with_json_api_links(client: FlaskClient, town: Town) -> None:
    seen: list[str] = []
    url: str | None = f"{BASE}/spaces?page_size=4"
    pages = 0
    while url:
        body = get_ok(client, url)
        seen += [s["name"] for s in body["data"]["spaces"]]
        pages += 1
        assert parse_qs(urlsplit(body["links"]["last"]).query)["page"] == ["3"]
        url = body["links"].get("next")
    assert pages == 3
    assert len(seen) == len(set(seen)) == 10


@pytest.mark.parametrize("what", ["spaces", "zones"])
def test_a_huge_page_number_is_a_bad_param_or_an_empty_page_not_a_server_error(
    client: FlaskClient, town: Town, what: str
) -> None:
    response = client.get(f"{BASE}/{what}?page=99999999999999999999&page_size=10")
    if response.status_code == 400:
        assert response.get_json()["error"] == "bad_param"
    else:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["data"][what] == []


# --- areas -------------------------------------------------------------------------------


def test_areas_list_each_area_with_its_zones(client: FlaskClient, town: Town) -> None:
    areas = {a["name"]: a for a in get_ok(client, f"{BASE}/areas")["data"]["areas"]}
    assert set(areas) == {"Centre", "North"}
    assert areas["Centre"]["curb_area_id"] == town.centre.uuid
    assert sorted(areas["Centre"]["curb_zone_ids"]) == sorted([town.road_1.uuid, town.road_2.uuid])
    assert areas["North"]["curb_zone_ids"] == [town.far_road.uuid]
    assert areas["North"]["geometry"]["type"] == "Polygon"


# --- conformance -------------------------------------------------------------------------


def test_zones_validate_against_cds_1_1(client: FlaskClient, town: Town, tmp_path: Path) -> None:
    assert_valid_cds(get_ok(client, f"{BASE}/zones"), tmp_path)


def test_zones_near_a_point_validate_against_cds_1_1(client: FlaskClient, town: Town, tmp_path: Path) -> None:
    lat, lng = NEAR_ROAD_1
    assert_valid_cds(get_ok(client, f"{BASE}/zones?lat={lat}&lng={lng}&radius=5000"), tmp_path)


def test_spaces_validate_against_cds_1_1(
    client: FlaskClient, town: Town, clock: FixedClock, tmp_path: Path
) -> None:
    bays = town.small
    push_ok(
        client,
        town.small.stake_a,
        [cds_event(bays.stake_a, bays.bay("T1-1"), "park_start", clock.now(), plate="贵A12345")],
    )
    assert_valid_cds(get_ok(client, f"{BASE}/spaces"), tmp_path)


def test_areas_validate_against_cds_1_1(client: FlaskClient, town: Town, tmp_path: Path) -> None:
    assert_valid_cds(get_ok(client, f"{BASE}/areas"), tmp_path)


def test_the_checker_refuses_an_area_without_its_id(client: FlaskClient, town: Town) -> None:
    """The checker is not a rubber stamp."""
    body = get_ok(client, f"{BASE}/areas")
    del body["data"]["areas"][0]["curb_area_id"]

    assert envelope_errors(body) == ["areas[0] (curb_area) <root>: 'curb_area_id' is a required property"]
