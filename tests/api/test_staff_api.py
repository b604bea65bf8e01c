"""Staff and device reads: native stays and anomalies (problem+json errors), devices/me, and
the CDS events and device status read back by staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from sensors.devices import NewDevice
from tests.support.cds import assert_valid_cds
from tests.support.http import assert_problem, push_ok

STAYS = "/api/v1/testville/stays"
ANOMALIES = "/api/v1/testville/timeline/anomalies"


@dataclass
class Town:
    small: SmallDistrict
    tokens: dict[str, str]
    t0: datetime

    def auth(self, role: str = "warden") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def town(db: Session, clock: FixedClock) -> Town:
    small = build_small_district(db, clock.now())
    tokens = {
        role: issue_staff_token(db, small.district, role, f"{role} one", clock.now())[1]
        for role in ("admin", "bureau", "warden", "attendant", "police", "city")
    }
    db.commit()
    return Town(small, tokens, clock.now() - timedelta(hours=3))


@pytest.fixture
def day(client: FlaskClient, town: Town) -> Town:
    """Three stays and one odd event:
    - T1-1 贵A12345 from t0 to t0+40 min (camera, then POS plate);
    - T1-2 贵B67890 from t0+30 min, still parked;
    - T2-1 贵A12345 from t0+2 h to t0+2 h 30 min;
    - a park_end on vacant T1-3 at t0+10 min (an `end_on_vacant` anomaly)."""
    s, t0 = town.small, town.t0
    push_ok(
        client,
        s.stake_a,
        [
            cds_event(s.stake_a, s.bay("T1-1"), "park_start", t0, plate="贵A12346", confidence=40),
            cds_event(s.stake_a, s.bay("T1-1"), "park_end", t0 + timedelta(minutes=40)),
            cds_event(s.stake_a, s.bay("T1-2"), "park_start", t0 + timedelta(minutes=30), plate="贵B67890"),
            cds_event(s.stake_a, s.bay("T1-3"), "park_end", t0 + timedelta(minutes=10)),
        ],
    )
    push_ok(
        client,
        s.pos,
        [cds_event(s.pos, s.bay("T1-1"), "park_start", t0 + timedelta(minutes=1), plate="贵A12345")],
    )
    push_ok(
        client,
        s.stake_b,
        [
            cds_event(s.stake_b, s.bay("T2-1"), "park_start", t0 + timedelta(hours=2), plate="贵A12345"),
            cds_event(s.stake_b, s.bay("T2-1"), "park_end", t0 + timedelta(hours=2, minutes=30)),
        ],
    )
    return town


def stays(
    client: FlaskClient, town: Town, query: dict[str, str] | None = None, role: str = "warden"
) -> dict[str, Any]:
    response = client.get(STAYS, query_string=query or {}, headers=town.auth(role))
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def bays_of(body: dict[str, Any]) -> list[str]:
    return [s["bay"] for s in body["stays"]]


def iso(at: datetime, offset_hours: int = 8) -> str:
    return at.astimezone(timezone(timedelta(hours=offset_hours))).isoformat()


# --- stays -------------------------------------------------------------------------------


def test_stays_list_every_stay_oldest_first_with_a_total(client: FlaskClient, day: Town) -> None:
    body = stays(client, day)
    assert bays_of(body) == ["T1-1", "T1-2", "T2-1"]
    assert (body["total"], body["page"], body["page_size"]) == (3, 1, 100)
    first = body["stays"][0]
    assert first["plate"] == "贵A12345"
    assert first["plate_source"] == "in_person"
    assert first["road"] == "Jianshan Road"
    assert first["duration_seconds"] == 40 * 60
    assert first["ended_by"] == "event"
    assert datetime.fromisoformat(first["started_at"]) == day.t0
    assert len(first["event_ids"]) == 3
    assert first["sources"] == ["camera", "in_person"]


def test_every_staff_role_may_read_stays(client: FlaskClient, day: Town) -> None:
    for role in day.tokens:
        assert stays(client, day, role=role)["total"] == 3


def test_stays_of_one_road(client: FlaskClient, day: Town) -> None:
    assert bays_of(stays(client, day, {"road": "Zhaohui Road"})) == ["T2-1"]
    assert bays_of(stays(client, day, {"road": "Nowhere Road"})) == []


def test_stays_of_one_bay(client: FlaskClient, day: Town) -> None:
    assert bays_of(stays(client, day, {"bay": "T1-2"})) == ["T1-2"]


def test_stays_of_a_plate_are_found_however_it_is_typed(client: FlaskClient, day: Town) -> None:
    for typed in ("贵A12345", "贵a 12345", "贵a-12345"):
        body = stays(client, day, {"plate": typed})
        assert bays_of(body) == ["T1-1", "T2-1"], typed
        assert {s["plate"] for s in body["stays"]} == {"贵A12345"}


def test_a_camera_misread_replaced_by_the_attendant_is_not_found(client: FlaskClient, day: Town) -> None:
    assert stays(client, day, {"plate": "贵A12346"})["total"] == 0


def test_stays_since_a_time_are_those_not_ended_before_it(client: FlaskClient, day: Town) -> None:
    t0 = day.t0
    assert bays_of(stays(client, day, {"since": iso(t0 + timedelta(minutes=39))})) == ["T1-1", "T1-2", "T2-1"]
    assert bays_of(stays(client, day, {"since": iso(t0 + timedelta(minutes=40))})) == ["T1-2", "T2-1"]


def test_stays_until_a_time_are_those_started_before_it(client: FlaskClient, day: Town) -> None:
    t0 = day.t0
    assert bays_of(stays(client, day, {"until": iso(t0 + timedelta(minutes=30))})) == ["T1-1"]
    assert bays_of(stays(client, day, {"until": iso(t0 + timedelta(minutes=31))})) == ["T1-1", "T1-2"]


def test_since_and_until_in_utc_and_in_local_time_agree(client: FlaskClient, day: Town) -> None:
    t0 = day.t0
    window = (t0 + timedelta(minutes=45), t0 + timedelta(hours=2, minutes=1))
    local = stays(client, day, {"since": iso(window[0]), "until": iso(window[1])})
    utc = stays(client, day, {"since": iso(window[0], 0), "until": iso(window[1], 0)})
    zulu = stays(
        client, day, {"since": f"{window[0]:%Y-%m-%dT%H:%M:%S}Z", "until": f"{window[1]:%Y-%m-%dT%H:%M:%S}Z"}
    )
    assert bays_of(local) == bays_of(utc) == bays_of(zulu) == ["T1-2", "T2-1"]


def test_open_stays_are_those_still_parked(client: FlaskClient, day: Town) -> None:
    assert bays_of(stays(client, day, {"open": "true"})) == ["T1-2"]
    assert bays_of(stays(client, day, {"open": "false"})) == ["T1-1", "T2-1"]
    assert stays(client, day, {"open": "true"})["stays"][0]["ended_at"] is None


def test_filters_combine(client: FlaskClient, day: Town) -> None:
    assert bays_of(stays(client, day, {"plate": "贵A12345", "road": "Jianshan Road", "open": "false"})) == [
        "T1-1"
    ]


def test_stays_page(client: FlaskClient, day: Town) -> None:
    first = stays(client, day, {"page_size": "2"})
    second = stays(client, day, {"page_size": "2", "page": "2"})
    assert bays_of(first) == ["T1-1", "T1-2"]
    assert bays_of(second) == ["T2-1"]
    assert (second["total"], second["page"], second["page_size"]) == (3, 2, 2)
    assert stays(client, day, {"page": "9"})["stays"] == []


def test_a_time_without_its_offset_is_invalid_parameters_naming_it(client: FlaskClient, day: Town) -> None:
    response = client.get(f"{STAYS}?since=2026-03-02T08:00:00", headers=day.auth())
    body = assert_problem(response, 400, "invalid_parameters")
    assert any(e.startswith("since") for e in body["errors"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("until=yesterday", "until"),
        ("open=perhaps", "open"),
        ("page=0", "page"),
        ("page_size=1001", "page_size"),
        ("page_size=many", "page_size"),
        ("plate=A", "plate"),
    ],
)
def test_a_malformed_parameter_is_invalid_parameters_naming_it(
    client: FlaskClient, day: Town, query: str, field: str
) -> None:
    body = assert_problem(client.get(f"{STAYS}?{query}", headers=day.auth()), 400, "invalid_parameters")
    assert any(e.startswith(field) for e in body["errors"]), body


def test_since_after_until_is_invalid_parameters(client: FlaskClient, day: Town) -> None:
    response = client.get(
        f"{STAYS}?since=2026-03-02T10:00:00%2B08:00&until=2026-03-02T09:00:00%2B08:00", headers=day.auth()
    )
    assert_problem(response, 400, "invalid_parameters")


def test_every_bad_parameter_is_named_at_once(client: FlaskClient, day: Town) -> None:
    response = client.get(f"{STAYS}?since=2026-03-02T08:00:00&open=perhaps&page=0", headers=day.auth())
    body = assert_problem(response, 400, "invalid_parameters")
    assert sorted(e.split(":")[0] for e in body["errors"]) == ["open", "page", "since"]


def test_a_plate_filter_that_is_no_plate_is_a_problem_not_a_server_error(
    client: FlaskClient, day: Town
) -> None:
    response = client.get(f"{STAYS}?plate=<b>", headers=day.auth())
    assert_problem(response, 400, "invalid_plate")


def test_a_huge_page_of_stays_is_a_problem_or_empty_not_a_server_error(
    client: FlaskClient, day: Town
) -> None:
    response = client.get(f"{STAYS}?page=99999999999999999999", headers=day.auth())
    if response.status_code == 400:
        assert_problem(response, 400, "invalid_parameters")
    else:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["stays"] == []


def test_a_time_at_the_end_of_the_calendar_is_a_problem_not_a_server_error(
    client: FlaskClient, day: Town
) -> None:
    response = client.get(f"{STAYS}?until=9999-12-31T23:00:00-10:00", headers=day.auth())
    if response.status_code == 400:
        assert_problem(response, 400, "invalid_parameters")
    else:
        assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer nonsense", "Basic dXNlcjpwYXNz"],
    ids=["missing", "wrong", "basic"],
)
def test_stays_without_a_staff_token_are_unauthorized(
    client: FlaskClient, day: Town, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get(STAYS, headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_device_token_may_not_read_stays(client: FlaskClient, day: Town) -> None:
    response = client.get(STAYS, headers={"Authorization": f"Bearer {day.small.stake_a.token}"})
    assert_problem(response, 401, "unauthorized")


def test_a_staff_token_of_another_district_may_not_read_stays(
    client: FlaskClient, db: Session, day: Town, clock: FixedClock
) -> None:
    other = build_small_district(db, clock.now(), slug="otherville")
    _, token = issue_staff_token(db, other.district, "admin", "other admin", clock.now())
    db.commit()
    response = client.get(STAYS, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "unauthorized")
    assert (
        client.get("/api/v1/otherville/stays", headers={"Authorization": f"Bearer {token}"}).get_json()[
            "stays"
        ]
        == []
    )


def test_stays_of_an_unknown_district_are_a_404_problem(client: FlaskClient, day: Town) -> None:
    assert_problem(client.get("/api/v1/nowhere/stays", headers=day.auth()), 404, "unknown_district")


# --- anomalies ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "bureau"])
def test_admins_and_the_bureau_see_how_often_each_timeline_rule_applied(
    client: FlaskClient, day: Town, role: str
) -> None:
    response = client.get(ANOMALIES, headers=day.auth(role))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "anomalies": [
            {"kind": "end_on_vacant", "count": 1},
            {"kind": "start_on_occupied_same_vehicle", "count": 1},
        ]
    }


@pytest.mark.parametrize("role", ["warden", "attendant", "police", "city"])
def test_other_roles_may_not_see_anomalies(client: FlaskClient, day: Town, role: str) -> None:
    assert_problem(client.get(ANOMALIES, headers=day.auth(role)), 403, "forbidden")


def test_anomalies_without_a_token_are_unauthorized(client: FlaskClient, day: Town) -> None:
    response = client.get(ANOMALIES)
    assert_problem(response, 401, "unauthorized")
    assert "WWW-Authenticate" in response.headers


# --- devices/me --------------------------------------------------------------------------


def test_a_device_learns_who_it_is(client: FlaskClient, town: Town) -> None:
    stake = town.small.stake_a
    response = client.get("/api/v1/testville/devices/me", headers={"Authorization": f"Bearer {stake.token}"})
    assert response.status_code == 200
    assert response.get_json() == {
        "data_source_device_id": stake.device.uuid,
        "kind": "video_stake",
        "name": "STAKE-A",
        "online": True,
        "district": "testville",
        "time_zone": "Asia/Shanghai",
    }


def test_devices_me_follows_the_device_going_offline(
    client: FlaskClient, town: Town, clock: FixedClock
) -> None:
    pos = town.small.pos
    push_ok(client, pos, [cds_event(pos, town.small.bay("T1-1"), "comms_lost", clock.now())])
    body = client.get(
        "/api/v1/testville/devices/me", headers={"Authorization": f"Bearer {pos.token}"}
    ).get_json()
    assert (body["kind"], body["online"]) == ("handheld_pos", False)


@pytest.mark.parametrize("who", ["nobody", "wrong", "staff", "other-district"])
def test_devices_me_without_a_device_token_of_the_district_is_unauthorized(
    client: FlaskClient, db: Session, town: Town, clock: FixedClock, who: str
) -> None:
    other = build_small_district(db, clock.now(), slug="otherville")
    db.commit()
    token = {"wrong": "nonsense", "staff": town.tokens["admin"], "other-district": other.stake_a.token}.get(
        who
    )
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = client.get("/api/v1/testville/devices/me", headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert "WWW-Authenticate" in response.headers


# --- CDS events/events -------------------------------------------------------------------


def _recent(client: FlaskClient, town: Town, clock: FixedClock) -> list[dict[str, Any]]:
    """Four events in the last hour and one two hours ago."""
    s, now = town.small, clock.now()
    batch = [
        cds_event(
            s.stake_a,
            s.bay("T1-1"),
            "park_start",
            now - timedelta(minutes=50),
            plate="贵A12345",
            confidence=80,
        ),
        cds_event(s.stake_a, s.bay("T1-1"), "park_end", now - timedelta(minutes=20)),
        cds_event(s.stake_a, s.bay("T1-2"), "park_start", now - timedelta(minutes=10), plate="贵B12345"),
        cds_event(s.stake_a, s.bay("T1-3"), "scheduled_report", now, sensor_status_is_online=True),
        cds_event(s.stake_a, s.bay("T1-4"), "park_start", now - timedelta(hours=2), plate="贵C12345"),
    ]
    push_ok(client, s.stake_a, batch)
    return batch


def test_staff_read_the_events_of_the_last_hour_newest_first(
    client: FlaskClient, town: Town, clock: FixedClock, tmp_path: Path
) -> None:
    batch = _recent(client, town, clock)
    response = client.get("/cds/testville/events/events", headers=town.auth())
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["data"]["events"] == [batch[3], batch[2], batch[1], batch[0]]
    assert_valid_cds(body, tmp_path)


def test_staff_read_the_events_of_a_given_utc_hour(
    client: FlaskClient, town: Town, clock: FixedClock, tmp_path: Path
) -> None:
    batch = _recent(client, town, clock)
    hour = (clock.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H")
    body = client.get(f"/cds/testville/events/events?event_time={hour}", headers=town.auth()).get_json()
    assert body["data"]["events"] == [batch[4]]
    assert_valid_cds(body, tmp_path)


def test_events_at_one_space_zone_or_area(client: FlaskClient, town: Town, clock: FixedClock) -> None:
    batch = _recent(client, town, clock)
    s = town.small

    def ids(query: str) -> list[str]:
        body = client.get(f"/cds/testville/events/events?{query}", headers=town.auth()).get_json()
        return [e["event_id"] for e in body["data"]["events"]]

    assert ids(f"curb_space_id={s.bay('T1-1').uuid}") == [batch[1]["event_id"], batch[0]["event_id"]]
    assert len(ids(f"curb_zone_id={s.roads[0].uuid}")) == 4
    assert ids(f"curb_zone_id={s.roads[1].uuid}") == []
    assert len(ids(f"curb_area_id={_area_uuid(client)}")) == 4


def _area_uuid(client: FlaskClient) -> str:
    area: str = client.get("/cds/testville/curbs/areas").get_json()["data"]["areas"][0]["curb_area_id"]
    return area


def test_events_page_with_links(client: FlaskClient, town: Town, clock: FixedClock) -> None:
    batch = _recent(client, town, clock)
    first = client.get("/cds/testville/events/events?page_size=3", headers=town.auth()).get_json()
    assert [e["event_id"] for e in first["data"]["events"]] == [
        batch[3]["event_id"],
        batch[2]["event_id"],
        batch[1]["event_id"],
    ]
    assert "next" in first["links"]
    second = client.get(first["links"]["next"], headers=town.auth()).get_json()
    assert [e["event_id"] for e in second["data"]["events"]] == [batch[0]["event_id"]]


def test_a_huge_page_of_events_is_a_bad_param_or_empty_not_a_server_error(
    client: FlaskClient, town: Town
) -> None:
    response = client.get("/cds/testville/events/events?page=99999999999999999999", headers=town.auth())
    if response.status_code == 400:
        assert response.get_json()["error"] == "bad_param"
    else:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["data"]["events"] == []


def test_a_malformed_event_hour_is_a_bad_param(client: FlaskClient, town: Town) -> None:
    response = client.get("/cds/testville/events/events?event_time=2026-03-02", headers=town.auth())
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_param"


@pytest.mark.parametrize("path", ["events", "status"])
def test_events_and_status_need_a_staff_token(client: FlaskClient, town: Town, path: str) -> None:
    for headers in ({}, {"Authorization": f"Bearer {town.small.feed.token}"}, {"Authorization": "Bearer x"}):
        response = client.get(f"/cds/testville/events/{path}", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
        assert set(response.get_json()) == {"error", "error_description", "error_details"}
        assert "WWW-Authenticate" in response.headers


# --- CDS events/status -------------------------------------------------------------------


def test_status_lists_every_device_and_whether_it_is_online(
    client: FlaskClient, town: Town, clock: FixedClock, tmp_path: Path
) -> None:
    s = town.small
    push_ok(client, s.stake_b, [cds_event(s.stake_b, s.bay("T2-1"), "comms_lost", clock.now())])
    response = client.get("/cds/testville/events/status", headers=town.auth())
    assert response.status_code == 200
    body = response.get_json()
    status = {d["data_source_device_id"]: d for d in body["data"]["status"]}
    assert status == {
        s.stake_a.device.uuid: _status(s.stake_a, "camera", True),
        s.stake_b.device.uuid: _status(s.stake_b, "camera", False),
        s.pos.device.uuid: _status(s.pos, "in_person", True),
        s.feed.device.uuid: _status(s.feed, "data_feed", True),
    }
    assert_valid_cds(body, tmp_path)


def _status(device: NewDevice, source: str, online: bool) -> dict[str, Any]:
    return {
        "data_source_device_id": device.device.uuid,
        "data_source_type": source,
        "sensor_status_is_commissioned": True,
        "sensor_status_is_online": online,
    }


def test_status_at_one_space_lists_the_devices_watching_it(client: FlaskClient, town: Town) -> None:
    s = town.small

    def devices(query: str) -> set[str]:
        body = client.get(f"/cds/testville/events/status?{query}", headers=town.auth()).get_json()
        return {d["data_source_device_id"] for d in body["data"]["status"]}

    assert devices(f"curb_space_id={s.bay('T1-1').uuid}") == {
        s.stake_a.device.uuid,
        s.pos.device.uuid,
        s.feed.device.uuid,
    }
    assert devices(f"curb_space_id={s.bay('T2-3').uuid}") == {s.feed.device.uuid}
    assert devices(f"curb_zone_id={s.roads[1].uuid}") == {s.stake_b.device.uuid, s.feed.device.uuid}
