"""Plate retention: the plate text (and its key) of a settled stay is erased once the stay
ended more than the retention ago, with every copy of that plate the stay left behind
(docs/PRIVACY.md). Counts, times, fees and payments stay: every report reads the same after.

A plate is kept while its owner still has business with the district: arrears on its key,
a violation still going on, or a citation still to be paid or decided. Every statement is
set-based (a city ends half a million stays a day).

`parking` imports no other package, so the billing, enforcement and sensors tables appear
here as plain table clauses with just the columns the rules read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Delete,
    Update,
    and_,
    column,
    delete,
    exists,
    null,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.orm import Session

from parking.db import UTCDateTime, json_has, json_without
from parking.models import District, Stay
from parking.stay_rules import touching

# Values of billing/models.py (stay_fee.status) and enforcement/models.py (citation.status).
SETTLED_FEES = ("paid", "free")
ARREARS = "arrears"
STANDING_CITATIONS = ("issued", "appealed", "upheld")
CLAIM_PENDING = "pending"  # billing/models.py (plate_claim.status)
PLATE_FIELD = "vehicle_license_plate"  # where a CDS curb event carries its plate

_stay_fee = table(
    "stay_fee",
    column("stay_id"),
    column("district_id"),
    column("plate"),
    column("plate_key"),
    column("status"),
)
_payment = table(
    "payment",
    column("id"),
    column("district_id"),
    column("plate"),
    column("plate_key"),
    column("created_at", UTCDateTime()),
)
_allocation = table("payment_allocation", column("payment_id"), column("stay_id"))
_violation = table(
    "violation",
    column("id"),
    column("district_id"),
    column("stay_id"),
    column("plate"),
    column("plate_key"),
    column("ended_at", UTCDateTime()),
)
_citation = table(
    "citation",
    column("violation_id"),
    column("district_id"),
    column("plate"),
    column("plate_key"),
    column("status"),
)
_plate_check = table(
    "plate_check",
    column("district_id"),
    column("plate"),
    column("plate_key"),
    column("checked_at", UTCDateTime()),
)
_plate_claim = table(
    "plate_claim",
    column("district_id"),
    column("status"),
    column("created_at", UTCDateTime()),
    column("decided_at", UTCDateTime()),
)
_task = table(
    "task",
    column("district_id"),
    column("status"),
    column("created_at", UTCDateTime()),
    column("details", JSON()),
)
CLOSED_TASKS = ("resolved", "cancelled")  # enforcement/models.py (task.status)
_curb_event = table(
    "curb_event",
    column("district_id"),
    column("bay_id"),
    column("plate"),
    column("plate_key"),
    column("event_time", UTCDateTime()),
    column("extra", JSON()),
)


@dataclass
class RetentionResult:
    """How many rows of each table lost their plate in one run."""

    erased: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.erased.values())

    def summary(self) -> str:
        parts = ", ".join(f"{n} {name}" for name, n in self.erased.items())
        return f"{self.total} plates erased ({parts})"


def erase_old_plates(db: Session, district: District, now: datetime, days: int) -> RetentionResult:
    """Erase the plates of the district's settled stays that ended more than `days` ago,
    and of what those stays left behind: their fee, payments, events, ended violations and
    decided citations; and of plate checks older than that; plate claims decided, or left
    pending, since before then are deleted (`_delete_claims`). Plates still owing, still in
    violation or still cited are kept. Idempotent: a second run erases nothing."""
    if days < 0:
        raise ValueError("the plate retention is a number of days, 0 or more")
    cutoff = now - timedelta(days=days)
    result = RetentionResult()
    d = district.id
    # The stays first; each copy then goes when the stay it came from has lost its plate.
    result.erased["stays"] = _run(db, _erase_stays(d, cutoff))
    erased_stay = select(Stay.id).where(
        Stay.district_id == d, Stay.plate_key.is_(None), Stay.ended_at < cutoff
    )
    result.erased["fees"] = _run(
        db,
        _erase(_stay_fee, d).where(_stay_fee.c.stay_id.in_(erased_stay)),
    )
    result.erased["violations"] = _run(
        db,
        _erase(_violation, d).where(
            _violation.c.stay_id.in_(erased_stay),
            _violation.c.ended_at.is_not(None),
            ~_kept(d, _violation.c.plate_key),
        ),
    )
    erased_violation = select(_violation.c.id).where(
        _violation.c.district_id == d, _violation.c.plate_key.is_(None)
    )
    result.erased["citations"] = _run(
        db,
        _erase(_citation, d).where(
            _citation.c.violation_id.in_(erased_violation), _citation.c.status.not_in(STANDING_CITATIONS)
        ),
    )
    result.erased["payments"] = _run(db, _erase_payments(d, cutoff))
    result.erased["curb_events"] = _run(db, _erase_events(d, cutoff))
    result.erased["tasks"] = _run(db, _erase_tasks(d, cutoff))
    result.erased["plate_checks"] = _run(
        db,
        _erase(_plate_check, d).where(
            _plate_check.c.checked_at < cutoff, ~_kept(d, _plate_check.c.plate_key)
        ),
    )
    result.erased["plate_claims"] = _run(db, _delete_claims(d, cutoff))
    return result


def _delete_claims(district_id: int, cutoff: datetime) -> Delete:
    """Plate claims decided before the cutoff (a proven link lives on in `driver_plate`), and
    claims still pending that were filed before it: nobody proved them within the retention,
    and the driver may file again. The whole row goes: the plate and the driver's evidence
    are all it holds."""
    claim = _plate_claim.c
    return delete(_plate_claim).where(
        claim.district_id == district_id,
        or_(
            claim.decided_at < cutoff,
            and_(claim.status == CLAIM_PENDING, claim.created_at < cutoff),
        ),
    )


def _erase_stays(district_id: int, cutoff: datetime) -> Update:
    """Ended before the cutoff, settled (paid, free, or never priced: no tariff), not kept.
    Confidence and source go too: a replay of the erased events derives none."""
    fee = _stay_fee.c
    unsettled = exists().where(fee.stay_id == Stay.id, fee.status.not_in(SETTLED_FEES))
    return (
        update(Stay)
        .where(
            Stay.district_id == district_id,
            Stay.plate_key.is_not(None),
            Stay.ended_at < cutoff,
            ~unsettled,
            ~_kept(district_id, Stay.plate_key),
        )
        .values(plate=None, plate_key=None, plate_confidence=None, plate_source=None)
        .execution_options(synchronize_session=False)
    )


def _erase_payments(district_id: int, cutoff: datetime) -> Update:
    """Payments made before the cutoff for stays that all lost their plate (or for none:
    a declined card), unless the plate is kept."""
    allocation = _allocation.c
    plated_stay = (
        exists()
        .where(allocation.payment_id == _payment.c.id)
        .where(Stay.id == allocation.stay_id, Stay.plate_key.is_not(None))
    )
    return _erase(_payment, district_id).where(
        _payment.c.created_at < cutoff, ~plated_stay, ~_kept(district_id, _payment.c.plate_key)
    )


def _erase_events(district_id: int, cutoff: datetime) -> Update:
    """Events before the cutoff that no stay still carrying a plate covers (on their bay,
    between its start and end): their plate column, and the plate as sent when the log kept it
    apart from the column (`extra`, sensors/event_payload.py: sent before it was normalised)."""
    event = _curb_event.c
    covered = exists().where(
        Stay.bay_id == event.bay_id,
        Stay.plate_key.is_not(None),
        touching(event.event_time),  # closed: a stay's end event carries its end time
    )
    return (
        _erase(_curb_event, district_id)
        .where(event.event_time < cutoff, ~covered)
        .values(extra=json_without(event.extra, PLATE_FIELD))
    )


def _erase_tasks(district_id: int, cutoff: datetime) -> Update:
    """Tasks closed (resolved or cancelled) and created before the cutoff: the plate their
    details copied (a violation's, or a plate in arrears) goes; the rest of the record stays."""
    task = _task.c
    return (
        update(_task)
        .where(
            task.district_id == district_id,
            task.status.in_(CLOSED_TASKS),
            task.created_at < cutoff,
            json_has(task.details, "plate"),
        )
        .values(details=json_without(task.details, "plate"))
    )


def _erase(target: Any, district_id: int) -> Update:
    """UPDATE `target` SET plate and plate_key to NULL, for its rows of the district that
    still have a key."""
    return (
        update(target)
        .where(target.c.district_id == district_id, target.c.plate_key.is_not(None))
        .values(plate=null(), plate_key=null())
    )


def _kept(district_id: int, key: Any) -> ColumnElement[bool]:
    """The plate behind `key` is still needed: it has arrears, a violation still going on,
    or a citation still to be paid or decided."""
    fee, violation, citation = _stay_fee.c, _violation.c, _citation.c
    return or_(
        exists().where(fee.district_id == district_id, fee.plate_key == key, fee.status == ARREARS),
        exists().where(
            violation.district_id == district_id, violation.plate_key == key, violation.ended_at.is_(None)
        ),
        exists().where(
            citation.district_id == district_id,
            citation.plate_key == key,
            citation.status.in_(STANDING_CITATIONS),
        ),
    )


def _run(db: Session, statement: Update | Delete) -> int:
    result = db.execute(statement.execution_options(preserve_rowcount=True))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
