"""A plate check at the curb: where the plate is parked, whether its stay is paid, what it
owes, its open violations and standing citations. Every check is written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.models import SUCCEEDED, Payment, PaymentAllocation, StayFee
from billing.payments import plate_ledger
from billing.tariffs import TariffBook, vehicle_class_for_plate
from enforcement.models import APPEALED, ISSUED, UPHELD, Citation, Violation
from enforcement.models_warden import WARDEN_PLATE_CHECK, PlateCheck
from parking.errors import InvalidInputError, NotFoundError
from parking.models import Bay, District, Road, StaffToken, Stay
from parking.plates import normalise_plate, plate_key

STANDING = (ISSUED, APPEALED, UPHELD)  # citations still to be paid or decided


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


def check_plate(
    db: Session, district: District, raw_plate: str, staff: StaffToken, where: CheckedFrom, now: datetime
) -> tuple[PlateCheck, dict[str, Any]]:
    """Answer a plate check and log it (who, when, plate, from where, a result summary)."""
    if not raw_plate.strip():
        raise PlateRequiredError("a plate check needs a plate", ["plate"])
    plate = normalise_plate(raw_plate)
    bay = _bay(db, district, where.bay_uuid)
    stay = _latest_stay(db, district, plate)
    ledger = plate_ledger(db, district, plate)
    result: dict[str, Any] = {
        "plate": plate,
        "checked_at": now,
        "currency": district.currency,
        "stay": _stay_summary(db, district, stay, now) if stay else None,
        "parked": stay is not None and stay[0].ended_at is None,
        "at_bay": None
        if bay is None
        else bool(stay and stay[0].ended_at is None and stay[0].bay_id == bay.id),
        "outstanding": ledger.outstanding,
        "arrears": ledger.arrears,
        "unpaid_stays": len(ledger.stays),
        "violations": _open_violations(db, district, plate),
        "citations": _standing_citations(db, district, plate),
    }
    row = record_plate_lookup(
        db, district, plate, staff, WARDEN_PLATE_CHECK, _summary(result), now, bay, where
    )
    return row, result


def record_plate_lookup(
    db: Session,
    district: District,
    plate: str,
    staff: StaffToken,
    route: str,
    result: dict[str, Any],
    now: datetime,
    bay: Bay | None = None,
    where: CheckedFrom | None = None,
) -> PlateCheck:
    """Put one staff lookup by plate on the audit log the bureau reads: who (token, name,
    role), when, through which route, the plate (text and key), and a summary of the answer."""
    row = PlateCheck(
        district_id=district.id,
        staff_token_id=staff.id,
        staff_name=staff.name,
        staff_role=staff.role,
        checked_at=now,
        route=route,
        plate=normalise_plate(plate),
        bay_id=bay.id if bay else None,
        lat=where.lat if where else None,
        lng=where.lng if where else None,
        result=result,
    )
    db.add(row)
    db.flush()
    return row


def _bay(db: Session, district: District, bay_uuid: str | None) -> Bay | None:
    if bay_uuid is None:
        return None
    bay = db.scalar(select(Bay).where(Bay.district_id == district.id, Bay.uuid == bay_uuid.lower()))
    if bay is None:
        raise UnknownBayError(f"no bay {bay_uuid} in {district.slug}", ["bay"])
    return bay


def _latest_stay(db: Session, district: District, plate: str) -> tuple[Stay, str, str, Road] | None:
    """The plate's open stay (the newest if a camera misread left two), else its last stay."""
    row = db.execute(
        select(Stay, Bay.name, Bay.uuid, Road)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .where(Stay.district_id == district.id, Stay.plate_key == plate_key(plate))
        .order_by(Stay.ended_at.is_not(None), Stay.started_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    stay, bay_name, bay_uuid, road = row
    return stay, bay_name, bay_uuid, road


def _stay_summary(
    db: Session, district: District, found: tuple[Stay, str, str, Road], now: datetime
) -> dict[str, Any]:
    stay, bay_name, bay_uuid, road = found
    summary: dict[str, Any] = {
        "id": stay.uuid,
        "bay": bay_name,
        "bay_id": bay_uuid,
        "road": road.name,
        "since": stay.started_at,
        "ended_at": stay.ended_at,
        "minutes": int(((stay.ended_at or now) - stay.started_at).total_seconds() // 60),
    }
    fee = db.get(StayFee, stay.id) if stay.ended_at is not None else None
    if fee is not None:
        summary["fee"] = {"status": fee.status, "amount": fee.amount, "paid": fee.paid}
    elif stay.ended_at is not None:
        summary["fee"] = {"status": "unpriced", "amount": None, "paid": _paid(db, stay.id)}
    else:
        summary["fee"] = {"status": "running", "amount": _fee_so_far(db, district, stay, road, now)}
        summary["fee"]["paid"] = _paid(db, stay.id)
    return summary


def _fee_so_far(db: Session, district: District, stay: Stay, road: Road, now: datetime) -> int | None:
    """What the meter shows now, by the tariff version in force when the stay started."""
    found = TariffBook.load(db, district).in_force(road.tariff_code, stay.started_at)
    if found is None:
        return None
    return found[1].price(stay.started_at, now, vehicle_class_for_plate(stay.plate)).amount


def _paid(db: Session, stay_id: int) -> int:
    paid = db.scalar(
        select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.stay_id == stay_id, Payment.status == SUCCEEDED)
    )
    return int(paid or 0)


def _open_violations(db: Session, district: District, plate: str) -> list[dict[str, Any]]:
    rows = db.execute(
        select(Violation, Bay.name, Road.name)
        .join(Bay, Bay.id == Violation.bay_id)
        .join(Road, Road.id == Violation.road_id)
        .where(
            Violation.district_id == district.id,
            Violation.plate_key == plate_key(plate),
            Violation.ended_at.is_(None),
        )
        .order_by(Violation.started_at)
    )
    return [
        {"id": v.uuid, "rule": v.rule, "bay": bay, "road": road, "since": v.started_at}
        for v, bay, road in rows
    ]


def _standing_citations(db: Session, district: District, plate: str) -> list[dict[str, Any]]:
    rows = db.execute(
        select(Citation, Violation.rule)
        .join(Violation, Violation.id == Citation.violation_id)
        .where(
            Citation.district_id == district.id,
            Citation.plate_key == plate_key(plate),
            Citation.status.in_(STANDING),
        )
        .order_by(Citation.issued_at)
    )
    return [
        {"id": c.uuid, "rule": rule, "status": c.status, "amount": c.amount, "issued_at": c.issued_at}
        for c, rule in rows
    ]


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
