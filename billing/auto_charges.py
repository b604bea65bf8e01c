"""Automatic charges: a pending payment for every due stay of a plate linked to a driver with
a usable saved card, once per stay and fee, sent later by billing/services.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import CHANNEL_AUTO, DUE, PENDING, DriverPlate, Payment, PaymentAllocation, StayFee
from billing.payments import new_payment
from billing.pending_payments import stay_in_flight
from billing.plate_links import stay_is_the_accounts
from identity.models import DriverAccount
from parking.models import District, Stay


def plan_auto_charges(db: Session, district: District, now: datetime) -> list[int]:
    """Write a pending automatic charge for every due stay whose plate belongs to a driver
    with a usable saved card, once per stay and fee (the key), unless another payment for the
    stay is in flight; return the ids of every pending automatic payment to send (new ones,
    and any left pending by a crash)."""
    rows = db.execute(
        select(StayFee.stay_id, StayFee.amount, StayFee.paid, StayFee.plate, Stay.uuid, DriverAccount)
        .join(Stay, Stay.id == StayFee.stay_id)
        .join(DriverPlate, stay_is_the_accounts())  # never a stay from before the link
        .join(DriverAccount, DriverAccount.id == DriverPlate.account_id)
        .where(
            StayFee.district_id == district.id,
            StayFee.status == DUE,
            DriverAccount.payment_method_id.is_not(None),
            DriverAccount.card_unusable_at.is_(None),
            ~stay_in_flight(StayFee.stay_id, now),  # someone is paying it right now
        )
    ).all()
    keys = {
        f"auto:{stay_uuid}:{amount}": row for row in rows for stay_uuid, amount in [(row.uuid, row.amount)]
    }
    known = set(db.scalars(select(Payment.idempotency_key).where(Payment.idempotency_key.in_(list(keys)))))
    for key, row in keys.items():
        if key in known:
            continue
        account: DriverAccount = row.DriverAccount
        payment = new_payment(
            district,
            CHANNEL_AUTO,
            "credit_card",
            row.amount - row.paid,
            key,
            now,
            plate=row.plate,
            account_id=account.id,
            payment_method_id=account.payment_method_id,
        )
        db.add(payment)
        db.flush()
        db.add(PaymentAllocation(payment_id=payment.id, stay_id=row.stay_id, amount=row.amount - row.paid))
    db.flush()
    return list(
        db.scalars(
            select(Payment.id)
            .where(
                Payment.district_id == district.id,
                Payment.channel == CHANNEL_AUTO,
                Payment.status == PENDING,
            )
            .order_by(Payment.id)
        )
    )
