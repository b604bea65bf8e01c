"""Migration 0025_lean_events: a database holding events at the revision before, with the
sent JSON stored whole, is upgraded, and every event's CDS JSON comes back the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, select
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import alembic_config
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from parking.clock import to_ms
from parking.db import UTCDateTime
from parking.plates import plate_key_or_none
from sensors.cds import parse_event
from sensors.event_payload import DERIVED
from sensors.log import logged_payloads
from sensors.models import CurbEvent
from tests.integration.own_database import own_database

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
LEAN = "0025_lean_events"

# curb_event as it was before: the sent JSON whole in `payload`.
_OLD_EVENT = Table(
    "curb_event",
    MetaData(),
    Column("district_id", Integer),
    Column("event_id", String),
    Column("event_type", String),
    Column("event_time", UTCDateTime()),
    Column("received_at", UTCDateTime()),
    Column("device_id", Integer),
    Column("bay_id", Integer),
    Column("road_id", Integer),
    Column("data_source_type", String),
    Column("session_id", String),
    Column("plate", String),
    Column("plate_key", String),
    Column("plate_confidence", Integer),
    Column("payload", JSON),
)


def sent_events(town: SmallDistrict) -> list[dict[str, Any]]:
    at = NOW - timedelta(hours=2)
    bay, pos_bay = town.bay("T1-1"), town.bay("T1-2")
    zone = town.roads[0].uuid
    session = str(uuid.uuid4())
    return [
        cds_event(town.stake_a, bay, "park_start", at, plate="贵A12345", confidence=93, session_id=session),
        cds_event(
            town.stake_a,
            bay,
            "park_end",
            at + timedelta(minutes=40),
            plate="贵A12345",
            confidence=93,
            session_id=session,
            curb_zone_id=zone,
            event_purpose="parking",
            event_location={"type": "Point", "coordinates": [bay.lng, bay.lat]},
            data_source_device_name="STAKE-A",
            vehicle_type="car",
            sensor_status_is_online=True,
        ),
        cds_event(
            town.stake_a,
            pos_bay,
            "park_start",
            at + timedelta(milliseconds=1),
            plate="贵 a54321",
            event_id=str(uuid.uuid4()).upper(),
            curb_zone_id=None,
            event_location={"type": "Point", "coordinates": [106, 26]},
        ),
        cds_event(
            town.pos,
            town.bay("T1-3"),
            "park_start",
            at + timedelta(seconds=7, milliseconds=999),
            plate="贵B77777",
            data_source_device_name="attendant Wang",
            custom_attributes={"registered_by": "attendant Wang"},
            actual_cost=500,
            payment_method="cash",
        ),
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "comms_lost",
            "event_time": to_ms(at),
            "event_publication_time": to_ms(at) + 5,
            "data_source_type": "camera",
            "data_source_device_id": town.stake_b.device.uuid,
            "sensor_status_is_online": False,
        },
    ]


def old_row(town: SmallDistrict, item: dict[str, Any], erased: bool = False) -> dict[str, Any]:
    """The row the intake wrote before 0025_lean_events (sensors/intake.py `_row`)."""
    event = parse_event(item)
    devices = {d.device.uuid: d.device.id for d in (town.stake_a, town.stake_b, town.pos, town.feed)}
    bay = next((b for b in town.bays if b.uuid == event.space_uuid), None)
    plate = None if erased else event.plate
    payload = {k: v for k, v in item.items() if not (erased and k == "vehicle_license_plate")}
    return {
        "district_id": town.district.id,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "event_time": event.event_time,
        "received_at": NOW,
        "device_id": devices[event.device_uuid],
        "bay_id": bay.id if bay else None,
        "road_id": bay.road_id if bay else None,
        "data_source_type": event.data_source_type,
        "session_id": event.session_id,
        "plate": plate,
        "plate_key": plate_key_or_none(plate),
        "plate_confidence": event.plate_confidence,
        "payload": payload,
    }


def test_every_event_logged_before_the_lean_log_reads_back_as_the_same_cds_json(
    database_url: str, tmp_path: Path
) -> None:
    with own_database(database_url, tmp_path) as url:
        config = alembic_config(url)
        before = ScriptDirectory.from_config(config).get_revision(LEAN).down_revision
        assert isinstance(before, str)
        command.downgrade(config, before)
        engine = make_engine(url)
        try:
            with Session(engine) as db:
                town = build_small_district(db, NOW)
                events = sent_events(town)
                # The last one as plate retention left it: plate erased from column and JSON.
                erased = cds_event(town.stake_b, town.bay("T2-1"), "park_start", NOW, plate="贵C11111")
                rows = [old_row(town, e) for e in events] + [old_row(town, erased, erased=True)]
                db.execute(_OLD_EVENT.insert(), rows)
                db.commit()
            command.upgrade(config, "heads")
            with Session(engine) as db:
                stored = logged_payloads(db)
                extras = db.execute(
                    select(CurbEvent.sent_fields, CurbEvent.extra).order_by(CurbEvent.id)
                ).all()
        finally:
            engine.dispose()
    expected = {row["event_id"]: row["payload"] for row in rows}
    assert stored == expected
    assert extras[0].extra is None  # all the builder's event holds, its columns give back
    assert extras[1] == (
        2 ** len(DERIVED) - 1,
        {"event_purpose": "parking", "vehicle_type": "car", "sensor_status_is_online": True},
    )
