"""Tables of the warden handheld: where each handheld last was, the audit log of plate
checks, and the photo taken when a task was resolved."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from parking.db import Base, BigId
from parking.models import PlateKeyed, new_uuid

# plate_check.route: the staff route a plate was looked up through.
WARDEN_PLATE_CHECK = "GET /api/v1/<district>/plates/<plate>/check"
STAY_SEARCH = "GET /api/v1/<district>/stays?plate="
# A listing that carried plates without a plate asked for: one row per answer, no plate.
STAY_LIST = "GET /api/v1/<district>/stays"
EVENT_LIST = "GET /cds/<district>/events/events"
AUDIT_SEARCH = "GET /api/v1/<district>/audit/plate-checks?plate="
PATROL_READ = "POST /api/v1/<district>/patrol/reads"


class StaffPosition(Base):
    """The last position a staff member's handheld reported, one row per staff token."""

    __tablename__ = "staff_position"

    staff_token_id: Mapped[int] = mapped_column(ForeignKey("staff_token.id"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    lat: Mapped[float]
    lng: Mapped[float]
    reported_at: Mapped[datetime]


class PlateCheck(PlateKeyed, Base):
    """One plate lookup by staff: who looked a plate up, when, through which route (the
    warden's plate check, the stay search...), from where, and what they were told. Privacy
    needs every look-up on record, so the row is written in the same unit of work as the
    answer. The plate text and key go after the retention (docs/PRIVACY.md); the row stays."""

    __tablename__ = "plate_check"
    __table_args__ = (
        Index("ix_plate_check_district_checked", "district_id", "checked_at"),
        Index("ix_plate_check_plate_key", "district_id", "plate_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    staff_token_id: Mapped[int | None] = mapped_column(ForeignKey("staff_token.id"))  # a person's look-up
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))  # a patrol car's read
    staff_name: Mapped[str] = mapped_column(String(100))
    staff_role: Mapped[str] = mapped_column(String(16))
    checked_at: Mapped[datetime]
    route: Mapped[str] = mapped_column(String(60), default=WARDEN_PLATE_CHECK)
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(32))
    bay_id: Mapped[int | None] = mapped_column(ForeignKey("bay.id"))
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    result: Mapped[dict[str, Any]]


class TaskPhoto(Base):
    """The photo a team member took when resolving a task (JPEG, PNG or WebP)."""

    __tablename__ = "task_photo"

    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("task.id"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    content_type: Mapped[str] = mapped_column(String(20))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime]
