"""The payment gateway of this app: injected by tests (`GATEWAY`), or built from the
`STRIPE_*` settings on first use; and the unit of work that sends a pending payment."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from api.database import begin_write
from billing.gateway import PaymentGateway, StripeGateway
from billing.models import PENDING, Payment
from billing.payments import record_charge, send_payment
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
    worker recorded it meanwhile). The same idempotency key on a retry: never two charges."""
    payment = db.get_one(Payment, payment_id)
    if payment.status != PENDING:
        return payment
    result = send_payment(db, gateway, payment)
    db.commit()
    payment = begin_write(db).get_one(Payment, payment_id)
    if payment.status == PENDING:
        record_charge(db, payment, result, now)
    db.commit()
    return payment
