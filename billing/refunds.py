"""Refunds: planned pending and never beyond what is still refundable, sent to the provider
(card) or recorded as given back (cash, QR), and the refunded total settled from our answers
and the provider's, in any order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.credits import settle_overpayment_refund
from billing.gateway import PaymentGateway
from billing.models import FAILED, PENDING, SUCCEEDED, Payment, Refund
from billing.payments import UnknownPaymentError, check_amount
from parking.errors import ConflictError, InvalidInputError


class RefundExceedsPaymentError(ConflictError):
    code = "refund_exceeds_payment"


class NotRefundableError(ConflictError):
    code = "not_refundable"


def plan_refund(
    db: Session, payment_uuid: str, amount: Any, reason: str, staff: str, now: datetime
) -> tuple[Payment, Refund]:
    """Write a pending refund, never beyond what is still refundable (counting refunds in
    flight). Cash and QR are given back at the curb: recorded as done at once."""
    payment = db.scalar(select(Payment).where(Payment.uuid == payment_uuid).with_for_update())
    if payment is None:
        raise UnknownPaymentError(f"no payment {payment_uuid}")
    amount = check_amount(amount)
    if not reason or not reason.strip():
        raise InvalidInputError("a refund needs a reason", ["reason"])
    if payment.status != SUCCEEDED:
        raise NotRefundableError(f"the payment is {payment.status}; only a succeeded payment can be refunded")
    in_flight = (
        db.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment.id, Refund.status == PENDING
            )
        )
        or 0
    )
    refundable = payment.amount - payment.refunded - in_flight
    if amount > refundable:
        raise RefundExceedsPaymentError(f"at most {refundable} can still be refunded", ["amount"])
    refund = Refund(
        payment_id=payment.id,
        amount=amount,
        reason=reason.strip()[:300],
        staff=staff,
        status=PENDING,
        created_at=now,
    )
    db.add(refund)
    db.flush()
    if payment.payment_intent_id is None:  # cash or QR at the curb
        refund.status = SUCCEEDED
        db.flush()
        settle_refunded(db, payment, now)
    return payment, refund


def send_refund(db: Session, gateway: PaymentGateway, refund: Refund, now: datetime) -> Refund:
    """Send a pending card refund to the provider (idempotent on the refund) and record it."""
    if refund.status != PENDING:
        return refund
    payment = db.get(Payment, refund.payment_id)
    assert payment is not None and payment.payment_intent_id is not None
    result = gateway.refund(
        payment.payment_intent_id, refund.amount, "requested_by_customer", f"refund:{refund.uuid}"
    )
    refund.refund_id = result.id
    if result.status == "succeeded":
        refund.status = SUCCEEDED
        db.flush()
        settle_refunded(db, payment, now)
    elif result.status != "pending":  # pending: its webhook says how it ends
        refund.status = FAILED
    db.flush()
    settle_overpayment_refund(db, refund, now)
    return refund


def fail_refund(db: Session, payment: Payment, refund: Refund, now: datetime) -> None:
    """The provider failed or cancelled a refund (even one it first reported succeeded): the
    money stays with the payment, which is refunded only by its other succeeded refunds."""
    refund.status = FAILED
    db.flush()
    ours = db.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status == SUCCEEDED
        )
    )
    payment.refunded, payment.updated_at = min(payment.amount, int(ours or 0)), now
    settle_overpayment_refund(db, refund, now)
    db.flush()


def settle_refunded(db: Session, payment: Payment, now: datetime, provider_total: int = 0) -> None:
    """The payment's refunded total: the larger of our succeeded refunds and the provider's
    running total. Both only grow, so any order of answers and webhooks gives the same."""
    ours = db.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status == SUCCEEDED
        )
    )
    total = min(payment.amount, max(payment.refunded, int(ours or 0), provider_total))
    if total != payment.refunded:
        payment.refunded, payment.updated_at = total, now
    db.flush()
