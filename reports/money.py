"""Money of a place over two adjacent periods, each in one set-based query: fees billed for
the stays that ended in the period, payments taken in it, and the arrears ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from billing.models import ARREARS, DUE, SUCCEEDED, Payment, PaymentAllocation, StayFee
from parking.models import Stay
from parking.stay_rules import ended_within
from reports.places import Place

CURRENT, PREVIOUS = 1, 0


@dataclass(frozen=True)
class Billed:
    fees: int
    billed: int
    paid: int
    outstanding: int


def billed(
    db: Session, district_id: int, place: Place, start: datetime, split: datetime, end: datetime
) -> dict[int, Billed]:
    """Per period (PREVIOUS = [start, split), CURRENT = [split, end)): the fees of the stays
    that ended in it, what they bill, what has been paid on them, and what is still owed."""
    tag = case((Stay.ended_at >= split, CURRENT), else_=PREVIOUS)
    owed = case((StayFee.status.in_((DUE, ARREARS)), StayFee.amount - StayFee.paid), else_=0)
    rows = db.execute(
        select(tag, func.count(), func.sum(StayFee.amount), func.sum(StayFee.paid), func.sum(owed))
        .join(Stay, Stay.id == StayFee.stay_id)
        .where(
            Stay.district_id == district_id,
            Stay.started_at < end,  # implied, but lets the (district, started) index narrow the scan
            ended_within(start, end),
            *place.within(Stay.road_id),
        )
        .group_by(tag)
    )
    out = {CURRENT: Billed(0, 0, 0, 0), PREVIOUS: Billed(0, 0, 0, 0)}
    for period, fees, amount, paid, outstanding in rows:
        out[int(period)] = Billed(fees, int(amount or 0), int(paid or 0), int(outstanding or 0))
    return out


def payments(
    db: Session, district_id: int, place: Place, start: datetime, split: datetime, end: datetime
) -> dict[int, list[tuple[str, str, int, int, int]]]:
    """Per period, (channel, method, payments, amount, refunded) of the succeeded payments
    created in it. For an area or a road only what was allocated to its stays counts, and
    refunds cannot be attributed to a place (they are 0 there; docs/REPORTS.md)."""
    tag = case((Payment.created_at >= split, CURRENT), else_=PREVIOUS)
    taken = (
        Payment.district_id == district_id,
        Payment.status == SUCCEEDED,
        Payment.created_at >= start,
        Payment.created_at < end,
    )
    if place.kind == "district":
        query = select(
            tag,
            Payment.channel,
            Payment.method,
            func.count(),
            func.sum(Payment.amount),
            func.sum(Payment.refunded),
        ).where(*taken)
    else:
        query = (
            select(
                tag,
                Payment.channel,
                Payment.method,
                func.count(func.distinct(Payment.id)),
                func.sum(PaymentAllocation.amount),
                func.sum(0),
            )
            .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
            .join(Stay, Stay.id == PaymentAllocation.stay_id)
            .where(*taken, *place.within(Stay.road_id))
        )
    out: dict[int, list[tuple[str, str, int, int, int]]] = {CURRENT: [], PREVIOUS: []}
    for period, channel, method, count, amount, refunded in db.execute(
        query.group_by(tag, Payment.channel, Payment.method)
    ):
        out[int(period)].append((channel, method, count, int(amount or 0), int(refunded or 0)))
    return out


def arrears(db: Session, district_id: int, place: Place, before: datetime) -> list[tuple[datetime, int]]:
    """(arrears since, still owed) of every fee in arrears now that went into arrears before
    `before`."""
    query = select(StayFee.arrears_since, StayFee.amount - StayFee.paid).where(
        StayFee.district_id == district_id, StayFee.status == ARREARS, StayFee.arrears_since < before
    )
    if place.kind != "district":
        query = query.join(Stay, Stay.id == StayFee.stay_id).where(*place.within(Stay.road_id))
    rows = db.connection().execute(query)  # Core: thousands of plain rows, no ORM work per row
    return [(since, int(owed)) for since, owed in rows if since is not None]
