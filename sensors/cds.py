"""Parsing one CDS 1.1 Curb Event from the wire, naming every field that is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from parking.clock import from_ms
from parking.errors import Message
from parking.plates import InvalidPlateError, normalise_plate

CDS_EVENT_TYPES = frozenset(
    [
        "comms_lost",
        "comms_restored",
        "decommissioned",
        "park_start",
        "park_end",
        "scheduled_report",
        "enter_area",
        "exit_area",
        "vehicle_detected",
        "vehicle_violation_start",
        "vehicle_violation_end",
        "citation_issued",
    ]
)
# What devices may push; violations and citations are written by the system itself.
ACCEPTED_EVENT_TYPES = frozenset(
    ["park_start", "park_end", "scheduled_report", "comms_lost", "comms_restored", "vehicle_detected"]
)
BAY_EVENT_TYPES = frozenset(("park_start", "park_end", "vehicle_detected"))
DATA_SOURCE_TYPES = frozenset(
    ["data_feed", "camera", "above_ground", "in_ground", "meter", "payment", "in_person", "other"]
)
REQUIRED = (
    "event_id",
    "event_type",
    "event_time",
    "event_publication_time",
    "data_source_type",
    "data_source_device_id",
)
# Event times accepted: from 2000-01-01; the wire is milliseconds, and anything before 2000 is a
# device clock that was never set (1970) or a placeholder date (1900).
EARLIEST_MS = 946_684_800_000
LATEST_MS = 4_102_444_800_000  # 2100-01-01: a later time is a broken clock, not a plan
# A POS names its attendant in data_source_device_name; payments keep it in 100 characters.
MAX_DEVICE_NAME = 100


class ItemError(Exception):
    """One event of a batch is refused; the rest of the batch goes on."""

    def __init__(self, code: str, description: str | Message, details: list[str] | None = None) -> None:
        super().__init__(str(description))
        self.code = code
        self.description = str(description)
        self.text = description if isinstance(description, Message) else Message(description)
        self.details = details or []


def check_event_time(
    event_time: datetime, now: datetime, max_skew: timedelta, max_age: timedelta | None
) -> None:
    """The clock rules of an event, against the server's `now`: no more than `max_skew` ahead
    (`event_in_future`), and no more than `max_age` behind (`event_too_old`; None: no bound).
    A very late event re-derives the stays it touches and re-prices them, so one event from
    days ago could stretch a settled stay over those days (security review M5)."""
    if event_time > now + max_skew:
        raise ItemError(
            "event_in_future",
            f"event_time is more than {int(max_skew.total_seconds())} s ahead of the server clock",
            ["event_time"],
        )
    if max_age is not None and event_time < now - max_age:
        hours = int(max_age.total_seconds() // 3600)
        raise ItemError("event_too_old", f"event_time is more than {hours} h in the past", ["event_time"])


@dataclass(frozen=True)
class ParsedEvent:
    event_id: str
    event_type: str
    event_time: datetime
    data_source_type: str
    device_uuid: str
    space_uuid: str | None
    zone_uuid: str | None
    session_id: str | None
    plate: str | None
    plate_confidence: int | None
    sensor_online: bool | None
    payload: dict[str, Any]
    payment: tuple[int, str, str | None] | None = None  # (actual_cost, payment_method, transaction id)


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _is_uuid(value: Any) -> bool:
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def holds_nul(value: Any) -> bool:
    """Whether any string in the value, key or item, holds a NUL character."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            pending.extend([*item.keys(), *item.values()])
        elif isinstance(item, list):
            pending.extend(item)
    return False


def parse_event(item: Any) -> ParsedEvent:
    """Check one pushed item against the CDS Curb Event model and this system's rules."""
    if not isinstance(item, dict):
        raise ItemError("invalid_event", "each item must be a JSON object (a CDS Curb Event)")
    missing = [name for name in REQUIRED if item.get(name) is None]
    event_type = item.get("event_type")
    if not isinstance(event_type, str):
        event_type = None if event_type is None else repr(event_type)
    if event_type in BAY_EVENT_TYPES and item.get("curb_space_id") is None:
        missing.append("curb_space_id")
    if missing:
        raise ItemError("missing_field", "required fields are missing", missing)

    bad = [name for name in ("event_id", "data_source_device_id") if not _is_uuid(item[name])]
    for name in ("curb_space_id", "curb_zone_id", "event_session_id"):
        if item.get(name) is not None and not _is_uuid(item[name]):
            bad.append(name)
    for name in ("event_time", "event_publication_time"):
        if not _is_int(item[name]) or not EARLIEST_MS <= item[name] <= LATEST_MS:
            bad.append(name)
    if event_type not in CDS_EVENT_TYPES:
        bad.append("event_type")
    if not isinstance(item["data_source_type"], str) or item["data_source_type"] not in DATA_SOURCE_TYPES:
        bad.append("data_source_type")
    confidence = item.get("vehicle_license_plate_confidence")
    if confidence is not None and (not _is_int(confidence) or not 1 <= confidence <= 100):
        bad.append("vehicle_license_plate_confidence")
    online = item.get("sensor_status_is_online")
    if online is not None and not isinstance(online, bool):
        bad.append("sensor_status_is_online")
    raw_plate = item.get("vehicle_license_plate")
    if raw_plate is not None and not isinstance(raw_plate, str):
        bad.append("vehicle_license_plate")
    device_name = item.get("data_source_device_name")
    if device_name is not None and (
        not isinstance(device_name, str) or not 1 <= len(device_name) <= MAX_DEVICE_NAME
    ):
        bad.append("data_source_device_name")
    bad += _payment_problems(item)
    # PostgreSQL text cannot hold NUL, and the payload is stored as sent.
    bad += [name for name in item if name not in bad and holds_nul([name, item[name]])]
    if bad:
        raise ItemError("invalid_field", "fields have the wrong type or value", bad)
    if event_type not in ACCEPTED_EVENT_TYPES:
        raise ItemError(
            "unsupported_event_type",
            f"devices may not push {event_type!r} events",
            ["event_type"],
        )

    plate = None
    if raw_plate is not None:
        try:
            plate = normalise_plate(raw_plate)
        except InvalidPlateError as error:
            raise ItemError("invalid_plate", error.text, error.details) from None

    return ParsedEvent(
        event_id=item["event_id"].lower(),
        event_type=event_type,
        event_time=from_ms(item["event_time"]),
        data_source_type=item["data_source_type"],
        device_uuid=item["data_source_device_id"].lower(),
        space_uuid=item["curb_space_id"].lower() if item.get("curb_space_id") else None,
        zone_uuid=item["curb_zone_id"].lower() if item.get("curb_zone_id") else None,
        session_id=item["event_session_id"].lower() if item.get("event_session_id") else None,
        plate=plate,
        plate_confidence=confidence,
        sensor_online=online,
        payload=item,
        payment=_payment(item),
    )


PAYMENT_METHODS = frozenset(
    (
        "cash",
        "credit_card",
        "digital_wallet",
        "smart_card",
        "membership_card",
        "billing",
        "permit",
        "voucher",
        "courtesy",
        "test",
        "other",
    )
)


def _payment_problems(item: dict[str, Any]) -> list[str]:
    """CDS payment fields: `actual_cost` whole minor units, a CDS `payment_method`, and a
    `payment_transaction_id` string; a cost without a method says nothing usable."""
    cost = item.get("actual_cost")
    method = item.get("payment_method")
    transaction = item.get("payment_transaction_id")
    bad = []
    if cost is not None and (not _is_int(cost) or not 0 <= cost <= 100_000_000):
        bad.append("actual_cost")
    known_method = isinstance(method, str) and method in PAYMENT_METHODS
    if (method is not None or cost is not None) and not known_method:
        bad.append("payment_method")
    if transaction is not None and (not isinstance(transaction, str) or not 1 <= len(transaction) <= 100):
        bad.append("payment_transaction_id")
    return bad


def _payment(item: dict[str, Any]) -> tuple[int, str, str | None] | None:
    cost = item.get("actual_cost")
    if cost is None:
        return None
    return cost, item["payment_method"], item.get("payment_transaction_id")
