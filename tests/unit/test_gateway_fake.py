"""The FakeGateway keeps Stripe's promises (idempotency, refund limits, decline codes), and the real
gateway's webhook check accepts exactly what Stripe signs. No network: verification is local."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from billing.gateway import (
    ChargeResult,
    GatewayUnavailable,
    IdempotencyKeyReusedError,
    PaymentGateway,
    PaymentMethodDeclinedError,
    RefundExceedsChargeError,
    StripeGateway,
    WebhookSignatureError,
)
from tests.support.fake_gateway import FakeGateway, ScriptedOutcome, sign_webhook

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SECRET = "whsec_unit_test"
EVENT = json.dumps(
    {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {}}
).encode()


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway(webhook_secret=SECRET)


@pytest.fixture
def customer(gateway: FakeGateway) -> str:
    return gateway.create_customer("driver@example.com", "A Driver", {"plate": "AB12345"})


def charge(gateway: FakeGateway, customer: str, method: str, key: str, amount: int = 1200) -> ChargeResult:
    return gateway.charge_off_session(customer, method, amount, "CNY", key, "stay 7", {"stay_id": "7"})


def test_both_gateways_satisfy_the_protocol() -> None:
    gateways: list[PaymentGateway] = [FakeGateway(), StripeGateway("sk_test_dummy", None, SECRET)]

    assert len(gateways) == 2


def test_a_good_card_is_charged_in_lower_case_currency(gateway: FakeGateway, customer: str) -> None:
    result = gateway.charge_off_session(customer, "pm_card_visa", 1200, "CNY", "k1", "stay 7", {})

    assert (result.status, result.amount, result.currency) == ("succeeded", 1200, "cny")
    assert result.payment_intent_id and result.charge_id
    assert gateway.captured_amount == 1200


@pytest.mark.parametrize(
    ("method", "decline_code"),
    [("pm_declined", "card_declined"), ("pm_insufficient_funds", "insufficient_funds")],
)
def test_a_declined_card_is_a_result_with_its_decline_code(
    gateway: FakeGateway, customer: str, method: str, decline_code: str
) -> None:
    result = gateway.charge_off_session(customer, method, 1200, "cny", "k1", "stay 7", {})

    assert (result.status, result.decline_code) == ("declined", decline_code)
    assert gateway.captured_amount == 0


def test_a_card_needing_authentication_asks_for_the_driver(gateway: FakeGateway, customer: str) -> None:
    result = gateway.charge_off_session(customer, "pm_auth_required", 1200, "cny", "k1", "stay 7", {})

    assert result.status == "requires_action"
    assert result.client_secret and result.charge_id is None


def test_an_unreachable_gateway_raises_and_a_retry_with_the_same_key_charges() -> None:
    gateway = FakeGateway(outcomes={"pm_flaky": ScriptedOutcome("unavailable", message="timeout")})
    customer = gateway.create_customer(None, None, {})

    with pytest.raises(GatewayUnavailable):
        gateway.charge_off_session(customer, "pm_flaky", 500, "cny", "k1", "stay", {})
    gateway.outcomes.pop("pm_flaky")

    assert (
        gateway.charge_off_session(customer, "pm_flaky", 500, "cny", "k1", "stay", {}).status == "succeeded"
    )


def test_a_repeated_idempotency_key_returns_the_first_result_and_never_charges_twice(
    gateway: FakeGateway, customer: str
) -> None:
    first = charge(gateway, customer, "pm_card_visa", "stay-7-attempt-1")
    again = charge(gateway, customer, "pm_card_visa", "stay-7-attempt-1")

    assert again == first
    assert gateway.captured_amount == 1200
    assert len(gateway.payments) == 1


def test_a_repeated_key_returns_the_first_decline_too(gateway: FakeGateway, customer: str) -> None:
    first = charge(gateway, customer, "pm_declined", "k1")

    assert charge(gateway, customer, "pm_declined", "k1") == first
    assert len(gateway.payments) == 1


def test_a_key_reused_with_other_parameters_is_refused(gateway: FakeGateway, customer: str) -> None:
    charge(gateway, customer, "pm_card_visa", "k1", amount=1200)

    with pytest.raises(IdempotencyKeyReusedError):
        charge(gateway, customer, "pm_card_visa", "k1", amount=1300)


def test_pay_now_charges_without_a_customer(gateway: FakeGateway) -> None:
    result = gateway.pay_now("pm_card_visa", 800, "CNY", "plate-AB12345-1", "pay by plate", {})

    assert (result.status, result.amount, result.currency) == ("succeeded", 800, "cny")
    assert gateway.retrieve_payment_intent(result.payment_intent_id or "") == result


@pytest.mark.parametrize("amount", [0, -5])
def test_a_charge_of_no_money_is_refused_before_reaching_the_gateway(
    gateway: FakeGateway, customer: str, amount: int
) -> None:
    with pytest.raises(ValueError):
        charge(gateway, customer, "pm_card_visa", "k1", amount=amount)


def test_unknown_customers_and_payments_are_reported_as_gateway_errors(gateway: FakeGateway) -> None:
    with pytest.raises(GatewayUnavailable):
        gateway.create_setup_intent("cus_missing")
    with pytest.raises(GatewayUnavailable):
        gateway.retrieve_payment_intent("pi_missing")


def test_saving_a_declined_card_raises(gateway: FakeGateway, customer: str) -> None:
    assert gateway.attach_payment_method(customer, "pm_card_visa") == "pm_card_visa"
    with pytest.raises(PaymentMethodDeclinedError):
        gateway.attach_payment_method(customer, "pm_declined")


def test_refunds_add_up_to_the_charge_and_never_beyond(gateway: FakeGateway, customer: str) -> None:
    intent = charge(gateway, customer, "pm_card_visa", "k1", amount=1000).payment_intent_id or ""

    partial = gateway.refund(intent, 300, "overcharged", "refund-1")
    with pytest.raises(RefundExceedsChargeError):
        gateway.refund(intent, 701, "overcharged", "refund-2")
    rest = gateway.refund(intent, 700, "overcharged", "refund-3")

    assert [partial.amount, rest.amount] == [300, 700]
    assert gateway.list_refunds(intent) == [rest, partial]
    assert gateway.captured_amount == 0
    with pytest.raises(RefundExceedsChargeError):
        gateway.refund(intent, 1, "overcharged", "refund-4")


def test_a_repeated_refund_key_refunds_once(gateway: FakeGateway, customer: str) -> None:
    intent = gateway.pay_now("pm_card_visa", 1000, "cny", "k1", "plate", {}).payment_intent_id or ""

    first = gateway.refund(intent, 1000, "duplicate", "refund-1")

    assert gateway.refund(intent, 1000, "duplicate", "refund-1") == first
    assert gateway.list_refunds(intent) == [first]


def test_a_declined_payment_cannot_be_refunded(gateway: FakeGateway, customer: str) -> None:
    intent = gateway.charge_off_session(customer, "pm_declined", 1000, "cny", "k1", "s", {}).payment_intent_id

    with pytest.raises(RefundExceedsChargeError):
        gateway.refund(intent or "", 1, "duplicate", "refund-1")


# --- webhook signatures: the real gateway (stripe SDK, local check) and the fake agree ---------------


@pytest.fixture(params=["stripe", "fake"])
def verifier(request: pytest.FixtureRequest) -> PaymentGateway:
    if request.param == "stripe":
        return StripeGateway("sk_test_dummy", None, SECRET)
    return FakeGateway(webhook_secret=SECRET)


def signed_now(payload: bytes = EVENT, secret: str = SECRET, age: timedelta = timedelta(seconds=5)) -> str:
    return sign_webhook(payload, secret, int((NOW - age).timestamp()))


def test_a_webhook_signed_by_sign_webhook_is_accepted(verifier: PaymentGateway) -> None:
    event = verifier.verify_webhook(EVENT, signed_now(), now=NOW)

    assert (event["id"], event["type"]) == ("evt_1", "payment_intent.succeeded")


@pytest.mark.parametrize(
    ("payload", "header"),
    [
        (EVENT.replace(b"evt_1", b"evt_2"), signed_now()),
        (EVENT, signed_now(secret="whsec_someone_else")),
        (EVENT, ""),
        (EVENT, "t=123"),
        (EVENT, "garbage"),
        (EVENT, signed_now(age=timedelta(minutes=6))),
        (b"not json", signed_now(b"not json")),
        (b"[1, 2]", signed_now(b"[1, 2]")),
    ],
    ids=[
        "tampered-payload",
        "wrong-secret",
        "missing-header",
        "no-signature",
        "garbage",
        "too-old",
        "not-json",
        "not-an-object",
    ],
)
def test_a_webhook_we_cannot_trust_is_refused(verifier: PaymentGateway, payload: bytes, header: str) -> None:
    with pytest.raises(WebhookSignatureError):
        verifier.verify_webhook(payload, header, now=NOW)


def test_without_a_clock_the_sdk_refuses_a_signature_from_long_ago() -> None:
    gateway = StripeGateway("sk_test_dummy", None, SECRET)

    with pytest.raises(WebhookSignatureError, match="tolerance"):
        gateway.verify_webhook(EVENT, sign_webhook(EVENT, SECRET, 1_000_000_000))
