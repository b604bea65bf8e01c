"""The lean event log's split of a sent CDS event (sensors/event_payload.py): the columns
give back what they hold, the rest is kept, and joining the two gives the sent JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sensors.event_payload import DERIVED, derived_fields, exact_ms, join_payload, split_payload

SPACE = "0b6a2a4e-8f0e-4a3e-9a52-4d0c7e1f2a10"
ZONE = "7d1c9e2b-3a4f-4b5c-8d6e-9f0a1b2c3d4e"
DEVICE = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
EVENT = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
SESSION = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
AT = datetime(2026, 12, 1, 9, 0, 0, 123000, tzinfo=UTC)


def derived(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": EVENT,
        "event_type": "park_start",
        "event_time": AT,
        "published_ms": exact_ms(AT) + 900,
        "data_source_type": "camera",
        "device_uuid": DEVICE,
        "space_uuid": SPACE,
        "zone_uuid": ZONE,
        "session_id": SESSION,
        "plate": "贵A12345",
        "plate_confidence": 92,
        "device_name": "STAKE-1",
        "bay_point": (106.63, 26.68),
    }
    return derived_fields(**(fields | changes))


def sent(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": EVENT,
        "event_type": "park_start",
        "event_purpose": "parking",
        "event_location": {"type": "Point", "coordinates": [106.63, 26.68]},
        "event_time": exact_ms(AT),
        "event_publication_time": exact_ms(AT) + 900,
        "event_session_id": SESSION,
        "curb_zone_id": ZONE,
        "curb_space_id": SPACE,
        "data_source_type": "camera",
        "data_source_device_id": DEVICE,
        "data_source_device_name": "STAKE-1",
        "vehicle_type": "car",
        "vehicle_license_plate": "贵A12345",
        "vehicle_license_plate_confidence": 92,
    }
    return {name: value for name, value in (event | changes).items() if value is not ...}


def round_trip(event: dict[str, Any], columns: dict[str, Any]) -> dict[str, Any]:
    fields, extra = split_payload(event, columns)
    return join_payload(columns, fields, extra)


def test_a_stake_event_keeps_only_what_its_columns_do_not_hold() -> None:
    fields, extra = split_payload(sent(), derived())
    assert fields == 2 ** len(DERIVED) - 1
    assert extra == {"event_purpose": "parking", "vehicle_type": "car"}
    assert join_payload(derived(), fields, extra) == sent()


def test_an_event_the_columns_hold_whole_keeps_nothing_beside_them() -> None:
    event = sent(event_purpose=..., vehicle_type=...)
    assert split_payload(event, derived())[1] is None
    assert round_trip(event, derived()) == event


def test_fields_sent_otherwise_than_the_columns_hold_them_are_kept_as_sent() -> None:
    event = sent(
        event_id=EVENT.upper(),
        vehicle_license_plate="贵 a12345",
        event_location={"type": "Point", "coordinates": [106, 26.68]},  # an integer is not 106.63
        data_source_device_name="attendant Li",
    )
    _, extra = split_payload(event, derived())
    assert extra is not None
    assert extra["event_id"] == EVENT.upper() and extra["vehicle_license_plate"] == "贵 a12345"
    assert round_trip(event, derived()) == event


def test_fields_left_out_by_the_device_stay_left_out() -> None:
    event = sent(curb_zone_id=..., data_source_device_name=..., event_location=...)
    assert split_payload(event, derived())[1] == {"event_purpose": "parking", "vehicle_type": "car"}
    assert round_trip(event, derived()) == event


def test_explicit_nulls_and_booleans_come_back_as_sent() -> None:
    event = sent(curb_zone_id=None, event_session_id=None, sensor_status_is_online=False)
    assert round_trip(event, derived(session_id=None)) == event


def test_a_confidence_of_true_is_not_the_integer_one() -> None:
    assert round_trip(sent(vehicle_license_plate_confidence=True), derived(plate_confidence=1)) == sent(
        vehicle_license_plate_confidence=True
    )
    assert "vehicle_license_plate_confidence" not in (
        split_payload(sent(vehicle_license_plate_confidence=1), derived(plate_confidence=1))[1] or {}
    )


def test_a_plate_erased_from_its_column_is_gone_from_the_json_too() -> None:
    fields, extra = split_payload(sent(), derived())
    assert "vehicle_license_plate" not in join_payload(derived(plate=None), fields, extra)


def test_event_times_are_whole_milliseconds_without_float_error() -> None:
    for ms in (1_764_579_600_123, 1_764_579_600_001, 1_764_579_600_999, 946_684_800_000):
        at = datetime.fromtimestamp(ms / 1000, UTC)
        assert exact_ms(at) == ms
