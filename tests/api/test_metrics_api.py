"""CDS Metrics API: sessions and hourly aggregates as CSV, their filters, roles, errors and
conformance (the methodology is docs/METRICS.md)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock, to_ms
from parking.models import Area
from tests.support.cds import assert_valid_cds_file
from tests.support.http import push_ok

AGGREGATES = "/cds/testville/metrics/aggregates"
SESSIONS = "/cds/testville/metrics/sessions"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def yesterday(hour: int, minute: int = 0) -> datetime:
    """A time of 2026-03-01 in Testville; the test clock stands at 2026-03-02 10:00 there."""
    return datetime(2026, 3, 1, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Town:
    small: SmallDistrict
    tokens: dict[str, str]
    area_id: str

    def auth(self, role: str = "bureau") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def town(db: Session, clock: FixedClock, client: FlaskClient) -> Town:
    """Yesterday in Testville:
    - T1-1 from 08:40 to 10:10 and T1-2 from 09:00 to 09:30 (stake A, road 1);
    - T2-1 from 14:00 to 15:00 (stake B, road 2);
    - the data feed and stake A lost from 12:00 to 13:50, so road 1 was unwatched then.
    The other bays never reported: they are out of service."""
    small = build_small_district(db, clock.now())
    tokens = {
        role: issue_staff_token(db, small.district, role, f"{role} one", clock.now())[1]
        for role in ("admin", "bureau", "city", "warden", "attendant", "police")
    }
    area = db.get(Area, small.roads[0].area_id)
    assert area is not None
    db.commit()
    a, b, feed = small.stake_a, small.stake_b, small.feed
    t1, t2 = small.bay("T1-1"), small.bay("T1-2")
    push_ok(
        client,
        a,
        [
            cds_event(a, t1, "park_start", yesterday(8, 40)),
            cds_event(a, t2, "park_start", yesterday(9, 0)),
            cds_event(a, t2, "park_end", yesterday(9, 30)),
            cds_event(a, t1, "park_end", yesterday(10, 10)),
            cds_event(a, t1, "comms_lost", yesterday(12, 0)),
            cds_event(a, t1, "comms_restored", yesterday(13, 50)),
        ],
    )
    push_ok(
        client,
        feed,
        [
            cds_event(feed, t1, "comms_lost", yesterday(12, 0)),
            cds_event(feed, t1, "comms_restored", yesterday(13, 50)),
        ],
    )
    t3 = small.bay("T2-1")
    push_ok(
        client,
        b,
        [cds_event(b, t3, "park_start", yesterday(14, 0)), cds_event(b, t3, "park_end", yesterday(15, 0))],
    )
    return Town(small, tokens, area.uuid)


def get(client: FlaskClient, url: str, town: Town, role: str = "bureau", **query: Any) -> TestResponse:
    return client.get(url, query_string=query, headers=town.auth(role))


def rows(response: TestResponse) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(response.get_data(as_text=True).splitlines()))


def values(response: TestResponse) -> dict[tuple[str, str, str, int], float]:
    return {
        (r["curb_place_type"], r["curb_place_id"], r["metric_type"], int(r["hour"])): float(r["value"])
        for r in rows(response)
    }


def assert_valid_cds_csv(response: TestResponse, tmp_path: Path, name: str) -> None:
    file = tmp_path / name
    file.write_bytes(response.get_data())
    assert_valid_cds_file(file)


def test_aggregates_of_yesterday_follow_the_methodology(client: FlaskClient, town: Town) -> None:
    response = get(client, AGGREGATES, town)

    assert response.mimetype == "text/csv"
    out = values(response)
    t1, t2 = town.small.bay("T1-1").uuid, town.small.bay("T1-2").uuid
    road_1 = town.small.roads[0].uuid
    assert [out["space", t1, "occupancy_percent", h] for h in (8, 9, 10, 11)] == [33.33, 100, 16.67, 0]
    assert out["space", t1, "average_dwell_time", 8] == 90
    assert out["space", t2, "average_dwell_time", 9] == 30
    # Road 1 counts its two bays that ever reported: 20 + 90 of 120 bay-minutes at 8 and 9.
    assert out["zone", road_1, "occupancy_percent", 8] == 16.67
    assert out["zone", road_1, "occupancy_percent", 9] == 75
    assert out["zone", road_1, "total_sessions", 9] == 1
    assert out["zone", road_1, "turnover", 9] == 0.5
    assert out["area", town.area_id, "turnover", 14] == 0.3333
    assert {r[3] for r in out} == set(range(24))


def test_an_hour_the_devices_were_offline_for_most_of_is_minus_one(client: FlaskClient, town: Town) -> None:
    out = values(get(client, AGGREGATES, town))

    t1, t3 = town.small.bay("T1-1").uuid, town.small.bay("T2-1").uuid
    road_1 = town.small.roads[0].uuid
    for hour in (12, 13):  # offline 60 and 50 minutes of the hour
        assert out["space", t1, "occupancy_percent", hour] == -1
        assert out["zone", road_1, "total_sessions", hour] == -1
        assert out["space", t3, "occupancy_percent", hour] == 0  # stake B watched it
    assert out["space", t1, "occupancy_percent", 14] == 0
    never_reported = town.small.bay("T1-3").uuid
    assert out["space", never_reported, "occupancy_percent", 9] == -1


def test_aggregates_and_sessions_pass_the_cds_checker(
    client: FlaskClient, town: Town, tmp_path: Path
) -> None:
    assert_valid_cds_csv(get(client, AGGREGATES, town), tmp_path, "aggregates.csv")
    assert_valid_cds_csv(get(client, SESSIONS, town), tmp_path, "sessions.csv")


def test_the_cds_csv_media_type_is_answered_when_asked_for(client: FlaskClient, town: Town) -> None:
    response = client.get(
        AGGREGATES, headers={**town.auth(), "Accept": "application/vnd.cds+csv;version=1.1"}
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.cds+csv;version=1.1")


def test_a_place_filter_gives_the_place_and_the_places_inside_it(client: FlaskClient, town: Town) -> None:
    road_1 = town.small.roads[0].uuid
    zone_rows = rows(get(client, AGGREGATES, town, curb_place_type="zone", curb_place_id=road_1))
    area_only = rows(get(client, AGGREGATES, town, curb_place_type="area"))

    assert {(r["curb_place_type"], r["curb_place_id"]) for r in zone_rows} == {("zone", road_1)} | {
        ("space", b.uuid) for b in town.small.roads[0].bays
    }
    assert {(r["curb_place_type"], r["curb_place_id"]) for r in area_only} == {("area", town.area_id)}


def test_metric_type_and_the_time_range_narrow_the_rows(client: FlaskClient, town: Town) -> None:
    response = get(
        client,
        AGGREGATES,
        town,
        metric_type="turnover,occupancy_percent",
        start_time=to_ms(yesterday(9, 30)),
        end_time=to_ms(yesterday(11)),
    )

    got = rows(response)
    assert {r["metric_type"] for r in got} == {"turnover", "occupancy_percent"}
    assert {(r["date"], r["hour"]) for r in got} == {("2026-03-01", "9"), ("2026-03-01", "10")}


def test_sessions_are_the_stays_that_started_in_the_range_without_plates(
    client: FlaskClient, town: Town
) -> None:
    got = rows(get(client, SESSIONS, town))
    road_2 = rows(get(client, SESSIONS, town, curb_place_type="zone", curb_place_id=town.small.roads[1].uuid))

    assert [(r["curb_space_id"], int(r["event_time_start"]), int(r["event_time_end"])) for r in got] == [
        (town.small.bay("T1-1").uuid, to_ms(yesterday(8, 40)), to_ms(yesterday(10, 10))),
        (town.small.bay("T1-2").uuid, to_ms(yesterday(9)), to_ms(yesterday(9, 30))),
        (town.small.bay("T2-1").uuid, to_ms(yesterday(14)), to_ms(yesterday(15))),
    ]
    assert all(r["session_type"] == "parking" and r["event_id_start"] for r in got)
    assert not any("plate" in column for column in got[0])
    assert [r["curb_space_id"] for r in road_2] == [town.small.bay("T2-1").uuid]


@pytest.mark.parametrize("role", ["admin", "bureau", "city"])
def test_admin_bureau_and_city_may_read_metrics(client: FlaskClient, town: Town, role: str) -> None:
    assert get(client, AGGREGATES, town, role).status_code == 200
    assert get(client, SESSIONS, town, role).status_code == 200


@pytest.mark.parametrize("role", ["warden", "attendant", "police"])
def test_field_roles_may_not_read_metrics(client: FlaskClient, town: Town, role: str) -> None:
    response = get(client, AGGREGATES, town, role)

    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_metrics_without_a_token_are_unauthorized(client: FlaskClient, town: Town) -> None:
    response = client.get(SESSIONS)

    assert response.status_code == 401
    assert set(response.get_json()) == {"error", "error_description", "error_details"}


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ({"start_time": "yesterday"}, 400, "bad_param", "start_time"),
        ({"end_time": "1"}, 400, "bad_param", "end_time"),
        ({"start_time": "1772294400000", "end_time": "1772290800000"}, 400, "bad_time_range", "end_time"),
        (
            {"start_time": "1769000000000", "end_time": "1772380800000"},
            400,
            "time_range_too_long",
            "end_time",
        ),
        ({"metric_type": "total_events"}, 400, "unsupported_metric", "metric_type"),
        ({"metric_type": "revenue"}, 400, "bad_param", "metric_type"),
        ({"curb_place_type": "object"}, 400, "bad_param", "curb_place_type"),
        ({"curb_place_id": "5b0a0d8e-3f4e-4c61-9d5e-2f9b1c7a8e10"}, 400, "bad_param", "curb_place_type"),
        ({"curb_place_type": "zone", "curb_place_id": "road-1"}, 400, "bad_param", "curb_place_id"),
        (
            {"curb_place_type": "zone", "curb_place_id": "5b0a0d8e-3f4e-4c61-9d5e-2f9b1c7a8e10"},
            404,
            "unknown_curb_place",
            "curb_place_id",
        ),
        ({"lat": "26.68", "lng": "106.63", "radius": "100"}, 400, "unsupported_param", "lat"),
    ],
)
def test_bad_parameters_answer_the_cds_error_shape_with_a_stable_code(
    client: FlaskClient, town: Town, query: dict[str, str], status: int, code: str, field: str
) -> None:
    for url in (AGGREGATES, SESSIONS):
        response = get(client, url, town, **query)
        if url == SESSIONS and "metric_type" in query:  # sessions have no metric
            continue
        assert response.status_code == status, (url, response.get_data(as_text=True))
        body = response.get_json()
        assert body["error"] == code
        assert field in body["error_details"]


def test_json_is_not_acceptable(client: FlaskClient, town: Town) -> None:
    response = client.get(AGGREGATES, headers={**town.auth(), "Accept": "application/json"})

    assert response.status_code == 406
    assert response.get_json()["error"] == "not_acceptable"


def test_hours_not_yet_over_are_not_reported(client: FlaskClient, town: Town, clock: FixedClock) -> None:
    today = datetime(2026, 3, 2, tzinfo=SHANGHAI)
    response = get(
        client, AGGREGATES, town, start_time=to_ms(today), end_time=to_ms(today + timedelta(days=1))
    )

    assert {int(r["hour"]) for r in rows(response)} == set(range(10))  # the clock reads 10:00
