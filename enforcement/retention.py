"""Plate retention in enforcement's tables (parking/retention.py runs it): a plate with a
violation still going on, or a citation still to be paid or decided, is kept; an erased
stay's ended violations, their decided citations, closed tasks' copied plates and old plate
checks lose their plate."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, exists, select, update
from sqlalchemy.orm import Session

from enforcement.models import APPEALED, CANCELLED, ISSUED, RESOLVED, UPHELD, Citation, Task, Violation
from enforcement.models_warden import PlateCheck
from parking.retention import Keeps, RetentionStep, erase_plates, erased_stays, run
from parking.sql_functions import json_has, json_without

STANDING_CITATIONS = (ISSUED, APPEALED, UPHELD)
CLOSED_TASKS = (RESOLVED, CANCELLED)
_VIOLATION = cast(Table, Violation.__table__)
_CITATION = cast(Table, Citation.__table__)
_TASK = cast(Table, Task.__table__)
_PLATE_CHECK = cast(Table, PlateCheck.__table__)


def in_violation(district_id: int, key: Any) -> ColumnElement[bool]:
    violation = _VIOLATION.c
    return exists().where(
        violation.district_id == district_id, violation.plate_key == key, violation.ended_at.is_(None)
    )


def cited(district_id: int, key: Any) -> ColumnElement[bool]:
    citation = _CITATION.c
    return exists().where(
        citation.district_id == district_id,
        citation.plate_key == key,
        citation.status.in_(STANDING_CITATIONS),
    )


def erase_violations(db: Session, district_id: int, cutoff: datetime, kept: Keeps) -> int:
    """The ended violations of stays that lost their plate, unless the plate is kept."""
    violation = _VIOLATION.c
    statement = erase_plates(_VIOLATION, district_id).where(
        violation.stay_id.in_(erased_stays(district_id, cutoff)),
        violation.ended_at.is_not(None),
        ~kept(district_id, violation.plate_key),
    )
    return run(db, statement)


def erase_citations(db: Session, district_id: int, _cutoff: datetime, _kept: Keeps) -> int:
    """The citations of violations that lost their plate, once no longer standing."""
    erased_violation = select(_VIOLATION.c.id).where(
        _VIOLATION.c.district_id == district_id, _VIOLATION.c.plate_key.is_(None)
    )
    statement = erase_plates(_CITATION, district_id).where(
        _CITATION.c.violation_id.in_(erased_violation), _CITATION.c.status.not_in(STANDING_CITATIONS)
    )
    return run(db, statement)


def erase_tasks(db: Session, district_id: int, cutoff: datetime, _kept: Keeps) -> int:
    """Tasks closed (resolved or cancelled) and created before the cutoff: the plate their
    details copied (a violation's, or a plate in arrears) goes; the rest of the record stays."""
    task = _TASK.c
    statement = (
        update(_TASK)
        .where(
            task.district_id == district_id,
            task.status.in_(CLOSED_TASKS),
            task.created_at < cutoff,
            json_has(task.details, "plate"),
        )
        .values(details=json_without(task.details, "plate"))
    )
    return run(db, statement)


def erase_plate_checks(db: Session, district_id: int, cutoff: datetime, kept: Keeps) -> int:
    """Plate checks older than the cutoff, unless the plate is kept."""
    check = _PLATE_CHECK.c
    statement = erase_plates(_PLATE_CHECK, district_id).where(
        check.checked_at < cutoff, ~kept(district_id, check.plate_key)
    )
    return run(db, statement)


VIOLATIONS = RetentionStep("violations", erase_violations)
CITATIONS = RetentionStep("citations", erase_citations)
TASKS = RetentionStep("tasks", erase_tasks)
PLATE_CHECKS = RetentionStep("plate_checks", erase_plate_checks)
