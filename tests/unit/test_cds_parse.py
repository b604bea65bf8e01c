"""Parsing one pushed CDS Curb Event (sensors/cds.py): what parses, and every refusal code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sensors.cds import ItemError, parse_event

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "cds" / "example_events.json"
REQUIRED = [
    "event_id",
    "event_type",
    "event_time",
    "event_publication_time",
    "data_source_type",
    "data_source_device_id",
]
JAN_1_2000_MS = 946_684_800_000
JAN_1_2100_MS = 4_102_444_800_000


def example_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(EXAMPLES.read_text(encoding="utf-8"))["data"]["events"]
    return events


def camera_start(**changes: Any) -> dict[str, Any]:
    """The example camera park_start with some fields changed (None removes a field)."""
    item = {**example_events()[0], **changes}
    return {name: value for name, value in item.items() if value is not None}


def refusal(item: Any) -> ItemError:
    with pytest.raises(ItemError) as raised:
        parse_event(item)
    return raised.value


# What parses


def test_the_example_camera_park_start_parses() -> None:
    item = example_events()[0]

    event = parse_event(item)

    assert event.event_id == "3f0c8a3e-8a4b-4f0e-9a57-0d6c2b1a9e01"
    assert event.event_type == "park_start"
    assert event.event_time == datetime(2025, 1, 1, 5, 0, tzinfo=UTC)
    assert event.data_source_type == "camera"
    assert event.device_uuid == "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
    assert event.space_uuid == "c7d8e9f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    assert event.zone_uuid == "5a1e0f7c-2d3b-4c8a-9e6f-7a8b9c0d1e2f"
    assert event.session_id == "9b2d6a1c-4f3e-4c55-8f0a-1b2c3d4e5f60"
    assert (event.plate, event.plate_confidence) == ("粤A12345", 97)
    assert event.sensor_online is True
    assert event.payload == item


def test_the_example_handheld_pos_park_end_parses() -> None:
    event = parse_event(example_events()[1])

    assert (event.event_type, event.data_source_type) == ("park_end", "in_person")
    assert event.event_time == datetime(2025, 1, 1, 7, 0, tzinfo=UTC)
    assert event.device_uuid == "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
    assert (event.plate, event.plate_confidence, event.sensor_online) == (None, None, None)


def test_uuids_are_lower_cased() -> None:
    item = camera_start(
        event_id="3F0C8A3E-8A4B-4F0E-9A57-0D6C2B1A9E01",
        data_source_device_id="0E1F2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A5B",
        curb_space_id="C7D8E9F0-1A2B-4C3D-8E4F-5A6B7C8D9E0F",
        curb_zone_id="5A1E0F7C-2D3B-4C8A-9E6F-7A8B9C0D1E2F",
        event_session_id="9B2D6A1C-4F3E-4C55-8F0A-1B2C3D4E5F60",
    )

    event = parse_event(item)

    assert event.event_id == "3f0c8a3e-8a4b-4f0e-9a57-0d6c2b1a9e01"
    assert event.device_uuid == "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
    assert event.space_uuid == "c7d8e9f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    assert event.zone_uuid == "5a1e0f7c-2d3b-4c8a-9e6f-7a8b9c0d1e2f"
    assert event.session_id == "9b2d6a1c-4f3e-4c55-8f0a-1b2c3d4e5f60"


def test_the_plate_is_normalised() -> None:
    assert parse_event(camera_start(vehicle_license_plate="粤a·12345")).plate == "粤A12345"


def test_optional_fields_may_be_absent() -> None:
    item = camera_start(
        curb_zone_id=None,
        event_session_id=None,
        vehicle_license_plate=None,
        vehicle_license_plate_confidence=None,
        sensor_status_is_online=None,
    )

    event = parse_event(item)

    assert (event.zone_uuid, event.session_id, event.plate, event.sensor_online) == (None, None, None, None)


@pytest.mark.parametrize("event_type", ["scheduled_report", "comms_lost", "comms_restored"])
def test_device_health_events_need_no_curb_space(event_type: str) -> None:
    event = parse_event(camera_start(event_type=event_type, curb_space_id=None))

    assert (event.event_type, event.space_uuid) == (event_type, None)


def test_a_vehicle_detected_event_parses() -> None:
    assert parse_event(camera_start(event_type="vehicle_detected")).event_type == "vehicle_detected"


def test_the_first_millisecond_of_2000_is_accepted() -> None:
    event = parse_event(camera_start(event_time=JAN_1_2000_MS, event_publication_time=JAN_1_2000_MS))

    assert event.event_time == datetime(2000, 1, 1, tzinfo=UTC)


def test_the_first_millisecond_of_2100_is_the_latest_event_time_accepted() -> None:
    event = parse_event(camera_start(event_time=JAN_1_2100_MS, event_publication_time=JAN_1_2100_MS))

    assert event.event_time == datetime(2100, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("confidence", [1, 100])
def test_confidences_of_one_and_of_a_hundred_are_accepted(confidence: int) -> None:
    assert (
        parse_event(camera_start(vehicle_license_plate_confidence=confidence)).plate_confidence == confidence
    )


def test_sensor_offline_is_accepted() -> None:
    assert parse_event(camera_start(sensor_status_is_online=False)).sensor_online is False


# invalid_event


@pytest.mark.parametrize("item", [[], ["event"], "park_start", 42, None, True])
def test_an_item_that_is_not_an_object_is_an_invalid_event(item: Any) -> None:
    assert refusal(item).code == "invalid_event"


# missing_field


def test_an_empty_object_misses_every_required_field() -> None:
    error = refusal({})

    assert error.code == "missing_field"
    assert error.details == REQUIRED


def test_a_bay_event_without_a_curb_space_lists_it_among_the_missing_fields() -> None:
    error = refusal({"event_type": "park_start", "event_time": 1735707600000})

    assert error.code == "missing_field"
    assert error.details == [
        "event_id",
        "event_publication_time",
        "data_source_type",
        "data_source_device_id",
        "curb_space_id",
    ]


@pytest.mark.parametrize("event_type", ["park_start", "park_end", "vehicle_detected"])
def test_every_bay_event_needs_a_curb_space(event_type: str) -> None:
    error = refusal(camera_start(event_type=event_type, curb_space_id=None))

    assert (error.code, error.details) == ("missing_field", ["curb_space_id"])


def test_a_required_field_set_to_null_is_missing() -> None:
    item = {**example_events()[0], "event_time": None, "curb_space_id": None}

    error = refusal(item)

    assert (error.code, error.details) == ("missing_field", ["event_time", "curb_space_id"])


# invalid_field

BAD_UUID = "3f0c8a3e-8a4b-4f0e-9a57-0d6c2b1a9e0"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "not-a-uuid"),
        ("event_id", BAD_UUID),
        ("event_id", "3f0c8a3e8a4b4f0e9a570d6c2b1a9e01"),
        ("event_id", "3f0c8a3e-8a4b-4f0e-9a57-0d6c2b1a9e0g"),
        ("event_id", 42),
        ("data_source_device_id", "STAKE-BY-0042"),
        ("curb_space_id", "space-1"),
        ("curb_zone_id", 7),
        ("event_session_id", "session"),
        ("event_time", 1735707600000.0),
        ("event_time", True),
        ("event_time", "1735707600000"),
        ("event_time", JAN_1_2000_MS - 1),
        ("event_time", 0),
        ("event_time", -1),
        ("event_time", JAN_1_2100_MS + 1),
        ("event_publication_time", 1735707603000.5),
        ("event_publication_time", False),
        ("event_publication_time", "2025-01-01T05:00:03Z"),
        ("event_publication_time", 1735707603),
        ("event_publication_time", JAN_1_2100_MS + 1),
        ("event_type", "parked"),
        ("event_type", "PARK_START"),
        ("data_source_type", "drone"),
        ("vehicle_license_plate_confidence", 0),
        ("vehicle_license_plate_confidence", 101),
        ("vehicle_license_plate_confidence", -5),
        ("vehicle_license_plate_confidence", 97.0),
        ("vehicle_license_plate_confidence", True),
        ("vehicle_license_plate_confidence", "97"),
        ("sensor_status_is_online", "true"),
        ("sensor_status_is_online", 1),
        ("vehicle_license_plate", 12345),
        ("vehicle_license_plate", ["粤A12345"]),
    ],
)
def test_a_field_with_a_wrong_type_or_value_is_named(field: str, value: Any) -> None:
    error = refusal(camera_start(**{field: value}))

    assert (error.code, error.details) == ("invalid_field", [field])


def test_every_bad_field_is_named_in_one_error() -> None:
    item = camera_start(
        event_id="x",
        data_source_device_id="y",
        curb_space_id="z",
        curb_zone_id="zone",
        event_session_id="session",
        event_time=1735707600000.0,
        event_publication_time=True,
        event_type="parked",
        data_source_type="drone",
        vehicle_license_plate_confidence=101,
        sensor_status_is_online="yes",
        vehicle_license_plate=123,
    )

    error = refusal(item)

    assert error.code == "invalid_field"
    assert sorted(error.details) == sorted(
        [
            "event_id",
            "data_source_device_id",
            "curb_space_id",
            "curb_zone_id",
            "event_session_id",
            "event_time",
            "event_publication_time",
            "event_type",
            "data_source_type",
            "vehicle_license_plate_confidence",
            "sensor_status_is_online",
            "vehicle_license_plate",
        ]
    )
    assert len(error.details) == len(set(error.details))


def test_a_bad_field_is_reported_before_an_unsupported_event_type() -> None:
    error = refusal(camera_start(event_type="citation_issued", event_time=1.5))

    assert (error.code, error.details) == ("invalid_field", ["event_time"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_type", ["park_start"]),
        ("event_type", {"type": "park_start"}),
        ("data_source_type", ["camera"]),
    ],
)
def test_a_type_field_that_is_not_a_string_is_named_rather_than_crashing(field: str, value: Any) -> None:
    error = refusal(camera_start(**{field: value}))

    assert (error.code, error.details) == ("invalid_field", [field])


@pytest.mark.parametrize("field", ["event_id", "data_source_device_id", "curb_space_id"])
def test_a_uuid_with_a_trailing_newline_is_refused(field: str) -> None:
    error = refusal(camera_start(**{field: example_events()[0][field] + "\n"}))

    assert (error.code, error.details) == ("invalid_field", [field])


def test_an_event_time_beyond_any_calendar_is_named_rather_than_crashing() -> None:
    error = refusal(camera_start(event_time=10**18))

    assert (error.code, error.details) == ("invalid_field", ["event_time"])


# unsupported_event_type


@pytest.mark.parametrize(
    "event_type",
    [
        "citation_issued",
        "vehicle_violation_start",
        "vehicle_violation_end",
        "enter_area",
        "exit_area",
        "decommissioned",
    ],
)
def test_a_cds_event_type_a_device_may_not_push_is_unsupported(event_type: str) -> None:
    error = refusal(camera_start(event_type=event_type))

    assert (error.code, error.details) == ("unsupported_event_type", ["event_type"])
    assert event_type in error.description


# invalid_plate


@pytest.mark.parametrize("plate", ["", "A", "ABC#123", "ABCDEFGHJKLMN"])
def test_a_string_that_is_no_plate_is_an_invalid_plate(plate: str) -> None:
    error = refusal(camera_start(vehicle_license_plate=plate))

    assert (error.code, error.details) == ("invalid_plate", ["vehicle_license_plate"])
    assert repr(plate) in error.description
