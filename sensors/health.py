"""Device health: a device silent for too long is offline, and its bays become unknown.

The system records each such outage in the event log as a `comms_lost` event of the device
(and intake records `comms_restored` when it is heard again), so the log tells the outage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parking.clock import to_ms
from sensors.event_payload import derived_fields, split_payload
from sensors.models import DATA_FEED, HANDHELD_POS, PATROL_CAR, CurbEvent, Device


@dataclass(frozen=True)
class HealthSweep:
    checked: int
    went_offline: list[str]

    def summary(self) -> str:
        names = ", ".join(self.went_offline[:10]) + (" ..." if len(self.went_offline) > 10 else "")
        return f"{self.checked} devices checked, {len(self.went_offline)} now offline" + (
            f": {names}" if self.went_offline else ""
        )


def sweep_silent_devices(
    db: Session, now: datetime, silent_after: timedelta, district_id: int | None = None
) -> HealthSweep:
    """Mark offline every online device (but patrol cars) not heard from since `now - silent_after`.

    Idempotent: a device already offline is left as it is."""
    cutoff = now - silent_after
    # A patrol car reports no bay state and sends no heartbeat: its silence says nothing.
    query = select(Device).where(Device.online, Device.kind != PATROL_CAR)
    if district_id is not None:
        query = query.where(Device.district_id == district_id)
    checked = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    silent = db.scalars(
        query.where(func.coalesce(Device.last_seen_at, Device.created_at) < cutoff).order_by(Device.id)
    ).all()
    for device in silent:
        device.online, device.offline_reason, device.status_changed_at = False, "silent", now
        db.add(comms_event(device, "comms_lost", now))
    db.flush()
    return HealthSweep(checked, [d.name for d in silent])


_SOURCE_TYPE = {HANDHELD_POS: "in_person", DATA_FEED: "data_feed"}
_NAMESPACE = uuid.UUID("0f3b8f5e-8a7e-4d3c-9a51-2c4f7e6b9d20")


def comms_event(device: Device, event_type: str, now: datetime) -> CurbEvent:
    """A `comms_lost`/`comms_restored` event the system records for a device whose status it
    changed; its id is derived from the device and the instant, so it is written once."""
    payload: dict[str, Any] = {
        "event_id": str(uuid.uuid5(_NAMESPACE, f"{device.uuid}:{event_type}:{to_ms(now)}")),
        "event_type": event_type,
        "event_time": to_ms(now),
        "event_publication_time": to_ms(now),
        "data_source_type": _SOURCE_TYPE.get(device.kind, "camera"),
        "data_source_device_id": device.uuid,
        "sensor_status_is_online": event_type == "comms_restored",
    }
    event = CurbEvent(
        district_id=device.district_id,
        event_id=payload["event_id"],
        event_type=event_type,
        event_time=now,
        received_at=now,
        device_id=device.id,
        data_source_type=payload["data_source_type"],
        published_ms=payload["event_publication_time"],
    )
    derived = derived_fields(
        event_id=event.event_id,
        event_type=event_type,
        event_time=now,
        published_ms=event.published_ms,
        data_source_type=event.data_source_type,
        device_uuid=device.uuid,
        space_uuid=None,
        zone_uuid=None,
        session_id=None,
        plate=None,
        plate_confidence=None,
        device_name=device.name,
    )
    event.sent_fields, event.extra = split_payload(payload, derived)
    return event
