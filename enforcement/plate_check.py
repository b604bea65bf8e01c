"""A plate check at the curb: where the plate is parked, whether its stay is paid, what it
owes, its open violations and standing citations. Every check is written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CompoundSelect,
    Row,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from billing.ledger import plate_ledger
from billing.models import SUCCEEDED, Payment, PaymentAllocation, StayFee
from billing.tariffs import in_force, tariff_version
from enforcement.models import APPEALED, ISSUED, UPHELD, Citation, Violation
from enforcement.models_warden import WARDEN_PLATE_CHECK, PlateCheck
from identity.models import StaffToken
from parking.db import run
from parking.errors import InvalidInputError, NotFoundError
from parking.models import Bay, District, Road, Stay, new_uuid
from parking.plate_rules import accept_plate, vehicle_class_for_plate
from parking.plates import normalise_plate, plate_key, plate_key_or_none

STANDING = (ISSUED, APPEALED, UPHELD)  # citations still to be paid or decided
_PLATE_CHECK = cast(Table, PlateCheck.__table__)


class PlateRequiredError(InvalidInputError):
    code = "plate_required"


class UnknownBayError(NotFoundError):
    code = "unknown_bay"


@dataclass(frozen=True)
class CheckedFrom:
    """Where the person checking stood: a bay they named, or their coordinates."""

    bay_uuid: str | None = None
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True)
class PlateAnswer:
    """What a plate check answers."""

    result: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        return _summary(self.result)


def check_plate(
    db: Session, district: District, raw_plate: str, staff: StaffToken, where: CheckedFrom, now: datetime
) -> tuple[str, dict[str, Any]]:
    """Answer a plate check and log it (who, when, plate, from where, a result summary)."""
    answer = answer_plate_check(db, district, raw_plate, where, now)
    return record_plate_check(db, district, staff, answer, where, now), answer.result


def record_plate_check(
    db: Session, district: District, staff: StaffToken, answer: PlateAnswer, where: CheckedFrom, now: datetime
) -> str:
    """Put a warden's plate check on the audit log, from its answer; returns the entry's id.
    `UnknownBayError` when the bay it was made from is not one of the district's."""
    plate = answer.result["plate"]
    return record_plate_lookup(db, district, plate, staff, WARDEN_PLATE_CHECK, answer.summary, now, where)


def answer_plate_check(
    db: Session, district: District, raw_plate: str, where: CheckedFrom, now: datetime
) -> PlateAnswer:
    """The reads of a plate check, nothing written: the caller logs it with
    `record_plate_check` before the answer leaves (the route does so in its own short
    write transaction), which finds the bay it was made from, or refuses an unknown one."""
    if not raw_plate.strip():
        raise PlateRequiredError("a plate check needs a plate", ["plate"])
    plate = accept_plate(district.plate_rule, raw_plate)
    bay_uuid = None if where.bay_uuid is None else where.bay_uuid.lower()
    stay = _latest_stay(db, district, plate)
    ledger = plate_ledger(db, district, plate)
    open_here = stay is not None and stay.ended_at is None
    violations, citations = _violations_and_citations(db, district, plate)
    result: dict[str, Any] = {
        "plate": plate,
        "checked_at": now,
        "currency": district.currency,
        "stay": _stay_summary(db, district, stay, now) if stay else None,
        "parked": open_here,
        "at_bay": None if bay_uuid is None else bool(open_here and stay and stay.bay_uuid == bay_uuid),
        "outstanding": ledger.outstanding,
        "arrears": ledger.arrears,
        "unpaid_stays": len(ledger.stays),
        "violations": violations,
        "citations": citations,
    }
    return PlateAnswer(result)


def record_plate_lookup(
    db: Session,
    district: District,
    plate: str,
    staff: StaffToken,
    route: str,
    result: dict[str, Any],
    now: datetime,
    where: CheckedFrom | None = None,
) -> str:
    """Put one staff lookup by plate on the audit log the bureau reads: who (token, name,
    role), when, through which route, the plate (text and key), from where (a bay, found by
    the INSERT itself: `UnknownBayError` and nothing written when the district has no such
    bay), and a summary of the answer. Returns the entry's id. One INSERT statement, sent now
    (the caller commits)."""
    plate = normalise_plate(plate)
    where = where or CheckedFrom()
    row = {"plate_key": plate_key_or_none(plate), "lat": where.lat, "lng": where.lng}
    return _log(db, district, staff, route, plate, result, now, where.bay_uuid, **row)


def record_plate_listing(
    db: Session, district: District, staff: StaffToken, route: str, summary: dict[str, Any], now: datetime
) -> None:
    """Put a listing that carried plates on the audit log: no plate, `summary` says what was
    asked and how many plates came back (docs/PRIVACY.md). Sent now (the caller commits)."""
    _log(db, district, staff, route, None, summary, now, None)


def _log(
    db: Session,
    district: District,
    staff: StaffToken,
    route: str,
    plate: str | None,
    result: dict[str, Any],
    now: datetime,
    bay_uuid: str | None,
    **columns: Any,
) -> str:
    """One row on the audit log: who, when, through which route, the plate if any, what was
    answered, the bay it was made from if any and `columns` (where from). One INSERT, sent
    now; returns the row's id."""
    check_id = new_uuid()
    row = {
        "uuid": check_id,
        "district_id": district.id,
        "staff_token_id": staff.id,
        "staff_name": staff.name,
        "staff_role": staff.role,
        "checked_at": now,
        "route": route,
        "plate": plate,
        "result": result,
        **columns,
    }
    if bay_uuid is None:
        run(db, _INSERT_CHECK, row)
        return check_id
    if run(db, _INSERT_CHECK_AT_BAY, {**row, "bay": bay_uuid.lower()}).rowcount != 1:
        raise UnknownBayError(f"no bay {bay_uuid} in {district.slug}", ["bay"])
    return check_id


# Built once: every plate check writes one. From a bay: the row takes the bay's id from the
# bay's own row, so an unknown bay inserts nothing, and no read of its own finds the id
# (SQLAlchemy keeps an INSERT's row count only when asked to).
_INSERT_CHECK = insert(_PLATE_CHECK)
_BOUND = (  # the columns the statement's parameters fill
    "uuid",
    "staff_token_id",
    "staff_name",
    "staff_role",
    "checked_at",
    "route",
    "plate",
    "plate_key",
    "lat",
    "lng",
    "result",
)
_INSERT_CHECK_AT_BAY = (
    insert(_PLATE_CHECK)
    .from_select(
        [*_BOUND, "district_id", "bay_id"],
        select(
            *(bindparam(name, type_=_PLATE_CHECK.c[name].type) for name in _BOUND), Bay.district_id, Bay.id
        ).where(Bay.district_id == bindparam("district_id"), Bay.uuid == bindparam("bay")),
    )
    .execution_options(preserve_rowcount=True)
)
# The check's reads, built once: a statement built per request costs more CPU than SQLite
# takes to run it, and a prebuilt one keeps its compiled form and cache key.
# What succeeded payments have put on a stay so far (a POS payment at the curb, a card).
_ALLOCATED = (
    select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
    .join(Payment, Payment.id == PaymentAllocation.payment_id)
    .where(PaymentAllocation.stay_id == Stay.id, Payment.status == SUCCEEDED)
    .correlate(Stay)
    .scalar_subquery()
)
_LATEST_STAY = (
    select(
        Stay.uuid,
        Stay.bay_id,
        Stay.plate,
        Stay.started_at,
        Stay.ended_at,
        Bay.name.label("bay_name"),
        Bay.uuid.label("bay_uuid"),
        Road.name.label("road_name"),
        # The tariff in force when the stay began (the code as pricing reads it), for the
        # meter of a running stay, in this statement rather than a read of its own.
        in_force(Stay.district_id, func.coalesce(Bay.tariff_code, Road.tariff_code), Stay.started_at)
        .scalar_subquery()
        .label("tariff_uuid"),
        StayFee.status.label("fee_status"),
        StayFee.amount.label("fee_amount"),
        StayFee.paid.label("fee_paid"),
        _ALLOCATED.label("allocated"),
    )
    .join(Bay, Bay.id == Stay.bay_id)
    .join(Road, Road.id == Stay.road_id)
    .outerjoin(StayFee, StayFee.stay_id == Stay.id)
    .where(Stay.district_id == bindparam("district_id"), Stay.plate_key == bindparam("plate_key"))
    .order_by(Stay.ended_at.is_not(None), Stay.started_at.desc())
    .limit(1)
)
# A plate's open violations and standing citations, in one statement (one round trip less
# for PostgreSQL): each row says which it is, with the other's columns NULL. Sorted in
# Python, not by SQL: an ORDER BY lures SQLite onto the district's (started) index, a scan
# of every violation of the district, instead of the plate's few rows.
_VIOLATIONS_AND_CITATIONS: CompoundSelect[*tuple[Any, ...]] = union_all(
    select(
        literal_column("'violation'").label("kind"),
        Violation.uuid,
        Violation.rule,
        Bay.name.label("bay"),
        Road.name.label("road"),
        null().label("status"),
        null().label("amount"),
        Violation.started_at.label("at"),
    )
    .join(Bay, Bay.id == Violation.bay_id)
    .join(Road, Road.id == Violation.road_id)
    .where(
        Violation.district_id == bindparam("district_id"),
        Violation.plate_key == bindparam("plate_key"),
        Violation.ended_at.is_(None),
    ),
    select(
        literal_column("'citation'"),
        Citation.uuid,
        Violation.rule,
        null(),
        null(),
        Citation.status,
        Citation.amount,
        Citation.issued_at,
    )
    .join(Violation, Violation.id == Citation.violation_id)
    .where(
        Citation.district_id == bindparam("district_id"),
        Citation.plate_key == bindparam("plate_key"),
        Citation.status.in_(STANDING),
    ),
)


def _latest_stay(db: Session, district: District, plate: str) -> Row[Any] | None:
    """The plate's open stay (the newest if a camera misread left two), else its last stay;
    with its bay, road, fee, what was paid on it and the tariff in force when it began,
    in one statement."""
    params = {"district_id": district.id, "plate_key": plate_key(plate)}
    row: Row[Any] | None = run(db, _LATEST_STAY, params).first()
    return row


def _stay_summary(db: Session, district: District, stay: Row[Any], now: datetime) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "id": stay.uuid,
        "bay": stay.bay_name,
        "bay_id": stay.bay_uuid,
        "road": stay.road_name,
        "since": stay.started_at,
        "ended_at": stay.ended_at,
        "minutes": int(((stay.ended_at or now) - stay.started_at).total_seconds() // 60),
    }
    if stay.ended_at is None:
        amount = _fee_so_far(db, district, stay, now)
        summary["fee"] = {"status": "running", "amount": amount, "paid": int(stay.allocated)}
    elif stay.fee_status is not None:
        summary["fee"] = {"status": stay.fee_status, "amount": stay.fee_amount, "paid": stay.fee_paid}
    else:
        summary["fee"] = {"status": "unpriced", "amount": None, "paid": int(stay.allocated)}
    return summary


def _fee_so_far(db: Session, district: District, stay: Row[Any], now: datetime) -> int | None:
    """What the meter shows now, by the tariff version in force when the stay started."""
    if stay.tariff_uuid is None:
        return None
    tariff = tariff_version(db, stay.tariff_uuid, district.time_zone)
    return tariff.price(stay.started_at, now, vehicle_class_for_plate(stay.plate, district.plate_rule)).amount


def _violations_and_citations(
    db: Session, district: District, plate: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The plate's open violations, oldest first, and its standing citations, oldest first."""
    rows = run(db, _VIOLATIONS_AND_CITATIONS, {"district_id": district.id, "plate_key": plate_key(plate)})
    violations: list[dict[str, Any]] = []
    citations: list[dict[str, Any]] = []
    for kind, uuid, rule, bay, road, status, amount, at in sorted(rows, key=lambda row: row.at):
        if kind == "violation":
            violations.append({"id": uuid, "rule": rule, "bay": bay, "road": road, "since": at})
        else:
            citations.append({"id": uuid, "rule": rule, "status": status, "amount": amount, "issued_at": at})
    return violations, citations


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of an answer: enough to know what was disclosed, JSON-able."""
    stay = result["stay"]
    return {
        "parked": result["parked"],
        "at_bay": result["at_bay"],
        "stay": stay["id"] if stay else None,
        "bay": stay["bay"] if stay else None,
        "fee_status": stay["fee"]["status"] if stay else None,
        "arrears": result["arrears"],
        "violations": len(result["violations"]),
        "citations": len(result["citations"]),
    }


def list_plate_checks(
    db: Session,
    district: District,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    plate: str | None = None,
    staff_name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[tuple[PlateCheck, str | None]]]:
    """The audit log, newest first, with the bay name; and how many rows match."""
    query = select(PlateCheck, Bay.name).outerjoin(Bay, Bay.id == PlateCheck.bay_id)
    query = query.where(PlateCheck.district_id == district.id)
    if since is not None:
        query = query.where(PlateCheck.checked_at >= since)
    if until is not None:
        query = query.where(PlateCheck.checked_at < until)
    if plate is not None:
        query = query.where(PlateCheck.plate_key == plate_key(plate))
    if staff_name is not None:
        query = query.where(PlateCheck.staff_name == staff_name)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(
        query.order_by(PlateCheck.checked_at.desc(), PlateCheck.id.desc()).limit(limit).offset(offset)
    )
    return total, [(check, bay) for check, bay in rows]
