"""A driver's saved card, held by the payment provider: the setup the app collects it with,
and keeping it as the card charged when a stay ends (billing/services.py
`charge_saved_cards`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.gateway import PaymentGateway, SetupIntentResult
from identity.models import DriverAccount


def start_card_setup(db: Session, gateway: PaymentGateway, account: DriverAccount) -> SetupIntentResult:
    """A SetupIntent for the app to collect a card with; the provider customer is made once."""
    if account.customer_id is None:
        account.customer_id = gateway.create_customer(account.email, account.name, {"account": account.uuid})
        db.flush()
    return gateway.create_setup_intent(account.customer_id)


def save_card(db: Session, gateway: PaymentGateway, account: DriverAccount, payment_method_id: str) -> None:
    """Keep the card the app collected as the one charged when a stay ends."""
    if account.customer_id is None:
        account.customer_id = gateway.create_customer(account.email, account.name, {"account": account.uuid})
    account.payment_method_id = gateway.attach_payment_method(account.customer_id, payment_method_id)
    account.card_unusable_at = None  # a card saved again is charged again
    db.flush()
