"""Devices, what they cover, and the append-only log of every curb event they sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from parking.db import Base, BigId
from parking.models import PlateKeyed, new_uuid

VIDEO_STAKE = "video_stake"
HANDHELD_POS = "handheld_pos"
DATA_FEED = "data_feed"
PATROL_CAR = "patrol_car"  # reads plates as it drives (enforcement/patrol.py); reports no bay state
DEVICE_KINDS = (VIDEO_STAKE, HANDHELD_POS, DATA_FEED, PATROL_CAR)
# Devices that see occupancy; a POS only reports what its attendant enters.
SENSING_KINDS = (VIDEO_STAKE, DATA_FEED)

device_bay = Table(
    "device_bay",
    Base.metadata,
    Column("device_id", ForeignKey("device.id"), primary_key=True),
    Column("bay_id", ForeignKey("bay.id"), primary_key=True, index=True),
)

device_road = Table(
    "device_road",
    Base.metadata,
    Column("device_id", ForeignKey("device.id"), primary_key=True),
    Column("road_id", ForeignKey("road.id"), primary_key=True, index=True),
)


class Device(Base):
    """A video stake (covers bays), a handheld POS (covers a beat of roads) or a data feed
    (covers its district). Its bearer token is kept only as a SHA-256 hash."""

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token a rotation replaced keeps working until `previous_token_expires_at`, so a
    # device can switch to its new token without a moment of refused pushes.
    previous_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_token_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # Decommissioned by an admin: no token of it works any more.
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    online: Mapped[bool] = mapped_column(default=True)
    # Why it is offline: "reported" (its own comms_lost or status report) or "silent" (the
    # health sweep heard nothing from it for too long). None while online.
    offline_reason: Mapped[str | None] = mapped_column(String(10))
    status_changed_at: Mapped[datetime | None]


class CurbEvent(PlateKeyed, Base):
    """One CDS curb event as received: stored once, never changed, keyed by `event_id`.
    The sent JSON is its columns plus `extra` (sensors/event_payload.py); events older than
    the hot window move to the archive (sensors/archive.py)."""

    __tablename__ = "curb_event"
    __table_args__ = (
        UniqueConstraint("district_id", "event_id"),
        Index("ix_curb_event_bay_time", "bay_id", "event_time"),
        Index("ix_curb_event_district_time", "district_id", "event_time"),
        Index("ix_curb_event_session", "district_id", "session_id"),
        Index("ix_curb_event_district_received", "district_id", "received_at"),  # vacancy refresh
        Index("ix_curb_event_plate_key", "district_id", "plate_key"),  # plate retention
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(32))
    event_time: Mapped[datetime]
    received_at: Mapped[datetime]
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    bay_id: Mapped[int | None] = mapped_column(ForeignKey("bay.id"))
    road_id: Mapped[int | None] = mapped_column(ForeignKey("road.id"))
    data_source_type: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(36))
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(32))
    plate_confidence: Mapped[int | None]
    # CDS event_publication_time, as sent (integer milliseconds).
    published_ms: Mapped[int | None] = mapped_column(BigInteger)
    # Which sent fields the columns above give back (bits), and the rest of the sent JSON
    # (sensors/event_payload.py).
    sent_fields: Mapped[int] = mapped_column(SmallInteger, default=0)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
