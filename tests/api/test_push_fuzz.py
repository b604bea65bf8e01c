"""A Hypothesis fuzz over POST /cds/<district>/events/event.

Batches mix good events with malformed ones (missing fields, every field of the wrong type,
oversized strings, huge numbers, deep nesting, unknown event types, bays the device does not
cover, other devices' ids), and whole bodies go wrong too (not JSON, not an array, too many
events, too large, too deep). Whatever is sent: never a 5xx; a refused request writes
nothing; in an accepted batch the events logged are exactly the items the reply does not list
as failures, and a batch whose every item failed leaves the log, the stays and the bays as
they were.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api import create_app
from billing.models import Payment
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from parking.clock import FixedClock, from_ms, to_ms
from parking.models import Bay, Stay
from sensors.cds import REQUIRED
from sensors.devices import NewDevice
from sensors.models import CurbEvent, Device
from tests.support.http import push_answer

PUSH = "/cds/testville/events/event"
# Small limits, so that an oversized batch or body costs little to build and send.
MAX_BATCH_EVENTS = 12
MAX_CONTENT_LENGTH = 64 * 1024
MAX_JSON_DEPTH = 32

settings.register_profile(
    "push_fuzz",
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture
def app(connection: Connection, clock: FixedClock) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_BIND": connection,
            "CLOCK": clock,
            "VACANCY_CACHE_SECONDS": 0,
            "MAX_BATCH_EVENTS": MAX_BATCH_EVENTS,
            "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
            "MAX_JSON_DEPTH": MAX_JSON_DEPTH,
        }
    )


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    built = build_small_district(db, clock.now() - timedelta(days=1))
    db.commit()
    return built


# --- what devices send ------------------------------------------------------------------

PLATES = ["贵A12345", "贵B67890", "贵A1234学", "京N-88888", "?!", ""]
EVENT_TYPES = [
    "park_start",
    "park_end",
    "vehicle_detected",
    "scheduled_report",
    "comms_lost",
    "comms_restored",
]
FIELDS = [
    *REQUIRED,
    "curb_space_id",
    "curb_zone_id",
    "event_session_id",
    "vehicle_license_plate",
    "vehicle_license_plate_confidence",
    "sensor_status_is_online",
    "actual_cost",
    "payment_method",
    "payment_transaction_id",
    "data_source_device_name",
]
SESSIONS = [str(uuid.UUID(int=n)) for n in range(1, 4)]


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**63) + 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.text(alphabet="x贵\u0000\U0001f697", min_size=200, max_size=3000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(min_value=1, max_value=MAX_JSON_DEPTH + 4).map(nested),
    st.sampled_from(["", " ", "park_start", "citation_issued", "00000000-0000-0000-0000-00000000000g"]),
)


@st.composite
def good_events(draw: st.DrawFn, town: SmallDistrict, device: NewDevice, now_ms: int) -> dict[str, Any]:
    """An event the device may send, though its bay may be one the device does not cover."""
    bay = draw(st.sampled_from(town.bays))
    event_type = draw(st.sampled_from(EVENT_TYPES))
    at = from_ms(now_ms - draw(st.integers(min_value=0, max_value=6 * 3600)) * 1000)
    event = cds_event(device, bay, event_type, at, event_id=str(draw(st.uuids())))
    if draw(st.booleans()):
        event["vehicle_license_plate"] = draw(st.sampled_from(PLATES))
        event["vehicle_license_plate_confidence"] = draw(st.integers(min_value=0, max_value=101))
    if draw(st.booleans()):
        event["event_session_id"] = draw(st.sampled_from(SESSIONS))
    if device.device.kind == "handheld_pos" and draw(st.booleans()):
        event["actual_cost"] = draw(st.integers(min_value=0, max_value=5000))
        event["payment_method"] = draw(st.sampled_from(["cash", "test", "bitcoin"]))
        event["data_source_device_name"] = draw(st.sampled_from(["POS-1", "attendant 7", "y" * 150]))
    return event


@st.composite
def bad_events(draw: st.DrawFn, town: SmallDistrict, device: NewDevice, now_ms: int) -> Any:
    """A good event broken one or more ways, or no event at all."""
    event = draw(good_events(town, device, now_ms))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        how = draw(st.sampled_from(["drop", "junk", "extra", "future", "other_device", "type"]))
        name = draw(st.sampled_from(FIELDS))
        if how == "drop":
            event.pop(name, None)
        elif how == "junk":
            event[name] = draw(JUNK)
        elif how == "extra":
            event[draw(st.text(min_size=1, max_size=10))] = draw(JUNK)
        elif how == "future":
            event["event_time"] = now_ms + draw(st.integers(min_value=121, max_value=10**6)) * 1000
        elif how == "other_device":
            event["data_source_device_id"] = town.stake_b.device.uuid
        else:
            event["event_type"] = draw(
                st.sampled_from(["citation_issued", "enter_area", "PARK_START", "boom"])
            )
    return event if draw(st.integers(min_value=0, max_value=9)) else draw(JUNK)


@st.composite
def batches(draw: st.DrawFn, town: SmallDistrict, device: NewDevice, now_ms: int) -> list[Any]:
    item = st.one_of(good_events(town, device, now_ms), bad_events(town, device, now_ms))
    items: list[Any] = draw(st.lists(item, max_size=MAX_BATCH_EVENTS))
    resend = draw(st.booleans())  # a resend, or the same id with other content
    if items and resend:
        again = draw(st.sampled_from(items))
        again = dict(again) if isinstance(again, dict) else again
        if isinstance(again, dict) and draw(st.booleans()):
            again["event_time"] = now_ms - 60_000
        items.insert(draw(st.integers(min_value=0, max_value=len(items))), again)
    return items[:MAX_BATCH_EVENTS]


@st.composite
def bodies(draw: st.DrawFn, town: SmallDistrict, device: NewDevice, now_ms: int) -> bytes:
    """Mostly a batch; sometimes a body that is wrong as a whole."""
    kind = draw(st.sampled_from(["batch"] * 6 + ["bytes", "object", "too_many", "too_large", "too_deep"]))
    if kind == "bytes":
        return draw(
            st.one_of(st.binary(max_size=40), st.sampled_from([b"[", b"[{]", b"", b"null", b"[1e400]"]))
        )
    if kind == "object":
        return json.dumps(draw(good_events(town, device, now_ms))).encode()
    if kind == "too_many":
        return json.dumps([draw(good_events(town, device, now_ms))] * (MAX_BATCH_EVENTS + 1)).encode()
    if kind == "too_large":
        event = draw(good_events(town, device, now_ms))
        event["data_source_device_name"] = "z" * MAX_CONTENT_LENGTH
        return json.dumps([event]).encode()
    if kind == "too_deep":
        depth = draw(st.sampled_from([MAX_JSON_DEPTH, 300, 1100, 5000]))
        if draw(st.booleans()):  # deep inside an otherwise good event
            good = json.dumps(draw(good_events(town, device, now_ms)))
            return f'[{good[:-1]}, "extra": {"[" * depth}{"]" * depth}}}]'.encode()
        return b"[" + b"[" * depth + b"]" * depth + b"]"
    return json.dumps(draw(batches(town, device, now_ms)), ensure_ascii=False).encode()


# --- what the database holds ------------------------------------------------------------


def snapshot(connection: Connection) -> dict[str, Any]:
    """Everything a push may change: the log, stays, bay states, payments, devices."""
    return {
        "events": set(connection.scalars(select(CurbEvent.event_id))),
        "stays": connection.scalar(select(func.count()).select_from(Stay)),
        "payments": connection.scalar(select(func.count()).select_from(Payment)),
        "bays": connection.execute(
            select(Bay.id, Bay.state, Bay.open_stay_id, Bay.last_event_at).order_by(Bay.id)
        ).all(),
        "devices": connection.execute(
            select(Device.id, Device.last_seen_at, Device.online).order_by(Device.id)
        ).all(),
    }


def accepted_items(items: list[Any], failures: list[dict[str, Any]]) -> list[Any]:
    """The items the reply does not list: failures come in batch order, each echoing its item."""
    accepted, pending = [], list(failures)
    for item in items:
        if pending and pending[0]["item"] == item:
            pending.pop(0)
        else:
            accepted.append(item)
    assert not pending, f"failures that match no item: {pending}"
    return accepted


@settings(settings.get_profile("push_fuzz"))
@given(data=st.data())
def test_no_push_gets_a_5xx_or_writes_what_it_refuses(
    data: st.DataObject, client: FlaskClient, connection: Connection, town: SmallDistrict, clock: FixedClock
) -> None:
    now_ms = to_ms(clock.now())
    device = data.draw(st.sampled_from([town.stake_a, town.pos]), label="device")
    body = data.draw(bodies(town, device, now_ms), label="body")
    before = snapshot(connection)

    response = client.post(
        PUSH,
        data=body,
        headers={"Authorization": f"Bearer {device.token}", "Content-Type": "application/json"},
    )

    assert response.status_code < 500, response.get_data(as_text=True)
    # Not get_json(): the test client reads with the app's JSON, which refuses a NUL or more
    # than MAX_JSON_DEPTH levels in a request, and `failures` echo refused items as sent.
    reply = json.loads(response.get_data())
    after = snapshot(connection)
    tally(f"{response.status_code} {reply.get('error', '')}")
    if response.status_code != 200:
        assert response.status_code in (400, 413), reply
        assert isinstance(reply["error"], str) and reply["error"], reply
        assert after == before, "a refused request wrote something"
        return
    items = orjson.loads(body)  # as the server read them (orjson turns huge integers into floats)
    assert reply["total"] == len(items)
    accepted = accepted_items(items, reply["failures"])
    assert reply["success"] == len(accepted)
    tally("none accepted" if not accepted else "all accepted" if not reply["failures"] else "some accepted")
    for failure in reply["failures"]:
        tally(f"item {failure['error']}")
    accepted_ids = {item["event_id"].lower() for item in accepted}
    assert after["events"] - before["events"] <= accepted_ids, "a refused item was logged"
    assert accepted_ids <= after["events"], "an item reported as accepted is not in the log"
    if not accepted:
        assert after == before, "a batch whose every item failed changed something"


# --- what the fuzz found, kept as examples ------------------------------------------------


def test_a_copy_of_a_refused_event_in_the_same_batch_is_refused_too(
    client: FlaskClient, connection: Connection, town: SmallDistrict, clock: FixedClock
) -> None:
    session, t = str(uuid.uuid4()), clock.now() - timedelta(hours=1)
    start = cds_event(town.stake_a, town.bay("T1-1"), "park_start", t, session_id=session)
    end = cds_event(town.stake_a, town.bay("T1-1"), "park_end", t - timedelta(minutes=10), session_id=session)
    reply = push_answer(client, town.stake_a, [start, end, end])
    assert reply["success"] == 1
    assert [f["error"] for f in reply["failures"]] == ["end_before_start", "end_before_start"]
    assert snapshot(connection)["events"] == {start["event_id"]}


@pytest.mark.parametrize(("length", "paid"), [(100, 1), (101, 0)])
def test_a_device_name_is_at_most_100_characters(
    client: FlaskClient,
    connection: Connection,
    town: SmallDistrict,
    clock: FixedClock,
    length: int,
    paid: int,
) -> None:
    """A POS names its attendant there, and the payment keeps the name (this was a 500 on
    PostgreSQL, whose column holds 100 characters)."""
    event = cds_event(
        town.pos,
        town.bay("T1-1"),
        "park_start",
        clock.now() - timedelta(minutes=5),
        actual_cost=300,
        payment_method="cash",
        data_source_device_name="a" * length,
    )
    reply = push_answer(client, town.pos, [event])
    assert reply["success"] == paid
    assert [f["error_details"] for f in reply["failures"]] == [["data_source_device_name"]] * (1 - paid)
    assert snapshot(connection)["payments"] == paid


def test_an_event_with_a_nul_character_is_an_invalid_field(
    client: FlaskClient, connection: Connection, town: SmallDistrict, clock: FixedClock
) -> None:
    """The payload is stored as sent, and PostgreSQL text cannot hold U+0000."""
    at = clock.now() - timedelta(minutes=5)
    events = [
        cds_event(town.stake_a, town.bay("T1-1"), "park_start", at, vehicle_color="red\u0000"),
        cds_event(town.stake_a, town.bay("T1-2"), "park_start", at, custom_attributes={"\u0000": 1}),
    ]
    reply = push_answer(client, town.stake_a, events)
    assert reply["success"] == 0
    assert [f["error_details"] for f in reply["failures"]] == [["vehicle_color"], ["custom_attributes"]]
    assert snapshot(connection)["events"] == set()
