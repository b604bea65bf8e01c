"""Pricing advice over HTTP: the advice, the what-if, publishing; roles and bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from billing.models import TariffVersion
from billing.tariff import Tariff
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from tests.integration.test_pricing_advice import February, build_february
from tests.support.cds import assert_valid_cds
from tests.support.http import assert_problem, get_ok

API = "/api/v1/testville/pricing"


class Town:
    def __init__(self, february: February, tokens: dict[str, str]) -> None:
        self.february, self.tokens = february, tokens

    def auth(self, role: str = "bureau") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def town(db: Session, clock: FixedClock) -> Town:
    february = build_february(db, clock.now())
    district = february.small.district
    roles = ("admin", "bureau", "warden", "city")
    tokens = {r: issue_staff_token(db, district, r, r, clock.now())[1] for r in roles}
    db.commit()
    return Town(february, tokens)


def test_the_advice_of_last_month_per_road_and_band(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{API}/advice", **town.auth())
    assert (body["month"], body["currency"]) == ("2026-02", "CNY")
    assert body["rule"] == {
        "min_per_minute": 0,
        "max_per_minute": 40,
        "step_percent": 25,
        "raise_at_percent": 80.0,
        "lower_below_percent": 60.0,
        "hold_days": 30,
    }
    roads = {r["road"]: r for r in body["roads"]}
    busy = roads[town.february.busy]
    assert busy["changes"] and busy["held_until"] is None and busy["tariff_code"] == "standard"
    day = busy["bands"][0]
    assert {
        k: day[k] for k in ("band", "occupancy_percent", "hours_measured", "current_rate", "advised_rate")
    } == {
        "band": "日间",
        "occupancy_percent": 100.0,
        "hours_measured": 228,
        "current_rate": 8,
        "advised_rate": 10,
    }
    assert (day["action"], day["reason"], day["windows"]) == ("raise", "occupancy_high", [["08:00", "20:00"]])
    assert get_ok(client, f"{API}/advice?month=2026-02", **town.auth("admin")) == body


def test_the_what_if_states_its_assumption_and_the_revenue_change(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{API}/advice/what-if?month=2026-02", **town.auth())
    assert "unchanged demand" in body["assumption"]
    roads = {r["road"]: r for r in body["roads"]}
    quiet = roads[town.february.quiet]
    assert (quiet["stays"], quiet["at_current_tariff"], quiet["at_advised_tariff"], quiet["change"]) == (
        2,
        1440,
        1080,
        -360,
    )
    assert quiet["change_percent"] == -25.0
    assert body["total"]["change"] == 672 * 240 - 360
    assert body["total"]["stays"] == 674


@pytest.mark.parametrize("url", [f"{API}/advice", f"{API}/advice/what-if"])
def test_only_the_bureau_and_admins_read_advice(client: FlaskClient, town: Town, url: str) -> None:
    assert_problem(client.get(url), 401, "unauthorized")
    assert_problem(client.get(url, headers=town.auth("warden")), 403, "forbidden")
    assert_problem(client.get(url, headers=town.auth("city")), 403, "forbidden")


@pytest.mark.parametrize("month", ["2026-13", "2026-2", "february", "2026-02-01"])
def test_a_bad_month_is_refused(client: FlaskClient, town: Town, month: str) -> None:
    body = assert_problem(
        client.get(f"{API}/advice?month={month}", headers=town.auth()), 400, "invalid_parameters"
    )
    assert body["errors"][0].startswith("month")


def test_a_month_not_begun_is_refused(client: FlaskClient, town: Town) -> None:
    assert_problem(client.get(f"{API}/advice?month=2026-04", headers=town.auth()), 400, "month_in_future")
    assert_problem(
        client.get(f"{API}/advice/what-if?month=2026-04", headers=town.auth()), 400, "month_in_future"
    )


def test_unknown_district_is_404(client: FlaskClient, town: Town) -> None:
    assert_problem(client.get("/api/v1/nowhere/pricing/advice", headers=town.auth()), 404, "unknown_district")


def publish(client: FlaskClient, town: Town, body: Any, role: str = "admin") -> TestResponse:
    return client.post(f"{API}/advice/publish", json=body, headers=town.auth(role))


def test_publishing_creates_valid_versions_and_the_policies_stay_valid_cds(
    client: FlaskClient, town: Town, db: Session, clock: FixedClock, tmp_path: Path
) -> None:
    effective = (clock.now() + timedelta(days=1)).isoformat()
    response = publish(client, town, {"effective_from": effective, "month": "2026-02"})
    assert response.status_code == 201, response.get_data(as_text=True)
    published = response.get_json()["published"]
    busy = town.february.busy
    assert {(p["road"], p["tariff_code"], p["version"], p["forked_from"]) for p in published} == {
        (busy, f"standard-{busy[:8]}", 2, "standard"),
        (town.february.quiet, f"standard-{town.february.quiet[:8]}", 2, "standard"),
    }
    for p in published:
        row = db.scalar(select(TariffVersion).where(TariffVersion.uuid == p["tariff_version_id"]))
        assert row is not None
        Tariff(row.document, "Asia/Shanghai")
    policies = get_ok(client, "/cds/testville/curbs/policies")
    assert_valid_cds(policies, tmp_path)
    zones = get_ok(client, "/cds/testville/curbs/zones?include_geometry=false")["data"]["zones"]
    assert all(zone["curb_policy_ids"] for zone in zones)
    # once a month: the same advice cannot be published again
    again = publish(client, town, {"effective_from": (clock.now() + timedelta(days=2)).isoformat()}, "bureau")
    assert_problem(again, 409, "nothing_to_publish")


def test_publishing_one_road(client: FlaskClient, town: Town, clock: FixedClock) -> None:
    body = {"effective_from": (clock.now() + timedelta(days=1)).isoformat(), "roads": [town.february.quiet]}
    response = publish(client, town, body, "bureau")
    assert response.status_code == 201
    assert [p["road"] for p in response.get_json()["published"]] == [town.february.quiet]


def test_bad_publish_requests_are_refused_with_stable_codes(
    client: FlaskClient, town: Town, clock: FixedClock
) -> None:
    tomorrow = (clock.now() + timedelta(days=1)).isoformat()
    assert_problem(
        client.post(f"{API}/advice/publish", json={"effective_from": tomorrow}), 401, "unauthorized"
    )
    assert_problem(publish(client, town, {"effective_from": tomorrow}, "warden"), 403, "forbidden")
    assert_problem(
        client.post(f"{API}/advice/publish", data="nope", headers=town.auth("admin")), 400, "invalid_json"
    )
    missing = assert_problem(publish(client, town, {}), 400, "invalid_parameters")
    assert missing["errors"][0].startswith("effective_from")
    assert_problem(
        publish(client, town, {"effective_from": "2026-03-03T08:00:00"}), 400, "invalid_parameters"
    )
    assert_problem(
        publish(client, town, {"effective_from": tomorrow, "roads": []}), 400, "invalid_parameters"
    )
    assert_problem(
        publish(client, town, {"effective_from": tomorrow, "roads": ["nope"]}), 404, "unknown_road"
    )
    past = (clock.now() - timedelta(hours=1)).isoformat()
    assert_problem(publish(client, town, {"effective_from": past}), 409, "tariff_in_past")
    assert_problem(
        publish(client, town, {"effective_from": tomorrow, "month": "2027-01"}), 400, "month_in_future"
    )
