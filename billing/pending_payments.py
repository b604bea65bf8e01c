"""Card payments that the provider has not answered: how long they hold their stays, and
what happens when a send fails.

A pending card payment holds its stays (other payments for them are refused with
`payment_in_progress`) only while it is in flight: sent less than `IN_FLIGHT` ago and with no
failed send. A send the provider refused (any HTTP 4xx: an unknown payment method, a reused
key) marks the payment failed at once. A send that did not get through (no answer, HTTP 5xx
or 429) leaves the outcome unknown: the payment stays pending but no longer holds its stays,
and the `settle-payments` job sends it again with its own idempotency key (the provider never
charges twice) until `PENDING_TIMEOUT`, when it is marked failed. If it was charged after all,
its webhook finds it; money beyond what the stays still owe becomes an overpayment, refunded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from billing.gateway import GatewayError, GatewayUnavailable
from billing.models import CHANNEL_AUTO, FAILED, PENDING, Notice, Payment, PaymentAllocation
from identity.models import DriverAccount

IN_FLIGHT = timedelta(minutes=3)  # longer than the provider's 30 s timeout with 2 retries
PENDING_TIMEOUT = timedelta(minutes=30)
UNREACHABLE = "provider_unreachable"  # failure_code of a pending payment whose send failed
CARD_UNKNOWN = "card_unknown"  # the provider no longer knows the saved card or customer


def in_flight(now: datetime) -> ColumnElement[bool]:
    """A pending payment that still holds its stays."""
    return and_(
        Payment.status == PENDING,
        Payment.created_at > now - IN_FLIGHT,
        Payment.failure_code.is_(None),
    )


def stay_in_flight(
    stay_id: ColumnElement[int] | InstrumentedAttribute[int], now: datetime
) -> ColumnElement[bool]:
    """EXISTS a payment in flight with an allocation to the stay."""
    return exists(
        select(PaymentAllocation.stay_id)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.stay_id == stay_id, in_flight(now))
    )


def unreachable(error: GatewayError) -> bool:
    """The request may not have reached the provider, or its answer was lost."""
    if not isinstance(error, GatewayUnavailable):
        return False
    status = error.http_status
    return status is None or status >= 500 or status == 429


def record_send_failure(db: Session, payment: Payment, error: GatewayError, now: datetime) -> None:
    """A send of a pending payment raised: failed at once if the provider refused it; still
    pending (but holding nothing) if the provider may not have seen it."""
    payment.updated_at = now
    payment.failure_message = str(error)[:300]
    if unreachable(error):
        payment.failure_code = UNREACHABLE
    elif isinstance(error, GatewayUnavailable) and error.http_status == 404 and _saved_card(db, payment):
        payment.status, payment.failure_code = FAILED, CARD_UNKNOWN
        _card_unusable(db, payment, now)
    else:
        payment.status, payment.failure_code = FAILED, "provider_refused"
    db.flush()


def _saved_card(db: Session, payment: Payment) -> DriverAccount | None:
    account = db.get(DriverAccount, payment.account_id) if payment.account_id is not None else None
    if account is None or account.customer_id is None:
        return None
    if payment.channel == CHANNEL_AUTO or payment.payment_method_id == account.payment_method_id:
        return account
    return None


def _card_unusable(db: Session, payment: Payment, now: datetime) -> None:
    """The provider forgot the saved card: stop charging it, and tell the driver once."""
    account = _saved_card(db, payment)
    assert account is not None
    if account.card_unusable_at is not None:
        return
    account.card_unusable_at = now
    db.add(
        Notice(
            account_id=account.id,
            kind="payment_failed",
            message=(
                f"Your saved card could not be charged {payment.amount} {payment.currency}: the payment "
                "provider no longer knows it. Save your card again; until then it is not charged, "
                "and your stays stay payable in the app or by plate."
            ),
            payment_id=payment.id,
            created_at=now,
        )
    )


def stale_pending(db: Session, district_id: int, now: datetime) -> list[int]:
    """Ids of pending payments the provider never accepted (no PaymentIntent: one it accepted
    and is processing is settled by its webhook) that are no longer in flight: to send again
    or to time out."""
    return list(
        db.scalars(
            select(Payment.id)
            .where(
                Payment.district_id == district_id,
                Payment.status == PENDING,
                Payment.payment_intent_id.is_(None),
                or_(Payment.created_at <= now - IN_FLIGHT, Payment.failure_code.is_not(None)),
            )
            .order_by(Payment.id)
        )
    )


def time_out(db: Session, payment: Payment, now: datetime) -> bool:
    """A payment pending past PENDING_TIMEOUT is failed; True if it was."""
    if payment.status != PENDING or now - payment.created_at < PENDING_TIMEOUT:
        return False
    payment.status, payment.updated_at = FAILED, now
    payment.failure_code = payment.failure_code or "provider_timeout"
    payment.failure_message = (
        f"no answer from the payment provider within {int(PENDING_TIMEOUT.total_seconds() // 60)} minutes"
    )
    db.flush()
    return True
