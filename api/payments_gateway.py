"""The payment gateway of this app: injected by tests (`GATEWAY`), or built from the
`STRIPE_*` settings on first use; and the unit of work that sends a pending payment."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from api.database import begin_write
from billing.gateway import GatewayError, PaymentGateway, StripeGateway
from billing.models import PENDING, Payment
from billing.payments import record_charge, send_payment
from billing.pending_payments import record_send_failure, unreachable
from fixtures.localstripe import TEST_API_KEY


def get_gateway() -> PaymentGateway:
    gateway: PaymentGateway | None = current_app.extensions.get("parking.gateway")
    if gateway is None:
        config = current_app.config
        gateway = config.get("GATEWAY")
        if gateway is None:
            key = config["STRIPE_API_KEY"]
            gateway = StripeGateway(  # no key: the local server; a key: Stripe itself
                api_key=key or TEST_API_KEY,
                api_base=None if key else config["STRIPE_API_BASE"],
                webhook_secret=config["STRIPE_WEBHOOK_SECRET"],
            )
        current_app.extensions["parking.gateway"] = gateway
    return gateway


def charge_pending(db: Session, gateway: PaymentGateway, payment_id: int, now: datetime) -> Payment:
    """Send a pending payment, already committed, to the provider with no write lock held,
    then record its answer in a write transaction of its own (unless a webhook or another
    worker recorded it meanwhile). The same idempotency key on a retry: never two charges.
    A send that raised is recorded (billing/pending_payments.py): a refusal fails the payment,
    which is returned; an unreachable provider leaves it pending, and the error is raised."""
    payment = db.get_one(Payment, payment_id)
    if payment.status != PENDING:
        return payment
    try:
        result = send_payment(db, gateway, payment)
    except GatewayError as error:
        db.rollback()
        payment = begin_write(db).get_one(Payment, payment_id)
        if payment.status == PENDING:
            record_send_failure(db, payment, error, now)  # a refused send fails it at once
        db.commit()
        if unreachable(error):
            raise
        return payment
    db.commit()
    payment = begin_write(db).get_one(Payment, payment_id)
    if payment.status == PENDING:
        record_charge(db, payment, result, now)
    db.commit()
    return payment
