"""An in-memory PaymentGateway for the tests, with scripted card outcomes (test code: the product
never imports it; tests inject it through the app config `GATEWAY`).

It keeps the promises that localstripe cannot: a repeated idempotency key returns the first result
and never charges twice, refunds never exceed what is left of a charge, and declines carry real
decline codes. It does not import stripe; webhooks are signed and checked with hmac, as Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from billing.gateway import (
    ChargeRecord,
    ChargeResult,
    ChargeStatus,
    GatewayUnavailable,
    IdempotencyKeyReusedError,
    PaymentMethodDeclinedError,
    RefundExceedsChargeError,
    RefundResult,
    SetupIntentResult,
    WebhookSignatureError,
    check_amount,
    check_minor_units,
    check_signature_age,
)


@dataclass(frozen=True)
class ScriptedOutcome:
    """What charging a payment method does: a ChargeResult status, or `unavailable` to raise."""

    status: ChargeStatus | Literal["unavailable"]
    decline_code: str | None = None
    message: str | None = None


SCRIPTED_OUTCOMES: dict[str, ScriptedOutcome] = {
    "pm_declined": ScriptedOutcome("declined", "card_declined", "Your card was declined."),
    "pm_insufficient_funds": ScriptedOutcome(
        "declined", "insufficient_funds", "Your card has insufficient funds."
    ),
    "pm_auth_required": ScriptedOutcome(
        "requires_action", "authentication_required", "This payment requires authentication."
    ),
    "pm_processing_error": ScriptedOutcome(
        "failed", "processing_error", "An error occurred while processing."
    ),
    "pm_unavailable": ScriptedOutcome("unavailable", message="Stripe did not answer."),
}
SUCCEEDED = ScriptedOutcome("succeeded")
TEST_CARD_OUTCOMES = {
    "4000000000000002": "pm_declined",
    "4000000000000341": "pm_declined",
    "4000000000009995": "pm_insufficient_funds",
}
T = TypeVar("T")


def sign_webhook(payload: bytes, secret: str, timestamp: int) -> str:
    """A `Stripe-Signature` header for payload: HMAC-SHA256 of "{t}.{payload}" under scheme v1."""
    signed = f"{timestamp}.".encode() + payload
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


class FakeGateway:
    """PaymentGateway in memory. Any payment method not in the script succeeds."""

    def __init__(
        self, webhook_secret: str = "whsec_fake", outcomes: dict[str, ScriptedOutcome] | None = None
    ) -> None:
        self.webhook_secret = webhook_secret
        self.outcomes = {**SCRIPTED_OUTCOMES, **(outcomes or {})}
        self.customers: dict[str, dict[str, Any]] = {}
        self.attached: dict[str, str] = {}  # payment method id -> customer id
        self.payments: dict[str, ChargeResult] = {}  # payment intent id -> its latest state
        self.refunds: dict[str, list[RefundResult]] = {}  # payment intent id -> its refunds
        self.captured_amount = 0  # money actually taken, to prove a retry charges nothing
        self._by_key: dict[str, tuple[tuple[Any, ...], Any]] = {}
        self._counter = 0

    def create_customer(self, email: str | None, name: str | None, metadata: dict[str, str]) -> str:
        customer_id = self._new_id("cus")
        self.customers[customer_id] = {"email": email, "name": name, "metadata": dict(metadata)}
        return customer_id

    def create_setup_intent(self, customer_id: str) -> SetupIntentResult:
        self._customer(customer_id)
        setup_id = self._new_id("seti")
        return SetupIntentResult(setup_id, f"{setup_id}_secret_fake", "requires_payment_method")

    def create_card_setup(self, metadata: dict[str, str]) -> SetupIntentResult:
        return self.create_setup_intent(self.create_customer(None, None, metadata))

    def attach_payment_method(self, customer_id: str, payment_method_id: str) -> str:
        self._customer(customer_id)
        if self.outcomes.get(payment_method_id, SUCCEEDED).status == "declined":
            raise PaymentMethodDeclinedError(
                "the card was declined", self.outcomes[payment_method_id].decline_code
            )
        self.attached[payment_method_id] = customer_id
        return payment_method_id

    def has_payment_method(self, customer_id: str, payment_method_id: str) -> bool:
        return self.attached.get(payment_method_id) == customer_id

    def charge_off_session(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        self._customer(customer_id)
        request = (
            "charge",
            customer_id,
            payment_method_id,
            amount,
            currency,
            description,
            tuple(metadata.items()),
        )
        return self._once(idempotency_key, request, lambda: self._charge(payment_method_id, amount, currency))

    def pay_now(
        self,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        request = ("pay_now", payment_method_id, amount, currency, description, tuple(metadata.items()))
        return self._once(idempotency_key, request, lambda: self._charge(payment_method_id, amount, currency))

    def refund(
        self, payment_intent_id: str, amount: int, reason_code: str, idempotency_key: str
    ) -> RefundResult:
        """Refund part of a succeeded payment; refunds in total never exceed the charge."""
        check_minor_units(amount)
        request = ("refund", payment_intent_id, amount, reason_code)
        return self._once(idempotency_key, request, lambda: self._refund(payment_intent_id, amount))

    def retrieve_payment_intent(self, payment_intent_id: str) -> ChargeResult:
        if payment_intent_id not in self.payments:
            raise GatewayUnavailable(
                f"Stripe could not retrieve a payment intent (HTTP 404): {payment_intent_id}", 404
            )
        return self.payments[payment_intent_id]

    def list_refunds(self, payment_intent_id: str) -> list[RefundResult]:
        self.retrieve_payment_intent(payment_intent_id)
        return list(reversed(self.refunds.get(payment_intent_id, [])))

    def list_charges(self, created_after: datetime, page_size: int = 100) -> list[ChargeRecord]:
        """Every charge made (the fake keeps no creation times: all of them), with its refunds."""
        return [
            ChargeRecord(
                id=payment.charge_id,
                payment_intent_id=intent_id,
                status="succeeded" if payment.status == "succeeded" else "failed",
                amount=payment.amount,
                currency=payment.currency,
                amount_refunded=sum(refund.amount for refund in self.refunds.get(intent_id, [])),
                created_at=created_after,
            )
            for intent_id, payment in self.payments.items()
            if payment.charge_id is not None
        ]

    def verify_webhook(
        self, payload: bytes, signature_header: str | None, *, now: datetime | None = None
    ) -> dict[str, Any]:
        """The event of a webhook signed with our secret; its age is checked only when `now` is given."""
        if not signature_header:
            raise WebhookSignatureError("no Stripe-Signature header")
        fields = [item.split("=", 1) for item in signature_header.split(",") if "=" in item]
        timestamps = [value for name, value in fields if name == "t"]
        if not timestamps or not timestamps[0].isdigit():
            raise WebhookSignatureError("the Stripe-Signature header carries no timestamp")
        expected = sign_webhook(payload, self.webhook_secret, int(timestamps[0])).split("v1=")[1]
        if not any(name == "v1" and hmac.compare_digest(value, expected) for name, value in fields):
            raise WebhookSignatureError("no signature matches the payload")
        if now is not None:
            check_signature_age(signature_header, now)
        try:
            event = json.loads(payload)
        except ValueError as error:
            raise WebhookSignatureError(f"webhook body is not a JSON event: {error}") from error
        if not isinstance(event, dict):
            raise WebhookSignatureError("webhook body is not a JSON object")
        return event

    def create_test_card_payment_method(self, number: str, exp_month: int, exp_year: int, cvc: str) -> str:
        """Stripe's published decline test numbers map to the scripted declines; others succeed."""
        return TEST_CARD_OUTCOMES.get(number) or self._new_id("pm_card")

    def _charge(self, payment_method_id: str, amount: int, currency: str) -> ChargeResult:
        currency = check_amount(amount, currency)
        outcome = self.outcomes.get(payment_method_id, SUCCEEDED)
        status = outcome.status
        if status == "unavailable":
            raise GatewayUnavailable(f"Stripe could not create a payment: {outcome.message}")
        payment_intent_id = self._new_id("pi")
        result = ChargeResult(
            status=status,
            payment_intent_id=payment_intent_id,
            charge_id=None if outcome.status == "requires_action" else self._new_id("ch"),
            amount=amount,
            currency=currency,
            decline_code=outcome.decline_code if outcome.status != "succeeded" else None,
            message=outcome.message,
            client_secret=f"{payment_intent_id}_secret_fake" if outcome.status == "requires_action" else None,
        )
        self.payments[payment_intent_id] = result
        if result.status == "succeeded":
            self.captured_amount += amount
        return result

    def _refund(self, payment_intent_id: str, amount: int) -> RefundResult:
        payment = self.retrieve_payment_intent(payment_intent_id)
        refunded = sum(refund.amount for refund in self.refunds.get(payment_intent_id, []))
        refundable = payment.amount - refunded if payment.status == "succeeded" else 0
        if amount > refundable:
            raise RefundExceedsChargeError(
                f"a refund of {amount} exceeds the {refundable} left to refund on {payment_intent_id}"
            )
        refund = RefundResult(self._new_id("re"), "succeeded", amount)
        self.refunds.setdefault(payment_intent_id, []).append(refund)
        self.captured_amount -= amount
        return refund

    def _once(self, idempotency_key: str, request: tuple[Any, ...], operation: Callable[[], T]) -> T:
        """Run operation once per key, as Stripe does: a repeat returns the first answer."""
        if idempotency_key in self._by_key:
            first_request, first_result = self._by_key[idempotency_key]
            if first_request != request:
                raise IdempotencyKeyReusedError(
                    f"idempotency key {idempotency_key!r} was used with other parameters"
                )
            return first_result  # type: ignore[no-any-return]
        result = operation()
        self._by_key[idempotency_key] = (request, result)
        return result

    def _customer(self, customer_id: str) -> dict[str, Any]:
        if customer_id not in self.customers:
            raise GatewayUnavailable(f"Stripe knows no customer {customer_id} (HTTP 404)", 404)
        return self.customers[customer_id]

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_fake_{self._counter}"
