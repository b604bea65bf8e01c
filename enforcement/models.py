"""Enforcement tables: violations found by the sweeps, tasks for the teams, citations, fines.

A violation points at its stay without a foreign key: stays are re-derived when late events
arrive and may be rewritten or deleted, and the evidence must outlive that. So the violation
keeps its own copy of the bay, road, plate and times, and is keyed by (stay_id, rule).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parking.db import Base, BigId
from parking.models import PlateKeyed, new_uuid

# violation.rule
OVERSTAY = "overstay"
RESTRICTION = "restriction"
UNREGISTERED = "unregistered"
OBSTRUCTION = "obstruction"
RULES = (OVERSTAY, RESTRICTION, UNREGISTERED, OBSTRUCTION)
# A fine is for a violation's rule, or for arrears (a plate that left stays unpaid).
ARREARS_RULE = "arrears"
FINE_RULES = (*RULES, ARREARS_RULE)
# task.team
TEAMS = ("attendant", "warden", "police", "city", "maintenance")
# task.status
OPEN = "open"
TAKEN = "taken"
RESOLVED = "resolved"
ESCALATED = "escalated"
CANCELLED = "cancelled"
UNTAKEN = (OPEN, ESCALATED)
# citation.status
ISSUED = "issued"
PAID = "paid"
APPEALED = "appealed"
UPHELD = "upheld"
VOIDED = "voided"


# Violations and tasks name their district, bay, road and device without foreign keys, on
# purpose: sweeps write them set-based from a SELECT over those very tables (so every reference
# is valid when written), inventory and devices are never deleted (CDS ids live for ever), and a
# per-row foreign-key check would lock each referenced bay row (FOR KEY SHARE) against the
# intake, which locks bays FOR UPDATE, and cost most of a 100,000-bay sweep (docs/BENCHMARKS.md).


class Violation(PlateKeyed, Base):
    """One rule broken by one stay: from `started_at` (the instant the rule was first broken)
    until the vehicle left (`ended_at`)."""

    __tablename__ = "violation"
    __table_args__ = (
        UniqueConstraint("stay_id", "rule"),
        Index("ix_violation_open", "district_id", "ended_at"),
        Index("ix_violation_district_started", "district_id", "started_at"),
        Index("ix_violation_detected", "district_id", "rule", "detected_at"),
        Index("ix_violation_plate_key", "district_id", "plate_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int]
    rule: Mapped[str] = mapped_column(String(20))
    stay_id: Mapped[int] = mapped_column(BigId)
    bay_id: Mapped[int]
    road_id: Mapped[int]
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(32))
    stay_started_at: Mapped[datetime]
    started_at: Mapped[datetime]
    detected_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    evidence: Mapped[dict[str, Any]]


class Task(Base):
    """Work for one team: check a violation, register a plate, fix a device, chase arrears.

    `key` names what the task is about (`violation:<uuid>`, `device:<uuid>:<outage start>`,
    `arrears:<plate key>:<local date>`), so a sweep that runs again creates nothing new."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("district_id", "key"),
        Index("ix_task_status", "district_id", "status", "created_at"),
        Index("ix_task_violation", "violation_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(120))
    team: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(20))
    violation_id: Mapped[int | None] = mapped_column(BigId)
    device_id: Mapped[int | None]
    bay_id: Mapped[int | None]
    road_id: Mapped[int | None]
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    details: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default=OPEN)
    created_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    taken_by: Mapped[str | None] = mapped_column(String(100))
    taken_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(500))


class Fine(Base):
    """The fine for breaking one rule in one district, in the district's currency, in force
    from `effective_from` until the next version for the same rule (like tariff versions)."""

    __tablename__ = "fine"
    __table_args__ = (UniqueConstraint("district_id", "rule", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    rule: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int]
    effective_from: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime | None]


class Citation(PlateKeyed, Base):
    """A fine issued for a violation; its status moves only as `citations.TRANSITIONS` allows."""

    __tablename__ = "citation"
    __table_args__ = (
        Index("ix_citation_district_issued", "district_id", "issued_at"),
        Index("ix_citation_plate_key", "district_id", "plate_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    violation_id: Mapped[int] = mapped_column(BigId, ForeignKey("violation.id"), index=True)
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default=ISSUED)
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    fine_id: Mapped[int | None] = mapped_column(ForeignKey("fine.id"))


class CitationAllocation(Base):
    """A card payment (billing's `payment`) made for a citation: a fine is paid whole."""

    __tablename__ = "citation_allocation"

    payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("payment.id"), primary_key=True)
    citation_id: Mapped[int] = mapped_column(BigId, ForeignKey("citation.id"), primary_key=True, index=True)
    amount: Mapped[int]


class CitationChange(Base):
    """One step of a citation's life (issued, appealed, upheld, voided, paid): who, when,
    why. The audit trail a decision or a dispute can be checked against."""

    __tablename__ = "citation_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citation_id: Mapped[int] = mapped_column(BigId, ForeignKey("citation.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime]


# dispute.status and dispute.outcome
DISPUTE_OPEN = "open"
DISPUTE_DECIDED = "decided"
DISPUTE_UPHELD = "upheld"
DISPUTE_ADJUSTED = "adjusted"
DISPUTE_CANCELLED = "cancelled"
DISPUTE_OUTCOMES = (DISPUTE_UPHELD, DISPUTE_ADJUSTED, DISPUTE_CANCELLED)


class Dispute(PlateKeyed, Base):
    """A driver contesting a stay's fee or a citation, with a reason, and staff's decision:
    upheld (nothing changes), adjusted (a new amount) or cancelled (nothing owed). Points at
    the stay without a foreign key, like a violation: the stay may be re-derived."""

    __tablename__ = "dispute"
    __table_args__ = (
        Index("ix_dispute_status", "district_id", "status", "created_at"),
        Index("ix_dispute_plate_key", "district_id", "plate_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(32))
    stay_id: Mapped[int | None] = mapped_column(BigId)
    citation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("citation.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("driver_account.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=DISPUTE_OPEN)
    amount_before: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    outcome: Mapped[str | None] = mapped_column(String(10))
    amount_after: Mapped[int | None]
    refunded: Mapped[int] = mapped_column(default=0)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
