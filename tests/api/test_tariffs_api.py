"""Tariffs over HTTP: published as CDS 1.1 policies, published by staff, and quoted."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.models import TariffVersion
from fixtures.builders import SmallDistrict, build_small_district
from fixtures.demo import DEMO_SLUG, seed_demo
from fixtures.tariffs import CLEARWAY, STANDARD, publish_demo_tariffs
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from tests.support.cds import assert_valid_cds
from tests.support.http import get_ok

CURBS = "/cds/testville/curbs"
API = "/api/v1/testville"


class Town:
    def __init__(self, small: SmallDistrict, tokens: dict[str, str]) -> None:
        self.small, self.tokens = small, tokens
        self.core_road, self.clearway_road = small.roads


@pytest.fixture
def town(db: Session, clock: FixedClock) -> Town:
    """Road 1 is priced by the demo core tariff, road 2 by the one with an evening clearway."""
    small = build_small_district(db, clock.now())
    small.roads[0].tariff_code, small.roads[1].tariff_code = "core", "clearway"
    publish_demo_tariffs(db, small.district, clock.now())
    tokens = {r: issue_staff_token(db, small.district, r, r, clock.now())[1] for r in ("admin", "warden")}
    db.commit()
    return Town(small, tokens)


def versions(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(TariffVersion)) or 0


# -- CDS policies ------------------------------------------------------------------------------


def test_the_policies_of_the_demo_tariffs_are_valid_cds(
    client: FlaskClient, town: Town, tmp_path: Path
) -> None:
    body = get_ok(client, f"{CURBS}/policies")
    policies = body["data"]["policies"]
    # core: day and night; clearway: the clearway and four bands; standard: four bands
    assert len(policies) == 2 + 5 + 4
    assert len({p["curb_policy_id"] for p in policies}) == len(policies)
    assert_valid_cds(body, tmp_path)


def test_the_policies_of_the_seeded_demo_district_are_valid_cds_and_every_zone_names_them(
    client: FlaskClient, db: Session, clock: FixedClock, tmp_path: Path
) -> None:
    seed_demo(db, clock.now())
    db.commit()
    policies = get_ok(client, f"/cds/{DEMO_SLUG}/curbs/policies")
    assert_valid_cds(policies, tmp_path)
    listed = {p["curb_policy_id"] for p in policies["data"]["policies"]}
    zones = get_ok(client, f"/cds/{DEMO_SLUG}/curbs/zones?include_geometry=false")["data"]["zones"]
    assert len(zones) == 11
    for zone in zones:
        assert zone["curb_policy_ids"], zone["name"]
        assert set(zone["curb_policy_ids"]) <= listed


def test_policies_can_be_filtered_by_ids(client: FlaskClient, town: Town, tmp_path: Path) -> None:
    every = get_ok(client, f"{CURBS}/policies")["data"]["policies"]
    wanted = [every[0]["curb_policy_id"], every[3]["curb_policy_id"]]
    body = get_ok(client, f"{CURBS}/policies?ids={','.join(wanted)}")
    assert [p["curb_policy_id"] for p in body["data"]["policies"]] == wanted
    assert_valid_cds(body, tmp_path)


def test_one_policy_by_its_id(client: FlaskClient, town: Town, tmp_path: Path) -> None:
    first = get_ok(client, f"{CURBS}/policies")["data"]["policies"][0]
    body = get_ok(client, f"{CURBS}/policies/{first['curb_policy_id']}")
    assert body["data"] == first
    assert_valid_cds(body, tmp_path)


def test_an_unknown_policy_is_a_cds_404(client: FlaskClient, town: Town) -> None:
    response = client.get(f"{CURBS}/policies/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_the_zones_name_the_policies_of_their_roads_tariff(client: FlaskClient, town: Town) -> None:
    policies = get_ok(client, f"{CURBS}/policies")["data"]["policies"]
    names = {p["curb_policy_id"]: p["name"] for p in policies}
    zones = {z["name"]: z for z in get_ok(client, f"{CURBS}/zones")["data"]["zones"]}
    core = [names[i] for i in zones[town.core_road.name]["curb_policy_ids"]]
    clearway = [names[i] for i in zones[town.clearway_road.name]["curb_policy_ids"]]
    assert core == ["白云区核心路段: 日间", "白云区核心路段: 夜间"]
    assert clearway[0] == "白云区标准路段（晚高峰禁停）: 晚高峰禁停"
    assert len(clearway) == 5


# -- publishing --------------------------------------------------------------------------------


def post_tariff(
    client: FlaskClient,
    token: str | None,
    document: dict[str, Any],
    effective_from: str,
    code: str = "standard",
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"code": code, "effective_from": effective_from, "document": document}
    return client.post(f"{API}/tariffs", json=body, headers=headers)


def test_an_admin_publishes_a_new_version(client: FlaskClient, town: Town, db: Session) -> None:
    response = post_tariff(client, town.tokens["admin"], STANDARD, "2026-04-01T00:00:00+08:00")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["code"], body["version"], body["document"]["name"]) == ("standard", 2, STANDARD["name"])
    listed = client.get(f"{API}/tariffs").get_json()["tariffs"]
    assert [(t["code"], t["version"]) for t in listed if t["code"] == "standard"] == [
        ("standard", 1),
        ("standard", 2),
    ]


def test_publishing_needs_a_token(client: FlaskClient, town: Town, db: Session) -> None:
    response = post_tariff(client, None, STANDARD, "2026-04-01T00:00:00+08:00")
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"
    assert versions(db) == 3


def test_a_warden_may_not_publish_tariffs(client: FlaskClient, town: Town, db: Session) -> None:
    response = post_tariff(client, town.tokens["warden"], STANDARD, "2026-04-01T00:00:00+08:00")
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert versions(db) == 3


def with_night(windows: list[list[str]]) -> dict[str, Any]:
    document = copy.deepcopy(STANDARD)
    document["bands"][1]["windows"] = windows
    return document


@pytest.mark.parametrize(
    ("document", "code", "detail"),
    [
        (with_night([["00:00", "07:00"], ["20:00", "24:00"]]), "tariff_gap", "mon 07:00-08:00: no band"),
        (
            with_night([["00:00", "09:00"], ["20:00", "24:00"]]),
            "tariff_overlap",
            "mon 08:00-09:00: 夜间 and 日间",
        ),
        ({**STANDARD, "cap_per_day": 30.5}, "invalid_tariff", "cap_per_day: an amount is a whole"),
        ({**STANDARD, "colour": "red"}, "invalid_tariff", "unknown fields: colour"),
        ({**STANDARD, "cap_per_day": 2**70}, "invalid_tariff", "cap_per_day: beyond 64 bits"),  # was a 500
    ],
)
def test_a_tariff_that_is_not_valid_is_refused_whole_and_nothing_is_written(
    client: FlaskClient, town: Town, db: Session, document: dict[str, Any], code: str, detail: str
) -> None:
    response = post_tariff(client, town.tokens["admin"], document, "2026-04-01T00:00:00+08:00")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == code
    assert any(e.startswith(detail) for e in problem["errors"]), problem["errors"]
    assert versions(db) == 3


def test_a_new_version_may_not_take_effect_in_the_past(client: FlaskClient, town: Town, db: Session) -> None:
    response = post_tariff(client, town.tokens["admin"], STANDARD, "2026-03-02T09:59:00+08:00")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "tariff_in_past"
    assert versions(db) == 3


def test_a_first_version_may_not_take_effect_before_2000(
    client: FlaskClient, town: Town, db: Session
) -> None:
    response = post_tariff(client, town.tokens["admin"], STANDARD, "0001-01-01T00:00:00+00:00", code="new")
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_tariff"
    assert response.get_json()["errors"] == ["effective_from"]
    assert versions(db) == 3


# -- quotes ------------------------------------------------------------------------------------


def quote(client: FlaskClient, **params: Any) -> Any:
    return client.get(f"{API}/quote", query_string=params)


def test_a_quote_gives_the_fee_and_its_breakdown(client: FlaskClient, town: Town) -> None:
    response = quote(client, road=town.core_road.uuid, arrival="2026-03-02T10:00:00+08:00", minutes=91)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # free until 10:15; 10:15, 10:30, 10:45 at 150 (first hour); 11:00 and 11:30 at 600
    assert (body["amount"], body["currency"], body["band_at_arrival"]) == (1650, "CNY", "日间")
    assert (body["exceeds_max_stay"], body["max_stay_minutes"], body["restriction_at_arrival"]) == (
        False,
        240,
        None,
    )
    lines = [(x["band"], x["tier"], x["increments"], x["amount"]) for x in body["breakdown"]["lines"]]
    assert lines == [("日间", 0, 3, 450), ("日间", 1, 2, 1200)]
    assert (body["breakdown"]["tariff"], body["breakdown"]["version"], body["breakdown"]["gross"]) == (
        "core",
        1,
        1650,
    )


def test_a_quote_for_an_electric_vehicle_halves_the_fee(client: FlaskClient, town: Town) -> None:
    body = quote(
        client,
        road=town.core_road.uuid,
        arrival="2026-03-02T10:00:00+08:00",
        minutes=91,
        vehicle_class="electric",
    ).get_json()
    assert (body["amount"], body["breakdown"]["percent"], body["breakdown"]["vehicle_class"]) == (
        825,
        50,
        "electric",
    )


def test_a_quote_says_when_the_stay_would_exceed_the_maximum(client: FlaskClient, town: Town) -> None:
    body = quote(
        client, road=town.core_road.uuid, arrival="2026-03-02T10:00:00+08:00", minutes=241
    ).get_json()
    assert body["exceeds_max_stay"] is True


def test_a_quote_names_the_restriction_in_force_at_arrival(client: FlaskClient, town: Town) -> None:
    road = town.clearway_road.uuid
    body = quote(client, road=road, arrival="2026-03-02T17:30:00+08:00", minutes=30).get_json()
    assert body["restriction_at_arrival"] == "晚高峰禁停"
    saturday = quote(client, road=road, arrival="2026-03-07T17:30:00+08:00", minutes=30).get_json()
    assert saturday["restriction_at_arrival"] is None


def test_a_quote_for_an_unknown_road_is_404(client: FlaskClient, town: Town) -> None:
    response = quote(client, road="no-such-road", arrival="2026-03-02T10:00:00+08:00", minutes=30)
    assert response.status_code == 404
    assert response.get_json()["code"] == "unknown_road"


@pytest.mark.parametrize(
    "params",
    [
        {"minutes": 0},
        {"minutes": "ten"},
        {"arrival": "2026-03-02T10:00:00"},  # naive
        {"arrival": "yesterday"},
        {"road": None},
    ],
)
def test_a_quote_with_bad_parameters_is_400(client: FlaskClient, town: Town, params: dict[str, Any]) -> None:
    query = {"road": town.core_road.uuid, "arrival": "2026-03-02T10:00:00+08:00", "minutes": 30, **params}
    response = quote(client, **{k: v for k, v in query.items() if v is not None})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "invalid_parameters"


def test_a_quote_for_an_unknown_vehicle_class_is_400(client: FlaskClient, town: Town) -> None:
    response = quote(
        client,
        road=town.core_road.uuid,
        arrival="2026-03-02T10:00:00+08:00",
        minutes=30,
        vehicle_class="lorry",
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "unknown_vehicle_class"


def test_a_quote_before_any_tariff_is_in_force_is_404(client: FlaskClient, town: Town) -> None:
    response = quote(client, road=town.core_road.uuid, arrival="2025-12-31T10:00:00+08:00", minutes=30)
    assert response.status_code == 404
    assert response.get_json()["code"] == "no_tariff"


def test_a_quote_uses_the_version_in_force_at_arrival(
    client: FlaskClient, town: Town, clock: FixedClock
) -> None:
    cheaper = {**copy.deepcopy(STANDARD), "free_minutes": 60}
    later = (clock.now() + timedelta(days=1)).isoformat()
    assert post_tariff(client, town.tokens["admin"], cheaper, later, code="clearway").status_code == 201
    road = town.clearway_road.uuid
    before = quote(client, road=road, arrival="2026-03-02T12:00:00+08:00", minutes=60).get_json()
    after = quote(client, road=road, arrival="2026-03-03T12:00:00+08:00", minutes=60).get_json()
    assert (before["amount"], before["breakdown"]["version"]) == (480, 1)
    assert (after["amount"], after["breakdown"]["version"]) == (0, 2)


def test_the_policies_maximum_fee_is_what_a_capped_stay_of_the_class_pays(
    client: FlaskClient, town: Town, clock: FixedClock
) -> None:
    capped = {**copy.deepcopy(CLEARWAY), "cap_per_stay": 3001}
    starts = clock.now() + timedelta(hours=1)
    assert (
        post_tariff(client, town.tokens["admin"], capped, starts.isoformat(), code="clearway").status_code
        == 201
    )
    policies = get_ok(client, f"{CURBS}/policies")["data"]["policies"]
    caps = {
        (rule.get("user_classes") or ["anyone"])[0]: {
            rate["maximum_fee"] for rate in rule["rate"] if "maximum_fee" in rate
        }
        for policy in policies
        for rule in policy["rules"]
        if rule.get("rate") and any("maximum_fee" in rate for rate in rule["rate"])
    }
    assert caps == {"electric": {1501}, "anyone": {3001}}
    arrival = (starts + timedelta(hours=1)).isoformat()
    three_days = 3 * 24 * 60
    electric = quote(
        client, road=town.clearway_road.uuid, arrival=arrival, minutes=three_days, vehicle_class="electric"
    ).get_json()
    anyone = quote(client, road=town.clearway_road.uuid, arrival=arrival, minutes=three_days).get_json()
    assert (electric["amount"], anyone["amount"]) == (1501, 3001)
