"""POST /cds/<district>/events/event: each refused item, and each refused request."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock, to_ms
from sensors.log import logged_payloads
from sensors.models import CurbEvent, Device
from tests.support.http import assert_cds_error, push

PUSH = "/cds/testville/events/event"


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    built = build_small_district(db, clock.now())
    db.commit()
    return built


def stored_event_ids(db: Session) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(CurbEvent.event_id)))


def one_failure(response: TestResponse, total: int = 1) -> dict[str, Any]:
    """The single failure of a batch whose other items all applied."""
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == total
    assert body["success"] == total - 1
    assert len(body["failures"]) == 1, body
    failure: dict[str, Any] = body["failures"][0]
    assert set(failure) == {"item", "error", "error_description", "error_details"}
    assert isinstance(failure["error_description"], str) and failure["error_description"]
    return failure


def canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def earlier(clock: FixedClock, minutes: int) -> datetime:
    return clock.now() - timedelta(minutes=minutes)


# --- per-item failures -------------------------------------------------------------------


def test_an_item_that_is_not_an_object_is_an_invalid_event(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    good = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30), plate="贵A12345")
    failure = one_failure(push(client, town.stake_a, [good, 42]), total=2)
    assert failure["error"] == "invalid_event"
    assert failure["item"] == 42


def test_an_item_without_event_time_is_a_missing_field_naming_it(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    del event["event_time"]
    failure = one_failure(push(client, town.stake_a, [event]))
    assert failure["error"] == "missing_field"
    assert failure["error_details"] == ["event_time"]
    assert failure["item"] == event


def test_a_park_start_without_curb_space_id_is_a_missing_field(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    del event["curb_space_id"]
    failure = one_failure(push(client, town.stake_a, [event]))
    assert failure["error"] == "missing_field"
    assert failure["error_details"] == ["curb_space_id"]


def test_fields_of_the_wrong_type_are_one_invalid_field_failure_naming_each(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(
        town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30), plate="贵A12345", confidence=101
    )
    event["event_id"] = "not-a-uuid"
    event["event_publication_time"] = "yesterday"
    failure = one_failure(push(client, town.stake_a, [event]))
    assert failure["error"] == "invalid_field"
    assert sorted(failure["error_details"]) == [
        "event_id",
        "event_publication_time",
        "vehicle_license_plate_confidence",
    ]


def test_an_event_type_that_is_not_a_string_is_an_invalid_field_not_a_server_error(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    good = cds_event(town.stake_a, town.bay("T1-2"), "park_start", earlier(clock, 30), plate="贵A12345")
    bad = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    bad["event_type"] = ["park_start"]
    failure = one_failure(push(client, town.stake_a, [good, bad]), total=2)
    assert failure["error"] == "invalid_field"
    assert "event_type" in failure["error_details"]


def test_an_event_time_beyond_the_calendar_is_one_refused_item_not_a_server_error(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    good = cds_event(town.stake_a, town.bay("T1-2"), "park_start", earlier(clock, 30), plate="贵A12345")
    bad = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    bad["event_time"] = 10**17  # a valid 64-bit integer, but about the year 3,170,000
    failure = one_failure(push(client, town.stake_a, [good, bad]), total=2)
    assert failure["error"] in ("invalid_field", "event_in_future")
    assert failure["error_details"] == ["event_time"]


def test_an_event_type_devices_may_not_push_is_unsupported(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "citation_issued", earlier(clock, 30))
    failure = one_failure(push(client, town.stake_a, [event]))
    assert failure["error"] == "unsupported_event_type"
    assert failure["error_details"] == ["event_type"]


def test_a_plate_that_is_no_plate_is_an_invalid_plate(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30), plate="<script>")
    failure = one_failure(push(client, town.stake_a, [event]))
    assert failure["error"] == "invalid_plate"
    assert failure["error_details"] == ["vehicle_license_plate"]


def test_an_event_in_another_devices_name_is_a_device_mismatch(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.stake_b, town.bay("T1-1"), "park_start", earlier(clock, 30))
    failure = one_failure(push(client, town.stake_a, [event]))
    assert failure["error"] == "device_mismatch"
    assert failure["error_details"] == ["data_source_device_id"]


def test_an_event_121_seconds_ahead_is_in_the_future_but_119_seconds_is_fine(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    fine = cds_event(town.stake_a, town.bay("T1-1"), "park_start", clock.now() + timedelta(seconds=119))
    ahead = cds_event(town.stake_a, town.bay("T1-2"), "park_start", clock.now() + timedelta(seconds=121))
    failure = one_failure(push(client, town.stake_a, [fine, ahead]), total=2)
    assert failure["error"] == "event_in_future"
    assert failure["error_details"] == ["event_time"]
    assert failure["item"] == ahead
    assert stored_event_ids(db) == {fine["event_id"]}


def test_an_event_older_than_the_max_age_is_too_old_but_one_just_inside_is_fine(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    # a plateless park_start ten days back would stretch the next plated stay over them (M5)
    fine = cds_event(town.stake_a, town.bay("T1-1"), "park_start", clock.now() - timedelta(hours=47))
    late = cds_event(town.stake_a, town.bay("T1-2"), "park_start", clock.now() - timedelta(days=10))
    failure = one_failure(push(client, town.stake_a, [fine, late]), total=2)
    assert failure["error"] == "event_too_old"
    assert failure["error_details"] == ["event_time"]
    assert failure["item"] == late
    assert stored_event_ids(db) == {fine["event_id"]}


def test_a_curb_space_id_no_bay_has_is_an_unknown_bay(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.feed, town.bay("T1-1"), "park_start", earlier(clock, 30))
    event["curb_space_id"] = str(uuid.uuid4())
    failure = one_failure(push(client, town.feed, [event]))
    assert failure["error"] == "unknown_bay"
    assert failure["error_details"] == ["curb_space_id"]


def test_a_bay_of_another_district_is_an_unknown_bay(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    other = build_small_district(db, clock.now(), slug="otherville")
    db.commit()
    event = cds_event(town.feed, other.bay("T1-1"), "park_start", earlier(clock, 30))
    failure = one_failure(push(client, town.feed, [event]))
    assert failure["error"] == "unknown_bay"


def test_a_bay_named_with_the_wrong_curb_zone_is_a_zone_mismatch(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(
        town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30), curb_zone_id=town.roads[1].uuid
    )
    failure = one_failure(push(client, town.stake_a, [event]))
    assert failure["error"] == "zone_mismatch"
    assert failure["error_details"] == ["curb_zone_id"]


def test_the_right_curb_zone_is_accepted(client: FlaskClient, town: SmallDistrict, clock: FixedClock) -> None:
    event = cds_event(
        town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30), curb_zone_id=town.roads[0].uuid
    )
    assert push(client, town.stake_a, [event]).get_json() == {"success": 1, "total": 1, "failures": []}


def test_a_stake_may_not_report_a_bay_it_does_not_cover(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.stake_b, town.bay("T2-3"), "park_start", earlier(clock, 30))
    failure = one_failure(push(client, town.stake_b, [event]))
    assert failure["error"] == "bay_not_covered"
    assert failure["error_details"] == ["curb_space_id"]


def test_a_pos_may_report_only_the_bays_of_its_beat(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    on_beat = cds_event(town.pos, town.bay("T1-4"), "park_start", earlier(clock, 30), plate="贵A12345")
    off_beat = cds_event(town.pos, town.bay("T2-1"), "park_start", earlier(clock, 30), plate="贵A54321")
    failure = one_failure(push(client, town.pos, [on_beat, off_beat]), total=2)
    assert failure["error"] == "bay_not_covered"
    assert failure["item"] == off_beat


def test_a_data_feed_may_report_every_bay(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    batch = [cds_event(town.feed, bay, "park_start", earlier(clock, 30)) for bay in town.bays]
    assert push(client, town.feed, batch).get_json() == {"success": 8, "total": 8, "failures": []}


def test_the_same_event_id_with_other_content_in_one_batch_is_a_conflict(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    first = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30), plate="贵A12345")
    other = {**first, "vehicle_license_plate": "贵A99999"}
    failure = one_failure(push(client, town.stake_a, [first, other]), total=2)
    assert failure["error"] == "event_id_conflict"
    assert failure["error_details"] == ["event_id"]
    assert failure["item"] == other


def test_the_same_event_id_with_other_content_in_a_later_batch_is_a_conflict(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    first = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30), plate="贵A12345")
    push(client, town.stake_a, [first])
    other = {**first, "event_time": first["event_time"] + 1000}
    failure = one_failure(push(client, town.stake_a, [other]))
    assert failure["error"] == "event_id_conflict"
    db.expire_all()
    assert list(logged_payloads(db).values()) == [first]


def test_a_park_end_before_its_park_start_in_the_same_batch_is_refused(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    session_id = str(uuid.uuid4())
    bay = town.bay("T1-1")
    start = cds_event(town.stake_a, bay, "park_start", earlier(clock, 30), session_id=session_id)
    end = cds_event(town.stake_a, bay, "park_end", earlier(clock, 35), session_id=session_id)
    failure = one_failure(push(client, town.stake_a, [end, start]), total=2)
    assert failure["error"] == "end_before_start"
    assert failure["item"] == end
    assert "event_time" in failure["error_details"]


def test_a_park_end_before_the_park_start_of_an_earlier_batch_is_refused(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    session_id = str(uuid.uuid4())
    bay = town.bay("T1-1")
    start = cds_event(town.stake_a, bay, "park_start", earlier(clock, 30), session_id=session_id)
    assert push(client, town.stake_a, [start]).get_json()["success"] == 1
    end = cds_event(town.pos, bay, "park_end", earlier(clock, 31), session_id=session_id)
    failure = one_failure(push(client, town.pos, [end]))
    assert failure["error"] == "end_before_start"


def test_a_park_end_after_its_park_start_is_fine(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    session_id = str(uuid.uuid4())
    bay = town.bay("T1-1")
    start = cds_event(town.stake_a, bay, "park_start", earlier(clock, 30), session_id=session_id)
    end = cds_event(town.stake_a, bay, "park_end", earlier(clock, 10), session_id=session_id)
    assert push(client, town.stake_a, [start, end]).get_json() == {"success": 2, "total": 2, "failures": []}


def test_the_rest_of_the_batch_still_applies_around_bad_items(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    bay = town.bay("T1-1")
    good = [
        cds_event(town.stake_a, bay, "park_start", earlier(clock, 50), plate="贵A12345", confidence=90),
        cds_event(town.stake_a, town.bay("T1-2"), "park_start", earlier(clock, 40), plate="贵B12345"),
        cds_event(town.stake_a, bay, "park_end", earlier(clock, 20)),
    ]
    bad = [
        "nonsense",
        cds_event(town.stake_a, town.bay("T2-1"), "park_start", earlier(clock, 45)),  # not covered
        cds_event(town.stake_a, bay, "park_start", clock.now() + timedelta(minutes=10)),  # future
        {**cds_event(town.stake_a, bay, "park_end", earlier(clock, 30)), "event_id": "x"},  # invalid
    ]
    batch = [good[0], bad[0], good[1], bad[1], bad[2], good[2], bad[3]]
    response = push(client, town.stake_a, batch)
    body = response.get_json()
    assert (body["success"], body["total"]) == (3, 7)
    assert sorted(f["error"] for f in body["failures"]) == sorted(
        ["invalid_event", "bay_not_covered", "event_in_future", "invalid_field"]
    )
    assert sorted(canonical(f["item"]) for f in body["failures"]) == sorted(map(canonical, bad))
    assert stored_event_ids(db) == {e["event_id"] for e in good}


def test_a_batch_of_one_thousand_items_is_taken(client: FlaskClient, town: SmallDistrict) -> None:
    response = push(client, town.stake_a, [{}] * 1000)
    body = response.get_json()
    assert response.status_code == 200
    assert (body["success"], body["total"], len(body["failures"])) == (0, 1000, 1000)
    assert {f["error"] for f in body["failures"]} == {"missing_field"}


# --- whole-request failures --------------------------------------------------------------


def test_a_body_that_is_not_json_is_invalid_json(client: FlaskClient, town: SmallDistrict) -> None:
    response = client.post(
        PUSH,
        data=b"[{not json",
        headers={"Authorization": f"Bearer {town.stake_a.token}", "Content-Type": "application/json"},
    )
    assert_cds_error(response, 400, "invalid_json")


def test_a_json_object_instead_of_an_array_is_not_an_array(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    assert_cds_error(push(client, town.stake_a, event), 400, "not_an_array")


def test_a_batch_of_1001_events_is_too_many(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    batch = [
        cds_event(town.feed, town.bay("T1-1"), "scheduled_report", earlier(clock, 5)) for _ in range(1001)
    ]
    assert_cds_error(push(client, town.feed, batch), 413, "too_many_events")


def test_a_body_over_four_mebibytes_is_payload_too_large(client: FlaskClient, town: SmallDistrict) -> None:
    body = b'["' + b"x" * (4 * 1024 * 1024) + b'"]'
    response = client.post(
        PUSH,
        data=body,
        headers={"Authorization": f"Bearer {town.stake_a.token}", "Content-Type": "application/json"},
    )
    assert_cds_error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not-a-real-token"],
    ids=["missing", "no-token", "blank-token", "basic", "other-scheme", "wrong-token"],
)
def test_a_push_without_a_valid_device_token_is_unauthorized(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock, authorization: str | None
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.post(PUSH, json=[event], headers=headers)
    assert_cds_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_device_token_of_another_district_is_unauthorized(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    other = build_small_district(db, clock.now(), slug="otherville")
    db.commit()
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    response = push(client, other.stake_a, [event])
    assert_cds_error(response, 401, "unauthorized")
    assert "WWW-Authenticate" in response.headers


def test_a_staff_token_may_not_push_events(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    _, token = issue_staff_token(db, town.district, "admin", "Ops", clock.now())
    db.commit()
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    response = client.post(PUSH, json=[event], headers={"Authorization": f"Bearer {token}"})
    assert_cds_error(response, 401, "unauthorized")
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize("accept", ["text/html", "application/vnd.cds+json;version=1.0"])
def test_a_push_asking_for_a_media_type_the_server_cannot_give_is_not_acceptable(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock, accept: str
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    assert_cds_error(push(client, town.stake_a, [event], Accept=accept), 406, "not_acceptable")


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/vnd.cds+json;version=1.1", "application/vnd.cds+json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
def test_a_push_answers_in_the_media_type_it_was_asked_for(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock, accept: str | None, content_type: str
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    headers = {} if accept is None else {"Accept": accept}
    response = push(client, town.stake_a, [event], **headers)
    assert response.status_code == 200
    assert response.mimetype == content_type
    if content_type == "application/vnd.cds+json":
        assert response.mimetype_params.get("version") == "1.1"
    assert response.get_json(force=True) == {"success": 1, "total": 1, "failures": []}


def test_a_push_to_an_unknown_district_is_unknown_district(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))
    response = client.post(
        "/cds/nowhere/events/event", json=[event], headers={"Authorization": f"Bearer {town.stake_a.token}"}
    )
    assert_cds_error(response, 404, "unknown_district")


def test_a_get_on_the_push_url_is_method_not_allowed_with_an_allow_header(
    client: FlaskClient, town: SmallDistrict
) -> None:
    response = client.get(PUSH, headers={"Authorization": f"Bearer {town.stake_a.token}"})
    assert_cds_error(response, 405, "method_not_allowed")
    assert "POST" in {m.strip() for m in response.headers["Allow"].split(",")}


def test_nothing_is_written_for_a_refused_request(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    batch = [cds_event(town.stake_a, town.bay("T1-1"), "park_start", earlier(clock, 30))]
    refused = [
        client.post(PUSH, json=batch),
        client.post(PUSH, json=batch, headers={"Authorization": "Bearer wrong"}),
        push(client, town.stake_a, batch, Accept="text/html"),
        push(client, town.stake_a, batch * 1001),
        push(client, town.stake_a, batch[0]),
    ]
    assert [r.status_code for r in refused] == [401, 401, 406, 413, 400]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(CurbEvent)) == 0
    device = db.get(Device, town.stake_a.device.id)
    assert device is not None and device.last_seen_at is None


def test_both_the_device_time_and_the_receipt_time_are_stored(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    at = earlier(clock, 47)
    event = cds_event(town.stake_a, town.bay("T1-1"), "park_start", at, plate="贵 a12345")
    assert push(client, town.stake_a, [event]).get_json()["success"] == 1
    db.expire_all()
    row = db.scalars(select(CurbEvent)).one()
    assert to_ms(row.event_time) == event["event_time"]
    assert row.received_at == clock.now()
    assert row.plate == "贵A12345"
    assert logged_payloads(db) == {row.event_id: event}  # as sent: "贵 a12345", not the plate column
