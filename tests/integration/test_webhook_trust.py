"""Review finding M6: webhook events move money only when they match what we stored. A real API
key with the public default signing secret refuses to start; an event found only by an
idempotency key the caller chose, an amount or currency that differs from the payment, and a
refund larger than the payment are refused and change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api import create_app
from api.config import DEFAULT_WEBHOOK_SECRET, PaymentSettingsError
from billing.models import DUE, PAID, Payment, Refund, StayFee
from fixtures.builders import SmallDistrict
from parking.clock import FixedClock
from tests.integration.test_payments import PLATE, _webhook, app_with, park, town
from tests.support.fake_gateway import FakeGateway

__all__ = ["town"]


@pytest.mark.parametrize("key", ["sk_live_51Hreal", "sk_test_51Hreal", "rk_live_51Hrestricted"])
def test_a_real_api_key_with_the_public_default_webhook_secret_refuses_to_start(key: str) -> None:
    settings = {"TESTING": True, "STRIPE_API_KEY": key, "STRIPE_PUBLISHABLE_KEY": "pk_test_51Hreal"}
    with pytest.raises(PaymentSettingsError, match="PARKING_STRIPE_WEBHOOK_SECRET"):
        create_app(settings)
    with pytest.raises(PaymentSettingsError, match="PARKING_STRIPE_WEBHOOK_SECRET"):
        create_app(settings | {"STRIPE_WEBHOOK_SECRET": ""})


def test_a_real_api_key_needs_a_publishable_key_for_the_card_form() -> None:
    settings = {"TESTING": True, "STRIPE_API_KEY": "sk_live_51Hreal", "STRIPE_WEBHOOK_SECRET": "whsec_own"}
    with pytest.raises(PaymentSettingsError, match="PARKING_STRIPE_PUBLISHABLE_KEY"):
        create_app(settings)
    with pytest.raises(PaymentSettingsError, match="PARKING_STRIPE_PUBLISHABLE_KEY"):
        create_app(settings | {"STRIPE_PUBLISHABLE_KEY": "sk_live_51Hreal"})


def test_the_local_test_server_and_a_real_key_with_its_own_secrets_start() -> None:
    assert create_app({"TESTING": True}).config["STRIPE_WEBHOOK_SECRET"] == DEFAULT_WEBHOOK_SECRET
    real = {
        "TESTING": True,
        "STRIPE_API_KEY": "sk_live_51Hreal",
        "STRIPE_WEBHOOK_SECRET": "whsec_from_the_dashboard",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_51Hreal",
    }
    assert create_app(real).config["STRIPE_API_KEY"] == "sk_live_51Hreal"


@pytest.fixture
def declined(db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict) -> Any:
    """A plate that owes 900, a payment of it the bank declined, and a client on the app."""
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    client = app_with(connection, clock, FakeGateway(webhook_secret="whsec_fake")).test_client()
    answer = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments",
        json={"amount": 900, "payment_method": "pm_declined"},
        headers={"Idempotency-Key": "my-key"},
    )
    assert answer.status_code == 402
    payment = db.scalars(select(Payment)).one()
    assert payment.status == "declined" and payment.payment_intent_id
    return client, payment, stay


def _intent_event(event_id: str, intent: dict[str, Any], kind: str = "payment_intent.succeeded") -> Any:
    return {"id": event_id, "type": kind, "created": 1, "data": {"object": intent}}


def _owed(db: Session, stay_id: int) -> tuple[int, str]:
    fee = db.get_one(StayFee, stay_id)
    db.refresh(fee)
    return fee.paid, fee.status


def test_an_event_found_only_by_the_callers_idempotency_key_is_refused(db: Session, declined: Any) -> None:
    client, payment, stay = declined
    forged = {
        "id": None,
        "amount": 900,
        "currency": "cny",
        "metadata": {"idempotency_key": payment.idempotency_key},
    }
    answer = _webhook(client, _intent_event("evt_forged_1", forged)).get_json()
    assert answer["outcome"] == "unknown payment"
    forged["id"] = "pi_the_attackers_own"
    assert _webhook(client, _intent_event("evt_forged_2", forged)).get_json()["outcome"] == "unknown payment"
    db.refresh(payment)
    assert payment.status == "declined"
    assert _owed(db, stay.id) == (0, DUE)


def test_a_success_whose_amount_or_currency_differs_from_the_payment_is_refused(
    db: Session, declined: Any
) -> None:
    client, payment, stay = declined
    intent = {"id": payment.payment_intent_id, "amount": 1, "currency": "cny"}
    answer = _webhook(client, _intent_event("evt_cheap", intent)).get_json()
    assert answer["outcome"] == "refused: amount 1 differs from the payment's 900"
    intent = {"id": payment.payment_intent_id, "amount": 900, "currency": "usd"}
    answer = _webhook(client, _intent_event("evt_dollars", intent)).get_json()
    assert answer["outcome"] == "refused: currency usd differs from the payment's cny"
    intent = {"id": payment.payment_intent_id, "currency": "cny"}
    answer = _webhook(client, _intent_event("evt_no_amount", intent)).get_json()
    assert answer["outcome"] == "refused: amount None differs from the payment's 900"
    db.refresh(payment)
    assert (payment.status, _owed(db, stay.id)) == ("declined", (0, DUE))

    intent = {"id": payment.payment_intent_id, "amount": 900, "currency": "cny"}
    assert _webhook(client, _intent_event("evt_real", intent)).get_json()["outcome"] == "payment succeeded"
    assert _owed(db, stay.id) == (900, PAID)


@pytest.fixture
def paid(db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict) -> Any:
    park(db, town, clock.now() - timedelta(hours=3), 70)
    client = app_with(connection, clock, FakeGateway(webhook_secret="whsec_fake")).test_client()
    answer = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments", json={"amount": 900, "payment_method": "pm_card_visa"}
    )
    assert answer.status_code == 201
    return client, db.scalars(select(Payment)).one()


def test_a_forged_refund_larger_than_the_payment_is_refused(db: Session, paid: Any) -> None:
    client, payment = paid
    refund = {
        "id": "re_forged",
        "object": "refund",
        "payment_intent": payment.payment_intent_id,
        "amount": 1_000_000_000,
        "currency": "cny",
        "status": "succeeded",
    }
    answer = _webhook(client, _intent_event("evt_big_refund", refund, "refund.created")).get_json()
    assert answer["outcome"] == "refused: refund of 1000000000 exceeds the 900 left of the payment"
    charge = {
        "id": payment.charge_id,
        "object": "charge",
        "payment_intent": payment.payment_intent_id,
        "amount": 900,
        "currency": "cny",
        "amount_refunded": 1_000_000_000,
    }
    answer = _webhook(client, _intent_event("evt_big_charge", charge, "charge.refunded")).get_json()
    assert answer["outcome"] == "refused: refunded 1000000000 exceeds the payment's 900"
    refund = refund | {"id": "re_dollars", "amount": 100, "currency": "usd"}
    answer = _webhook(client, _intent_event("evt_usd_refund", refund, "refund.created")).get_json()
    assert answer["outcome"] == "refused: currency usd differs from the payment's cny"
    db.refresh(payment)
    assert payment.refunded == 0
    assert db.scalar(select(func.count()).select_from(Refund)) == 0

    refund = refund | {"id": "re_dashboard", "amount": 300, "currency": "cny"}
    answer = _webhook(client, _intent_event("evt_dashboard", refund, "refund.created")).get_json()
    assert answer["outcome"] == "refunded 300"
