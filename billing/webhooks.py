"""The payment provider's webhook events, applied idempotently and in any order.

Each event id is recorded once; a resent event is answered "duplicate" and changes nothing.
An event moves money only for the payment whose provider ids we stored, and only when its
amount and currency agree with that payment (review finding M6): anything else is answered
"refused: ..." and changes nothing.
States only move forward: a payment that succeeded is never set back by a late failure, and
a refunded total only grows (it is the provider's running total, so order does not matter).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.credits import settle_overpayment_refund
from billing.gateway import ChargeResult
from billing.models import PENDING, SUCCEEDED, Payment, Refund, StripeEvent
from billing.payments import record_charge
from billing.refunds import fail_refund, settle_refunded

HANDLED = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
)


def handle_event(db: Session, event: dict[str, Any], now: datetime) -> str:
    event_id = str(event.get("id") or "")
    kind = str(event.get("type") or "")
    obj = (event.get("data") or {}).get("object") or {}
    if not event_id:
        return "ignored: no id"
    if db.get(StripeEvent, event_id) is not None:
        return "duplicate"
    db.add(
        StripeEvent(
            id=event_id,
            type=kind[:100],
            object_id=str(obj.get("id") or "")[:100] or None,
            created=int(event.get("created") or 0),
            received_at=now,
        )
    )
    db.flush()
    if kind not in HANDLED:
        return "ignored"
    payment = _payment_of(db, kind, obj)
    if payment is None:
        return "unknown payment"
    refusal = refuse_mismatch(db, payment, kind, obj)
    if refusal is not None:
        return "refused: " + refusal
    if kind.startswith("payment_intent."):
        return _intent(db, payment, kind, obj, now)
    if kind == "charge.refunded":
        settle_refunded(db, payment, now, int(obj.get("amount_refunded") or 0))
        return f"refunded {payment.refunded}"
    return _refund(db, payment, obj, now)


def _payment_of(db: Session, kind: str, obj: dict[str, Any]) -> Payment | None:
    """The payment an event is about, by the provider's PaymentIntent id we stored, and by
    nothing else: metadata (our idempotency key, our uuid) is whatever the sender wrote.
    A payment whose intent id we never learnt is settled by the retry that sends it again."""
    intent_id = obj.get("payment_intent") if kind.startswith(("charge.", "refund.")) else obj.get("id")
    if not isinstance(intent_id, str) or not intent_id:
        return None
    return db.scalar(select(Payment).where(Payment.payment_intent_id == intent_id))


def refuse_mismatch(db: Session, payment: Payment, kind: str, obj: dict[str, Any]) -> str | None:
    """Why an event must not move money for this payment, or None: its currency, its amount
    (a payment's exact amount; a refund never beyond what is left, a refunded total never
    beyond the payment) and the charge id we stored must agree with ours."""
    currency = str(obj.get("currency") or "").lower()
    if currency != payment.currency.lower():
        return f"currency {currency or None} differs from the payment's {payment.currency.lower()}"
    amount = obj.get("amount")
    whole_payment = kind.startswith("payment_intent.") or kind == "charge.refunded"
    if whole_payment and amount != payment.amount:
        return f"amount {amount} differs from the payment's {payment.amount}"
    if kind == "charge.refunded":
        if payment.charge_id is not None and obj.get("id") != payment.charge_id:
            return f"charge {obj.get('id')} is not the payment's {payment.charge_id}"
        refunded = obj.get("amount_refunded")
        if not isinstance(refunded, int) or refunded > payment.amount:
            return f"refunded {refunded} exceeds the payment's {payment.amount}"
    if kind.startswith("refund."):
        left = payment.amount - (0 if _known_refund(db, payment, obj) else payment.refunded)
        if not isinstance(amount, int) or amount <= 0 or amount > left:
            return f"refund of {amount} exceeds the {left} left of the payment"
    return None


def _known_refund(db: Session, payment: Payment, obj: dict[str, Any]) -> bool:
    """A refund of this payment we already hold: by the provider's refund id we stored, or
    one we asked for (its key names our refund) whose answer is not recorded yet."""
    mine = Refund.payment_id == payment.id
    refund_id = obj.get("id")
    if refund_id and db.scalar(select(Refund.id).where(mine, Refund.refund_id == refund_id)) is not None:
        return True
    key = str((obj.get("metadata") or {}).get("idempotency_key") or "")
    return key.startswith("refund:") and (
        db.scalar(
            select(Refund.id).where(
                mine, Refund.uuid == key.removeprefix("refund:"), Refund.amount == obj.get("amount")
            )
        )
        is not None
    )


def _intent(db: Session, payment: Payment, kind: str, obj: dict[str, Any], now: datetime) -> str:
    if payment.status == SUCCEEDED:
        return "already succeeded"
    error = obj.get("last_payment_error") or {}
    status = {
        "payment_intent.succeeded": "succeeded",
        "payment_intent.payment_failed": "declined" if error.get("type") == "card_error" else "failed",
        "payment_intent.requires_action": "requires_action",
    }[kind]
    charge = obj.get("latest_charge")
    result = ChargeResult(
        status=status,  # type: ignore[arg-type]
        payment_intent_id=str(obj.get("id")),
        charge_id=charge.get("id") if isinstance(charge, dict) else charge,
        amount=int(obj.get("amount") or payment.amount),
        currency=str(obj.get("currency") or payment.currency),
        decline_code=error.get("decline_code") or error.get("code"),
        message=error.get("message"),
    )
    record_charge(db, payment, result, now)
    return f"payment {payment.status}"


def _refund(db: Session, payment: Payment, obj: dict[str, Any], now: datetime) -> str:
    """A refund's state at the provider: a pending one stays pending; a failed or cancelled
    one (`refund.failed`, `refund.updated`) un-refunds the payment, even if it was first
    reported succeeded."""
    refund_id = obj.get("id")
    status = obj.get("status")
    known = db.scalar(select(Refund).where(Refund.refund_id == refund_id)) if refund_id else None
    key = str((obj.get("metadata") or {}).get("idempotency_key") or "")
    if known is None and key.startswith("refund:"):  # ours, its answer not yet recorded
        known = db.scalar(select(Refund).where(Refund.uuid == key.removeprefix("refund:")))
    if known is not None:
        known.refund_id = known.refund_id or refund_id
        if known.status == PENDING and status == "succeeded":
            known.status = SUCCEEDED
            db.flush()
            settle_refunded(db, payment, now)
            settle_overpayment_refund(db, known, now)
            return f"refunded {payment.refunded}"
        if known.status in (PENDING, SUCCEEDED) and status in ("failed", "canceled"):
            fail_refund(db, payment, known, now)
            return f"refund {status}: refunded {payment.refunded}"
        return "refund already known"
    if status not in ("succeeded", "pending"):
        return f"refund {status}"
    amount = int(obj.get("amount") or 0)
    # A refund made on the provider's side (its dashboard), not through this system.
    db.add(
        Refund(
            payment_id=payment.id,
            amount=amount,
            reason=str(
                (obj.get("metadata") or {}).get("reason") or obj.get("reason") or "refunded at the provider"
            )[:300],
            staff="payment provider",
            status=SUCCEEDED if status == "succeeded" else PENDING,
            refund_id=refund_id,
            created_at=now,
        )
    )
    db.flush()
    settle_refunded(db, payment, now)
    return f"refunded {payment.refunded}" if status == "succeeded" else "refund pending"
