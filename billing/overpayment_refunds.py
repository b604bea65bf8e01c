"""Refunding card overpayments through the provider (the `settle-payments` job).

Each overpayment of card money gets one refund, planned and committed before the provider is
asked (as staff refunds are), so a crash or an outage leaves a pending refund that the next
run sends again with the same idempotency key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.credits import REFUND_DUE, REFUND_FAILED, REFUNDING, Overpayment
from billing.models import PENDING, Payment, Refund
from billing.refunds import RefundExceedsPaymentError, plan_refund

STAFF = "automatic overpayment refund"


def plan_overpayment_refunds(db: Session, district_id: int, now: datetime) -> int:
    """A pending refund for every card overpayment due one; returns how many were planned.
    One the payment can no longer refund (staff refunded it meanwhile) is `refund_failed`."""
    due = list(
        db.scalars(
            select(Overpayment)
            .where(Overpayment.district_id == district_id, Overpayment.status == REFUND_DUE)
            .order_by(Overpayment.id)
        )
    )
    for row in due:
        payment = db.get_one(Payment, row.payment_id)
        try:
            _, refund = plan_refund(db, payment.uuid, row.amount, f"overpayment: {row.reason}", STAFF, now)
        except RefundExceedsPaymentError:
            row.status, row.settled_at = REFUND_FAILED, now
            continue
        row.refund_id, row.status = refund.id, REFUNDING
    db.flush()
    return len(due)


def overpayment_refunds_to_send(db: Session, district_id: int) -> list[int]:
    """Ids of the overpayments' refunds not yet sent to the provider."""
    return list(
        db.scalars(
            select(Refund.id)
            .join(Overpayment, Overpayment.refund_id == Refund.id)
            .where(
                Overpayment.district_id == district_id,
                Overpayment.status == REFUNDING,
                Refund.status == PENDING,
                Refund.refund_id.is_(None),
            )
            .order_by(Refund.id)
        )
    )
