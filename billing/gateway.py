"""The payment gateway: the one module of the project that talks to Stripe.

Money crosses this boundary as integer minor units with a lower-case ISO currency code. Card
problems (declines, authentication required) come back as a `ChargeResult`, never as exceptions:
they are ordinary outcomes of charging a driver. Anything else that goes wrong with Stripe (network,
authentication, a rejected request) raises `GatewayUnavailable`, so callers never see a stripe type.

Every call uses a per-instance `stripe.StripeClient`, so tests, the demo (against localstripe) and
production can hold different gateways in one process.

Over 400 lines on purpose: it is the one module allowed to import `stripe`
(tests/unit/test_architecture.py), so everything Stripe-specific (the calls, their error
mapping, the webhook check) stays in it, next to the protocol the fakes implement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import stripe
from stripe.params import (
    ChargeListParams,
    CustomerCreateParams,
    PaymentIntentCreateParams,
    PaymentMethodCreateParams,
    RefundCreateParams,
    SetupIntentCreateParams,
)

ChargeStatus = Literal["succeeded", "requires_action", "declined", "failed", "processing"]
WEBHOOK_TOLERANCE_SECONDS = 300


class GatewayError(Exception):
    """Base of the gateway's errors; `code` is a stable slug for the API's error mapping."""

    code = "gateway_error"


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached, refused our credentials, or rejected a request."""

    code = "payment_gateway_unavailable"

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class RefundExceedsChargeError(GatewayError):
    """A refund may never take back more than what is left of the charge."""

    code = "refund_exceeds_charge"


class IdempotencyKeyReusedError(GatewayError):
    """An idempotency key was sent again with different parameters."""

    code = "idempotency_key_reused"


class PaymentMethodDeclinedError(GatewayError):
    """The card was refused when saved on a customer (charges report declines as results)."""

    code = "payment_method_declined"

    def __init__(self, message: str, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.decline_code = decline_code


class TestModeOnlyError(GatewayError):
    """Raw card numbers are taken only by a local test server, never by Stripe itself."""

    code = "not_test_mode"


class WebhookSignatureError(GatewayError):
    """A webhook whose signature is missing, wrong or too old, or whose body is not an event."""

    code = "webhook_signature_invalid"


@dataclass(frozen=True)
class SetupIntentResult:
    id: str
    client_secret: str
    status: str


@dataclass(frozen=True)
class ChargeResult:
    """One payment attempt. `processing` comes only from `retrieve_payment_intent`."""

    status: ChargeStatus
    payment_intent_id: str | None
    charge_id: str | None
    amount: int
    currency: str
    decline_code: str | None = None
    message: str | None = None
    client_secret: str | None = None  # for the browser to finish a `requires_action` payment


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int


@dataclass(frozen=True)
class ChargeRecord:
    """The provider's own record of one charge, as reconciliation compares it with ours."""

    id: str
    payment_intent_id: str | None
    status: str  # succeeded, failed or pending
    amount: int
    currency: str
    amount_refunded: int
    created_at: datetime


class PaymentGateway(Protocol):
    def create_customer(self, email: str | None, name: str | None, metadata: dict[str, str]) -> str: ...

    def create_setup_intent(self, customer_id: str) -> SetupIntentResult: ...

    def create_card_setup(self, metadata: dict[str, str]) -> SetupIntentResult: ...

    def attach_payment_method(self, customer_id: str, payment_method_id: str) -> str: ...

    def has_payment_method(self, customer_id: str, payment_method_id: str) -> bool: ...

    def charge_off_session(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult: ...

    def pay_now(
        self,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult: ...

    def refund(
        self, payment_intent_id: str, amount: int, reason_code: str, idempotency_key: str
    ) -> RefundResult: ...

    def retrieve_payment_intent(self, payment_intent_id: str) -> ChargeResult: ...

    def list_refunds(self, payment_intent_id: str) -> list[RefundResult]: ...

    def list_charges(self, created_after: datetime, page_size: int = 100) -> list[ChargeRecord]: ...

    def verify_webhook(
        self, payload: bytes, signature_header: str | None, *, now: datetime | None = None
    ) -> dict[str, Any]: ...

    def create_test_card_payment_method(
        self, number: str, exp_month: int, exp_year: int, cvc: str
    ) -> str: ...


def check_minor_units(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"amount must be a positive integer of minor units, got {amount!r}")


def check_amount(amount: int, currency: str) -> str:
    """The currency as Stripe wants it; refuses non-positive or non-integer amounts."""
    check_minor_units(amount)
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency must be a three-letter ISO code, got {currency!r}")
    return currency.lower()


def payment_metadata(metadata: dict[str, str], description: str, idempotency_key: str) -> dict[str, str]:
    """Metadata sent with a payment: the caller's, plus the description and the idempotency key.

    The key lets reconciliation match a PaymentIntent to our row; the description travels in
    metadata because localstripe rejects the `description` parameter of PaymentIntents.
    """
    return {**metadata, "description": description, "idempotency_key": idempotency_key}


class StripeGateway:
    """PaymentGateway over Stripe (or localstripe, when `api_base` points at it)."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None,
        webhook_secret: str,
        *,
        max_network_retries: int = 2,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._real_stripe = api_base is None
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
        )

    def create_customer(self, email: str | None, name: str | None, metadata: dict[str, str]) -> str:
        params: CustomerCreateParams = {"metadata": metadata}
        if email is not None:
            params["email"] = email
        if name is not None:
            params["name"] = name
        with stripe_errors("create a customer"):
            return self._client.v1.customers.create(params).id

    def create_setup_intent(self, customer_id: str) -> SetupIntentResult:
        with stripe_errors("create a setup intent"):
            params: SetupIntentCreateParams = {"customer": customer_id, "usage": "off_session"}
            intent = self._client.v1.setup_intents.create(params)
        return SetupIntentResult(id=intent.id, client_secret=intent.client_secret or "", status=intent.status)

    def attach_payment_method(self, customer_id: str, payment_method_id: str) -> str:
        """Save a card on the customer; the id of the attached method (a new one for `pm_card_*`).
        A card the customer's own SetupIntent confirmed is attached already: Stripe refuses a
        second attach, so it is kept as it is."""
        with stripe_errors("attach a payment method"):
            if self._real_stripe and self._owner_of(payment_method_id) == customer_id:
                return payment_method_id  # localstripe's SetupIntents attach nothing
            method = self._client.v1.payment_methods.attach(payment_method_id, {"customer": customer_id})
        return method.id

    def has_payment_method(self, customer_id: str, payment_method_id: str) -> bool:
        """Whether the provider still keeps this card on this customer (a local server that
        keeps no state forgets every card when it restarts)."""
        try:
            method = self._client.v1.payment_methods.retrieve(payment_method_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return False
            raise gateway_error("look up a payment method", error) from error
        except stripe.StripeError as error:
            raise gateway_error("look up a payment method", error) from error
        customer = method.customer
        return (customer if isinstance(customer, str) else getattr(customer, "id", None)) == customer_id

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
        """Charge a saved card with the driver absent; declines and 3-D Secure come back as results."""
        params: PaymentIntentCreateParams = {
            "amount": amount,
            "currency": check_amount(amount, currency),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "confirm": True,
            "off_session": True,
            "metadata": payment_metadata(metadata, description, idempotency_key),
        }
        return self._create_payment_intent(params, description, idempotency_key)

    def pay_now(
        self,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        """A one-off payment confirmed at once (finalised on the server: the browser only
        finishes 3-D Secure). A card from the card form belongs to the throwaway customer of
        its SetupIntent (`create_card_setup`), and Stripe wants that customer named with it."""
        params: PaymentIntentCreateParams = {
            "amount": amount,
            "currency": check_amount(amount, currency),
            "payment_method": payment_method_id,
            "confirm": True,
            "metadata": payment_metadata(metadata, description, idempotency_key),
        }
        if self._real_stripe:  # localstripe attaches nothing to the SetupIntent's customer
            with stripe_errors("retrieve a payment method"):
                owner = self._owner_of(payment_method_id)
            if owner is not None:
                params["customer"] = owner
        return self._create_payment_intent(params, description, idempotency_key)

    def create_card_setup(self, metadata: dict[str, str]) -> SetupIntentResult:
        """A SetupIntent for the card form of a payment without an account (pay by plate):
        its card is attached to a customer of its own, as Stripe wants a card that is set up
        and then charged."""
        customer_id = self.create_customer(None, None, metadata)
        return self.create_setup_intent(customer_id)

    def refund(
        self, payment_intent_id: str, amount: int, reason_code: str, idempotency_key: str
    ) -> RefundResult:
        """Refund part or all of a payment, never more than what is left of it.

        A key already used for a refund of this payment returns that refund: localstripe ignores the
        Idempotency-Key header, so the key also goes into the refund's metadata and is looked up.
        """
        check_minor_units(amount)
        refundable = self._refundable_amount(payment_intent_id)
        for earlier in self._refunds_of(payment_intent_id):
            if (
                earlier.metadata is not None
                and earlier.metadata.to_dict().get("idempotency_key") == idempotency_key
            ):
                return _refund_result(earlier)
        if amount > refundable:
            raise RefundExceedsChargeError(
                f"a refund of {amount} exceeds the {refundable} left to refund on {payment_intent_id}"
            )
        params: RefundCreateParams = {
            "payment_intent": payment_intent_id,
            "amount": amount,
            # Stripe's `reason` takes three fixed values and localstripe refuses it: ours goes in metadata.
            "metadata": {"reason_code": reason_code, "idempotency_key": idempotency_key},
        }
        try:
            refund = self._client.v1.refunds.create(params, {"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as error:
            if error.code == "charge_already_refunded":
                raise RefundExceedsChargeError(f"{payment_intent_id} is already fully refunded") from error
            raise gateway_error("refund a payment", error) from error
        except stripe.StripeError as error:
            raise gateway_error("refund a payment", error) from error
        return _refund_result(refund)

    def retrieve_payment_intent(self, payment_intent_id: str) -> ChargeResult:
        with stripe_errors("retrieve a payment intent"):
            intent = self._client.v1.payment_intents.retrieve(payment_intent_id)
        return charge_result(intent)

    def list_refunds(self, payment_intent_id: str) -> list[RefundResult]:
        """Every refund of a payment, newest first."""
        return [_refund_result(refund) for refund in self._refunds_of(payment_intent_id)]

    def list_charges(self, created_after: datetime, page_size: int = 100) -> list[ChargeRecord]:
        """Every charge created after `created_after`, fetched a page at a time."""
        params: ChargeListParams = {"created": {"gt": int(created_after.timestamp())}, "limit": page_size}
        with stripe_errors("list charges"):
            return [charge_record(c) for c in self._client.v1.charges.list(params).auto_paging_iter()]

    def verify_webhook(
        self, payload: bytes, signature_header: str | None, *, now: datetime | None = None
    ) -> dict[str, Any]:
        """The event of a webhook signed with our secret within the last five minutes.

        With `now` the age is checked against that instant (tests pass a fixed clock); without it
        the SDK checks it against the wall clock.
        """
        tolerance = 0 if now is not None else WEBHOOK_TOLERANCE_SECONDS
        try:
            event = self._client.construct_event(payload, signature_header, self._webhook_secret, tolerance)
        except stripe.SignatureVerificationError as error:
            raise WebhookSignatureError(str(error)) from error
        except (ValueError, TypeError, AttributeError) as error:  # not UTF-8, not JSON, not an object
            raise WebhookSignatureError(f"webhook body is not a JSON event: {error}") from error
        if now is not None:
            check_signature_age(signature_header or "", now)
        return event.to_dict()

    def create_test_card_payment_method(self, number: str, exp_month: int, exp_year: int, cvc: str) -> str:
        """A card PaymentMethod (`pm_...`) from a test card number, on the local test server only:
        Stripe itself must never receive raw card numbers from our server."""
        if self._real_stripe:
            raise TestModeOnlyError("card numbers are taken only by the local test server")
        params: PaymentMethodCreateParams = {
            "type": "card",
            "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc},
        }
        with stripe_errors("create a test card"):
            return self._client.v1.payment_methods.create(params).id

    def _create_payment_intent(
        self, params: PaymentIntentCreateParams, description: str, idempotency_key: str
    ) -> ChargeResult:
        if self._real_stripe:
            # localstripe (any custom api_base) refuses these two. A card confirmed server-side needs
            # no redirect; without allow_redirects=never Stripe would ask for a return_url.
            params["description"] = description
            params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "never"}
        try:
            intent = self._client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
        except stripe.CardError as error:
            return card_error_result(error, params["amount"], params["currency"])
        except stripe.StripeError as error:
            raise gateway_error("create a payment", error) from error
        return charge_result(intent)

    def _owner_of(self, payment_method_id: str) -> str | None:
        """The customer a payment method is attached to, if any (raises Stripe's errors)."""
        owner = self._client.v1.payment_methods.retrieve(payment_method_id).customer
        return owner if isinstance(owner, str) or owner is None else owner.id

    def _refunds_of(self, payment_intent_id: str) -> list[stripe.Refund]:
        with stripe_errors("list refunds"):
            page = self._client.v1.refunds.list({"payment_intent": payment_intent_id, "limit": 100})
            return list(page.auto_paging_iter())

    def _refundable_amount(self, payment_intent_id: str) -> int:
        """What is left to refund: nothing unless the payment succeeded."""
        with stripe_errors("retrieve a payment intent"):
            intent = self._client.v1.payment_intents.retrieve(payment_intent_id)
            if intent.status != "succeeded" or intent.latest_charge is None:
                return 0
            charge = intent.latest_charge
            if isinstance(charge, str):  # Stripe sends the id; localstripe sends the object
                charge = self._client.v1.charges.retrieve(charge)
        return charge.amount - charge.amount_refunded


@contextmanager
def stripe_errors(action: str) -> Iterator[None]:
    """Turn any Stripe error raised inside into the matching gateway error."""
    try:
        yield
    except stripe.StripeError as error:
        raise gateway_error(action, error) from error


def gateway_error(action: str, error: stripe.StripeError) -> GatewayError:
    message = error.user_message or str(error) or type(error).__name__
    if isinstance(error, stripe.CardError):
        return PaymentMethodDeclinedError(f"the card was declined ({error.code}): {message}", error.code)
    if isinstance(error, stripe.IdempotencyError):
        return IdempotencyKeyReusedError(f"Stripe could not {action}: {message}")
    status = f" (HTTP {error.http_status})" if error.http_status else ""
    return GatewayUnavailable(f"Stripe could not {action}{status}: {message}", error.http_status)


def charge_result(intent: stripe.PaymentIntent) -> ChargeResult:
    """A PaymentIntent as a ChargeResult: final states map to results, the rest to `processing`."""
    charge = intent.latest_charge
    last_error = intent.last_payment_error
    # localstripe leaves out the fields it has no value for; Stripe sends them as null.
    error = last_error.to_dict() if last_error is not None else None
    status: ChargeStatus
    if intent.status == "succeeded":
        status = "succeeded"
    elif intent.status == "requires_action":
        status = "requires_action"
    elif intent.status == "requires_payment_method" and error is not None:
        status = "declined"
    elif intent.status in ("requires_payment_method", "canceled"):
        status = "failed"
    else:
        status = "processing"
    return ChargeResult(
        status=status,
        payment_intent_id=intent.id,
        charge_id=charge if isinstance(charge, str) or charge is None else charge.id,
        amount=intent.amount,
        currency=intent.currency,
        decline_code=(error.get("decline_code") or error.get("code"))
        if error is not None and status == "declined"
        else None,
        message=error.get("message") if error is not None and status != "succeeded" else None,
        client_secret=intent.client_secret if status == "requires_action" else None,
    )


def card_error_result(error: stripe.CardError, amount: int, currency: str) -> ChargeResult:
    """A card error as a result: `authentication_required` asks for the driver, the rest declines."""
    body = error.json_body if isinstance(error.json_body, dict) else {}
    detail: dict[str, Any] = body.get("error") or {}
    intent: dict[str, Any] = detail.get("payment_intent") or {}
    needs_driver = error.code == "authentication_required"
    return ChargeResult(
        status="requires_action"
        if needs_driver
        else "failed"
        if error.code == "processing_error"
        else "declined",
        payment_intent_id=intent.get("id"),
        charge_id=detail.get("charge"),
        amount=amount,
        currency=currency,
        decline_code=detail.get("decline_code") or error.code,
        message=error.user_message or str(error),
        client_secret=intent.get("client_secret") if needs_driver else None,
    )


def charge_record(charge: stripe.Charge) -> ChargeRecord:
    intent = charge.payment_intent
    return ChargeRecord(
        id=charge.id,
        payment_intent_id=intent if isinstance(intent, str) or intent is None else intent.id,
        status=charge.status,
        amount=charge.amount,
        currency=charge.currency.lower(),
        amount_refunded=charge.amount_refunded or 0,
        created_at=datetime.fromtimestamp(charge.created, UTC),
    )


def _refund_result(refund: stripe.Refund) -> RefundResult:
    return RefundResult(id=refund.id, status=refund.status or "pending", amount=refund.amount)


def check_signature_age(signature_header: str, now: datetime) -> None:
    """Refuse a signature made more than the tolerance before `now` (replayed webhooks)."""
    fields = dict(item.split("=", 1) for item in signature_header.split(",") if "=" in item)
    try:
        signed_at = int(fields["t"])
    except (KeyError, ValueError) as error:
        raise WebhookSignatureError("the Stripe-Signature header carries no timestamp") from error
    age_seconds = now.timestamp() - signed_at
    if age_seconds > WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookSignatureError(f"the webhook was signed {age_seconds:.0f} s ago, beyond the tolerance")
