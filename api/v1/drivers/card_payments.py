"""Card payments from the browser, the way Stripe documents them for the web: the card is typed
into Stripe.js Elements and goes to the provider only, never to this server.

1. `POST /api/v1/<district>/card-setups` creates a SetupIntent and answers its `client_secret`
   and the publishable key; the page confirms it with `stripe.confirmCardSetup`, which gives
   the card's payment method (`pm_...`).
2. The page pays with it (`POST .../plates/<plate>/payments`, or `/drivers/me/payments`): the
   server creates and confirms the PaymentIntent. If the bank wants 3-D Secure, that answer is
   `202` with the payment `requires_action`, the intent's `client_secret` and a
   `confirmation_url`; the page runs `stripe.confirmCardPayment(client_secret)`, then
3. `POST /api/v1/<district>/payments/<payment>/confirmation` asks the provider how the intent
   ended and records it: the receipt, or `402 payment_declined`. The webhook records the same
   outcome if the page never comes back.

The page loads Stripe.js from https://js.stripe.com/v3/ with a real key, and otherwise the
stand-in that localstripe serves at `<STRIPE_API_BASE>/js.stripe.com/v3/` (`stripe_js`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, url_for
from marshmallow import Schema, fields

from api.auth import clock_now
from api.database import get_db
from api.openapi import documented
from api.payment_gateway import get_gateway
from api.v1.schemas.billing import PaymentOut
from api.v1.staff.sign_in import client_ip
from billing.models import REQUIRES_ACTION, SUCCEEDED, Payment
from billing.payments import require_succeeded
from billing.services import confirm_card_payment
from enforcement.citation_payments import settle_citation_payments
from identity.signin import record_card_setup
from parking.inventory import get_district
from parking.models import District
from parking.unit_of_work import writing

bp = Blueprint("card_payments", __name__, url_prefix="/api/v1/<district>")

STRIPE_JS_URL = "https://js.stripe.com/v3/"
# Stripe.js itself, its frames (card fields, 3-D Secure) and the API it talks to.
STRIPE_ORIGINS = {
    "script": "https://js.stripe.com",
    "frame": "https://js.stripe.com https://hooks.stripe.com",
}
STRIPE_API_ORIGIN = "https://api.stripe.com"
# localstripe takes any publishable key shaped like Stripe's.
LOCAL_PUBLISHABLE_KEY = "pk_test_localstripe"


@dataclass(frozen=True)
class StripeJs:
    """Where the page loads Stripe.js from, with which key, and what its CSP must allow."""

    url: str
    publishable_key: str
    script_origin: str
    frame_origin: str
    connect_origin: str


def stripe_js() -> StripeJs:
    config = current_app.config
    if config["STRIPE_API_KEY"]:
        return StripeJs(
            STRIPE_JS_URL,
            config["STRIPE_PUBLISHABLE_KEY"],
            STRIPE_ORIGINS["script"],
            STRIPE_ORIGINS["frame"],
            STRIPE_API_ORIGIN,
        )
    base = urlsplit(config["STRIPE_API_BASE"])
    origin = f"{base.scheme}://{base.netloc}"
    return StripeJs(f"{origin}/js.stripe.com/v3/", LOCAL_PUBLISHABLE_KEY, origin, origin, origin)


class CardSetupOut(Schema):
    client_secret = fields.String()
    publishable_key = fields.String()


class PaymentActionOut(PaymentOut):
    """A payment the bank wants the driver to authenticate (3-D Secure) in the browser."""

    client_secret = fields.String(allow_none=True)
    publishable_key = fields.String()
    confirmation_url = fields.String()


@bp.post("/card-setups")
@documented(
    "Start taking a card in the browser: a SetupIntent for Stripe.js to confirm",
    CardSetupOut,
    auth=None,
    errors=(404, 429, 502),
    status=201,
)
def create_card_setup(district: str) -> Response | tuple[Response, int]:
    """The card itself never reaches this server. Each client address may start
    CARD_SETUPS_PER_IP setups within SIGNIN_WINDOW_MINUTES (429 `too_many_attempts` with
    `Retry-After` beyond): the setup is recorded and committed before the provider is asked,
    with no transaction open while it answers."""
    window = timedelta(minutes=current_app.config["SIGNIN_WINDOW_MINUTES"])
    per_ip = int(current_app.config["CARD_SETUPS_PER_IP"])
    with writing(get_db()) as db:
        place = get_district(db, district)
        record_card_setup(db, place.id, client_ip(), per_ip, window, clock_now())
    intent = get_gateway().create_card_setup({"district": place.slug, "purpose": "card payment"})
    return jsonify(
        {"client_secret": intent.client_secret, "publishable_key": stripe_js().publishable_key}
    ), 201


@bp.post("/payments/<payment_id>/confirmation")
@documented(
    "After the browser authenticated a card payment: record how the provider says it ended",
    PaymentOut,
    auth=None,
    errors=(402, 404, 502),
)
def confirm_payment(district: str, payment_id: str) -> Response:
    """The payment's id is known only to whoever started it (like its receipt link). The
    provider's word is asked outside any write lock, then recorded."""
    place = get_district(get_db(), district)
    payment = confirm_card_payment(get_db(), get_gateway(), place.id, payment_id, clock_now())
    require_succeeded(payment)
    with writing(get_db()) as db:
        settle_citation_payments(db, place)  # a citation's payment: the citation is paid now
    return jsonify(payment_out(payment))


def payment_out(payment: Payment) -> dict[str, Any]:
    body: dict[str, Any] = PaymentOut().dump(payment)
    body["receipt_url"] = (
        url_for("receipts.receipt_page", payment=payment.uuid) if payment.status == SUCCEEDED else None
    )
    return body


def action_needed(payment: Payment) -> tuple[Response, int] | None:
    """The `202` answer for a payment waiting for 3-D Secure in the browser, or None."""
    if payment.status != REQUIRES_ACTION or not payment.payment_intent_id:
        return None
    intent = get_gateway().retrieve_payment_intent(payment.payment_intent_id)
    district = get_db().get_one(District, payment.district_id).slug
    body = payment_out(payment) | {
        "client_secret": intent.client_secret,
        "publishable_key": stripe_js().publishable_key,
        "confirmation_url": url_for(
            "card_payments.confirm_payment", district=district, payment_id=payment.uuid
        ),
    }
    return jsonify(body), 202
