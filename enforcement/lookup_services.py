"""Use cases of the staff reads that carry plates (docs/PRIVACY.md): a plate check at the
curb, a search of the plate-check audit log, stays by plate or in bulk, and any listing that
carries plates. Each reads first, then puts its row on the audit log in a short unit of work
of its own (`writing(db, keep_reads=True)`, parking/unit_of_work.py), committed before the
answer leaves: SQLite's one write lock, which every writer of every worker waits for, is held
for that row alone, and what was read is not read again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from enforcement.models_warden import (
    AUDIT_SEARCH,
    STAY_LIST,
    STAY_SEARCH,
    PlateCheck,
    StaffPosition,
)
from enforcement.plate_check import (
    CheckedFrom,
    answer_plate_check,
    list_plate_checks,
    record_plate_check,
    record_plate_listing,
    record_plate_lookup,
)
from identity.models import StaffToken
from parking.models import District
from parking.stay_search import StayFilter, StayView, find_stays
from parking.unit_of_work import writing


@dataclass(frozen=True)
class PlateChecked:
    result: dict[str, Any]  # what the check answers (enforcement/plate_check.py)
    check: str  # the id of its row on the audit log


def check_plate_as(
    db: Session, district: District, staff: StaffToken, raw_plate: str, where: CheckedFrom, now: datetime
) -> PlateChecked:
    """A staff member checks a plate at the curb, from the bay or coordinates given, else from
    their last known position. The reads come first; the audit row (who, when, plate, from
    where, a summary) is written in a short unit of work of its own, committed before the
    answer leaves, so the write lock is held for that row alone."""
    if where == CheckedFrom():
        position = db.get(StaffPosition, staff.id)
        where = CheckedFrom(None, position.lat, position.lng) if position else where
    answer = answer_plate_check(db, district, raw_plate, where, now)
    with writing(db, keep_reads=True):
        check = record_plate_check(db, district, staff, answer, where, now)
    return PlateChecked(answer.result, check)


def search_plate_checks(
    db: Session,
    district: District,
    staff: StaffToken,
    now: datetime,
    *,
    since: datetime | None,
    until: datetime | None,
    plate: str | None,
    staff_name: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[tuple[PlateCheck, str | None]]]:
    """One page of the plate-check audit log, newest first, with the bay names, and how many
    rows match. A search by plate is itself a lookup of that plate: once read, it goes on the
    log in a short unit of work of its own."""
    total, rows = list_plate_checks(
        db, district, since=since, until=until, plate=plate, staff_name=staff_name, limit=limit, offset=offset
    )
    if plate:
        with writing(db, keep_reads=True):
            record_plate_lookup(db, district, plate, staff, AUDIT_SEARCH, {"checks": total}, now)
    return total, rows


def search_stays(
    db: Session,
    district: District,
    staff: StaffToken,
    found: StayFilter,
    now: datetime,
    *,
    offset: int,
    limit: int,
    shows_plates: bool,
    query: str,
) -> tuple[list[StayView], int]:
    """One page of stays and how many match. A search by plate goes on the audit log as a
    lookup of that plate; a listing that carries plates as one row (`query`: what was asked);
    both in a short unit of work once the reads are done. A member whose role does not show
    plates (`shows_plates` False, from the access matrix) gets the stays without them."""
    stays, total = find_stays(db, district.id, found, now, offset=offset, limit=limit)
    if found.plate:
        with writing(db, keep_reads=True):
            record_plate_lookup(db, district, found.plate, staff, STAY_SEARCH, {"stays": total}, now)
    elif not shows_plates:
        stays = [replace(stay, plate=None, plate_confidence=None) for stay in stays]
    elif plates := {stay.plate for stay in stays if stay.plate}:
        summary = {"query": query, "stays": len(stays), "plates": len(plates)}
        audit_plate_listing(db, district, staff, STAY_LIST, summary, now)
    return stays, total


def audit_plate_listing(
    db: Session, district: District, staff: StaffToken, route: str, summary: dict[str, Any], now: datetime
) -> None:
    """Put a listing that carried plates (stays, CDS events) on the audit log, in a short unit
    of work of its own once the reads are done, committed before the answer leaves."""
    with writing(db, keep_reads=True):
        record_plate_listing(db, district, staff, route, summary, now)
