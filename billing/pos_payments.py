"""Cash and QR taken at the curb by a POS terminal: booked to the stay in the bay at that time,
at most at what that stay owes then; the rest is an overpayment, never booked."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.credits import POS_EXCESS, record_overpayment
from billing.models import CHANNEL_POS, SUCCEEDED, Payment, PaymentAllocation
from billing.payments import apply_allocations, new_payment
from billing.tariffs import TariffBook
from parking.models import District, Road, Stay
from parking.plate_rules import vehicle_class_for_plate
from parking.stay_rules import touching

POS_PREPAY = timedelta(minutes=15)


def record_pos_payment(
    db: Session,
    district: District,
    *,
    device_id: int,
    attendant: str,
    event_id: str,
    bay_id: int | None,
    at: datetime,
    plate: str | None,
    amount: int,
    method: str,
    transaction_id: str | None,
    now: datetime,
) -> Payment | None:
    """Cash or QR taken at the curb, reported by a POS terminal as a CDS event with payment
    fields. Allocated to the stay in the bay at that time, booked at most at what that stay
    owes then (its fee, or if it has not ended the meter POS_PREPAY on, less what is paid): the rest
    of what the terminal reported is a `pos_excess` overpayment, never booked. A resent event
    changes nothing."""
    key = f"pos:{district.id}:{event_id}"
    if db.scalar(select(Payment.id).where(Payment.idempotency_key == key)) is not None:
        return None
    stay = None
    if bay_id is not None:
        stay = db.scalar(
            select(Stay)
            .where(
                Stay.bay_id == bay_id,
                touching(at),  # closed: paid at the instant a stay ends, it is that stay's
            )
            .order_by(Stay.started_at.desc())
            .limit(1)
            .execution_options(populate_existing=True)  # the intake has just re-derived it
        )
    booked = min(amount, owed_at_the_curb(db, district, stay, at)) if stay is not None else 0
    payment = new_payment(
        district,
        CHANNEL_POS,
        method,
        booked,
        key,
        now,
        plate=plate or (stay.plate if stay else None),
        status=SUCCEEDED,
    )
    payment.device_id, payment.attendant, payment.event_id = device_id, attendant, event_id
    payment.transaction_id = transaction_id
    db.add(payment)
    db.flush()
    if amount > booked:
        record_overpayment(db, payment, stay.id if stay else None, amount - booked, POS_EXCESS, now)
    if stay is not None and booked > 0:
        db.add(PaymentAllocation(payment_id=payment.id, stay_id=stay.id, amount=booked))
        db.flush()
        apply_allocations(db, payment)
    return payment


def owed_at_the_curb(db: Session, district: District, stay: Stay, at: datetime) -> int:
    """What a stay owes when a POS takes money for it: its fee by the tariff in force at its
    start, up to its end (or, if it has not ended, up to POS_PREPAY after `at`), less
    succeeded payments to it. A stay with no tariff in force owes nothing."""
    road = db.get_one(Road, stay.road_id)
    found = TariffBook.load(db, district).in_force(road.tariff_code, stay.started_at)
    if found is None:
        return 0
    until = stay.ended_at or max(at, stay.started_at) + POS_PREPAY
    fee = (
        found[1]
        .price(stay.started_at, until, vehicle_class_for_plate(stay.plate, district.plate_rule))
        .amount
    )
    paid = db.scalar(
        select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.stay_id == stay.id, Payment.status == SUCCEEDED)
    )
    return max(fee - int(paid or 0), 0)
