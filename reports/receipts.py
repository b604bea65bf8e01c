"""Receipts: what a succeeded payment paid for, stay by stay, in the district's local time.

A receipt is read-only: it is rebuilt from the payment, its allocations, the stays and their
fees every time it is asked for. Amounts stay integer minor units; `billing.money.format_money`
turns them into text by the currency's exponent, once, for the pages that show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import SUCCEEDED, Payment, PaymentAllocation, StayFee
from billing.money import format_money
from enforcement.models import Citation, CitationAllocation, Violation
from parking.errors import NotFoundError
from parking.models import Bay, District, Road, Stay
from sensors.devices import device_names


class NoReceiptError(NotFoundError):
    """Only a succeeded payment has a receipt; an unknown or unsettled one has none."""

    code = "no_receipt"


@dataclass(frozen=True)
class FeeLine:
    """One priced band of a stay: `increments` × `unit_amount` = `amount`."""

    band: str
    tier: int
    local_date: str
    increments: int
    increment_minutes: int
    unit_amount: int
    amount: int


@dataclass(frozen=True)
class DayCap:
    local_date: str
    charged: int
    capped_to: int


@dataclass(frozen=True)
class ReceiptStay:
    """One stay the payment went to. `exists` is False when a late event re-derived it away:
    then only the allocated amount is known."""

    exists: bool
    allocated: int
    stay_id: str | None = None
    bay: str | None = None
    road: str | None = None
    plate: str | None = None
    entered_at: datetime | None = None  # local time of the district
    exited_at: datetime | None = None
    duration: timedelta | None = None
    fee: int | None = None
    tariff: str | None = None
    tariff_version: int | None = None
    free_minutes: int = 0
    lines: tuple[FeeLine, ...] = ()
    gross: int | None = None
    day_caps: tuple[DayCap, ...] = ()
    stay_cap_applied: bool = False
    vehicle_class: str | None = None
    percent: int = 100
    event_ids: tuple[str, ...] = ()

    @property
    def duration_text(self) -> str:
        """`2 h 05 min`, or `-` for a stay without an end."""
        if self.duration is None:
            return "-"
        minutes = int(self.duration.total_seconds()) // 60
        return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass(frozen=True)
class ReceiptCitation:
    """A citation the payment paid (whole): its id, the rule broken, when it was issued."""

    citation_id: str
    rule: str
    plate: str | None
    issued_at: datetime  # local time of the district
    amount: int


@dataclass(frozen=True)
class Receipt:
    district: str
    time_zone: str
    currency: str
    payment_id: str
    channel: str
    method: str
    amount: int
    refunded: int
    status: str
    paid_at: datetime  # local time of the district
    plate: str | None
    pos_device: str | None
    attendant: str | None
    transaction_id: str | None
    stays: tuple[ReceiptStay, ...]
    default_locale: str = "en"  # the district's, when the reader has chosen no language
    citations: tuple[ReceiptCitation, ...] = ()  # the district's, when the reader has chosen no language

    @property
    def net(self) -> int:
        return self.amount - self.refunded

    def money(self, amount: int) -> str:
        return format_money(amount, self.currency)


def receipt_for(db: Session, payment_uuid: str) -> Receipt:
    """The receipt of a succeeded payment; `NoReceiptError` for any other payment or none.

    `paid_at` is when the payment was recorded (`created_at`), in the district's time zone.
    """
    payment = db.scalar(select(Payment).where(Payment.uuid == payment_uuid))
    if payment is None or payment.status != SUCCEEDED:
        raise NoReceiptError(f"there is no receipt for payment {payment_uuid}", ["payment"])
    district = db.get_one(District, payment.district_id)
    zone = ZoneInfo(district.time_zone)
    allocations = db.scalars(
        select(PaymentAllocation)
        .where(PaymentAllocation.payment_id == payment.id)
        .order_by(PaymentAllocation.stay_id)
    ).all()
    stays = _receipt_stays(db, allocations, zone)
    return Receipt(
        district=district.name,
        time_zone=district.time_zone,
        currency=payment.currency.upper(),
        payment_id=payment.uuid,
        channel=payment.channel,
        method=payment.method,
        amount=payment.amount,
        refunded=payment.refunded,
        status=payment.status,
        paid_at=payment.created_at.astimezone(zone),
        plate=payment.plate,
        pos_device=device_names(db, [payment.device_id]).get(payment.device_id or 0),
        attendant=payment.attendant,
        transaction_id=payment.transaction_id,
        stays=stays,
        default_locale=district.default_locale,
        citations=_receipt_citations(db, payment.id, zone),
    )


def _receipt_citations(db: Session, payment_id: int, zone: ZoneInfo) -> tuple[ReceiptCitation, ...]:
    rows = db.execute(
        select(Citation.uuid, Violation.rule, Citation.plate, Citation.issued_at, CitationAllocation.amount)
        .select_from(CitationAllocation)
        .join(Citation, Citation.id == CitationAllocation.citation_id)
        .join(Violation, Violation.id == Citation.violation_id)
        .where(CitationAllocation.payment_id == payment_id)
        .order_by(Citation.issued_at, Citation.id)
    )
    return tuple(
        ReceiptCitation(str(uuid), str(rule), plate, issued_at.astimezone(zone), int(amount))
        for uuid, rule, plate, issued_at, amount in rows
    )


def _receipt_stays(
    db: Session, allocations: Iterable[PaymentAllocation], zone: ZoneInfo
) -> tuple[ReceiptStay, ...]:
    allocated = {a.stay_id: a.amount for a in allocations}
    ids = list(allocated)
    stays = {s.id: s for s in db.scalars(select(Stay).where(Stay.id.in_(ids)))} if ids else {}
    fees = {f.stay_id: f for f in db.scalars(select(StayFee).where(StayFee.stay_id.in_(ids)))} if ids else {}
    bays = {b.id: b for b in db.scalars(select(Bay).where(Bay.id.in_({s.bay_id for s in stays.values()})))}
    roads = {
        r.id: r for r in db.scalars(select(Road).where(Road.id.in_({s.road_id for s in stays.values()})))
    }
    result = []
    for stay_id, amount in allocated.items():
        stay = stays.get(stay_id)
        if stay is None:
            result.append(ReceiptStay(exists=False, allocated=amount))
            continue
        result.append(
            _receipt_stay(stay, fees.get(stay_id), bays[stay.bay_id], roads[stay.road_id], amount, zone)
        )
    return tuple(result)


def _receipt_stay(
    stay: Stay, fee: StayFee | None, bay: Bay, road: Road, allocated: int, zone: ZoneInfo
) -> ReceiptStay:
    breakdown: Mapping[str, Any] = fee.breakdown if fee is not None else {}
    return ReceiptStay(
        exists=True,
        allocated=allocated,
        stay_id=stay.uuid,
        bay=bay.name,
        road=road.name,
        plate=stay.plate,
        entered_at=stay.started_at.astimezone(zone),
        exited_at=stay.ended_at.astimezone(zone) if stay.ended_at else None,
        duration=stay.ended_at - stay.started_at if stay.ended_at else None,
        fee=fee.amount if fee is not None else None,
        tariff=breakdown.get("tariff"),
        tariff_version=breakdown.get("version"),
        free_minutes=int(breakdown.get("free_minutes", 0)),
        lines=tuple(
            FeeLine(
                band=str(line["band"]),
                tier=int(line["tier"]),
                local_date=str(line["local_date"]),
                increments=int(line["increments"]),
                increment_minutes=int(line["increment_minutes"]),
                unit_amount=int(line["unit_amount"]),
                amount=int(line["amount"]),
            )
            for line in breakdown.get("lines", [])
        ),
        gross=breakdown.get("gross"),
        day_caps=tuple(
            DayCap(str(c["local_date"]), int(c["charged"]), int(c["capped_to"]))
            for c in breakdown.get("day_caps", [])
        ),
        stay_cap_applied=bool(breakdown.get("stay_cap_applied", False)),
        vehicle_class=fee.vehicle_class if fee is not None else None,
        percent=int(breakdown.get("percent", 100)),
        event_ids=tuple(stay.event_ids),
    )
