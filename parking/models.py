"""Inventory and stays: districts, areas, roads (CDS curb zones), bays (CDS curb spaces), stays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from parking.db import Base, BigId
from parking.plates import plate_key_or_none


def new_uuid() -> str:
    return str(uuid.uuid4())


class District(Base):
    """A tenant: one city district with its own zone, currency, inventory and devices."""

    __tablename__ = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    # An ended stay not paid within this many minutes becomes arrears on its plate's ledger.
    payment_window_minutes: Mapped[int] = mapped_column(default=24 * 60, server_default="1440")
    # Which plates the district accepts: a name in parking.plate_rules.PLATE_RULES.
    plate_rule: Mapped[str] = mapped_column(String(32), default="alphanumeric", server_default="alphanumeric")
    # The language of its pages, receipts and reports when a person has chosen none (a Babel
    # locale: zh_Hans_CN, en).
    default_locale: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    # The driver page's map tiles (parking/map_tiles.py): an XYZ URL template, or none for a
    # plain background; their attribution; the datum they are drawn in ("wgs84" or "gcj02").
    tile_url: Mapped[str | None] = mapped_column(String(500))
    tile_attribution: Mapped[str | None] = mapped_column(String(300))
    tile_crs: Mapped[str] = mapped_column(String(8), default="wgs84", server_default="wgs84")
    created_at: Mapped[datetime]


class Area(Base):
    """A CDS curb area: a named group of roads, such as a neighbourhood."""

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[dict[str, Any]]
    published_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Road(Base):
    """A CDS curb zone: one block face of a street between two cross streets."""

    __tablename__ = "road"
    __table_args__ = (
        UniqueConstraint("district_id", "name"),
        # Vacancy near a point: the box overlap test runs inside this index.
        Index("ix_road_box", "district_id", "min_lat", "max_lat", "min_lng", "max_lng"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    street_name: Mapped[str | None] = mapped_column(String(200))
    cross_street_start_name: Mapped[str | None] = mapped_column(String(200))
    cross_street_end_name: Mapped[str | None] = mapped_column(String(200))
    street_side: Mapped[str | None] = mapped_column(String(2))
    # Which of the district's tariffs (billing.TariffVersion.code) prices this road.
    tariff_code: Mapped[str] = mapped_column(String(40), default="standard", server_default="standard")
    geometry: Mapped[dict[str, Any]]
    # Centre and bounding box of the geometry, so distance and box filters run in SQL.
    center_lat: Mapped[float]
    center_lng: Mapped[float]
    min_lat: Mapped[float]
    min_lng: Mapped[float]
    max_lat: Mapped[float]
    max_lng: Mapped[float]
    published_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    bays: Mapped[list[Bay]] = relationship(back_populates="road", order_by="Bay.space_number")


class Bay(Base):
    """A CDS curb space: one marked parking bay, and where its timeline stands now."""

    __tablename__ = "bay"
    __table_args__ = (
        UniqueConstraint("district_id", "name"),
        Index("ix_bay_road_number", "road_id", "space_number"),
        Index("ix_bay_district_updated", "district_id", "updated_at"),  # vacancy refresh
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    road_id: Mapped[int] = mapped_column(ForeignKey("road.id"))
    name: Mapped[str] = mapped_column(String(64))
    space_number: Mapped[int]
    lat: Mapped[float]
    lng: Mapped[float]
    geometry: Mapped[dict[str, Any]]
    length_cm: Mapped[int]
    # The bay's own tariff (billing.TariffVersion.code) where its signs differ from its
    # road's; None: the road's `tariff_code` applies.
    tariff_code: Mapped[str | None] = mapped_column(String(40))
    published_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Derived from the event log by the timeline; `unknown` until the first event.
    state: Mapped[str] = mapped_column(String(10), default="unknown")
    state_since: Mapped[datetime | None]
    open_stay_id: Mapped[int | None]
    last_event_at: Mapped[datetime | None]

    road: Mapped[Road] = relationship(back_populates="bays")


class PlateKeyed:
    """A row that stores a plate also stores its keyed hash, which every lookup by plate
    uses (docs/PRIVACY.md). Rows written through the ORM get the key here; set-based
    writers fill `plate_key` themselves."""

    @validates("plate")
    def _key_plate(self, _name: str, plate: str | None) -> str | None:
        self.plate_key = plate_key_or_none(plate)
        return plate


class Stay(PlateKeyed, Base):
    """One vehicle's stay in one bay, derived from that bay's events.

    Identity is the bay plus the event that started it, so re-deriving a timeline keeps
    the ids of the stays it does not change (billing and enforcement point at them).
    """

    __tablename__ = "stay"
    __table_args__ = (
        UniqueConstraint("start_event_id", "bay_id"),
        Index("ix_stay_bay_started", "bay_id", "started_at"),
        Index("ix_stay_district_started", "district_id", "started_at"),
        Index("ix_stay_road_started", "road_id", "started_at"),
        Index("ix_stay_plate_key", "district_id", "plate_key"),
        Index("ix_stay_district_updated", "district_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    bay_id: Mapped[int] = mapped_column(ForeignKey("bay.id"))
    road_id: Mapped[int] = mapped_column(ForeignKey("road.id"))
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(32))
    plate_confidence: Mapped[int | None]
    plate_source: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # `event` when a park_end closed it, `implicit` when another vehicle's arrival did.
    ended_by: Mapped[str | None] = mapped_column(String(10))
    start_event_id: Mapped[str] = mapped_column(String(36))
    end_event_id: Mapped[str | None] = mapped_column(String(36))
    event_ids: Mapped[list[str]]
    sources: Mapped[list[str]]
    updated_at: Mapped[datetime]


class TimelineAnomaly(Base):
    """An event the timeline had to handle by a written rule (see docs/TIMELINE.md)."""

    __tablename__ = "timeline_anomaly"
    __table_args__ = (Index("ix_anomaly_bay_at", "bay_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    bay_id: Mapped[int] = mapped_column(ForeignKey("bay.id"))
    event_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]


class SchedulerLease(Base):
    """Who runs the scheduled jobs: one holder at a time, for as long as it renews."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]
