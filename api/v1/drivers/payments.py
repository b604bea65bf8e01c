"""Paying: by plate (anyone), refunds (staff), and the payment provider's webhooks.

The HTTP shell of GET /api/v1/<district>/payments/<payment_id>,
POST /api/v1/<district>/payments/<payment_id>/refunds,
POST /api/v1/<district>/plates/<plate>/payments, GET /api/v1/<district>/plates/<plate>/unpaid,
POST /api/v1/<district>/plates/unpaid, POST /webhooks/stripe: each view parses, calls the
domain, writes the answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from api.auth import clock_now, require_staff
from api.database import get_db
from api.errors import json_body
from api.openapi import documented
from api.payment_gateway import get_gateway
from api.v1.drivers.card_payments import action_needed
from api.v1.schemas.billing import (
    PaymentOut,
    PlateIn,
    PlateLedgerOut,
    RefundIn,
    RefundOut,
)
from api.v1.schemas.citations import OwedCitationOut, PlateOwesOut, PlatePayIn
from billing.models import SUCCEEDED, Payment
from billing.payments import find_payment, require_succeeded
from billing.services import give_refund
from billing.webhooks import handle_event
from enforcement.citation_payments import plate_owes, settle_citation_payments
from enforcement.services import PlatePayment
from enforcement.services import pay_plate as pay_plate_service
from parking.inventory import every_district, get_district
from parking.plate_rules import accept_plate
from parking.unit_of_work import writing

bp = Blueprint("payments", __name__)


@bp.get("/api/v1/<district>/plates/<plate>/unpaid")
@documented(
    "What a plate owes: its unpaid stays, oldest arrears first, and its standing citations",
    PlateOwesOut,
    auth=None,
    errors=(400, 404),
)
def unpaid(district: str, plate: str) -> Response:
    """Anyone who knows a plate can see and pay what it owes, without an account.
    `outstanding` counts the unpaid stays and the standing citations."""
    db = get_db()
    place = get_district(db, district)
    normal = accept_plate(place.plate_rule, plate)
    owes = plate_owes(db, place, normal)
    out: dict[str, Any] = PlateLedgerOut().dump(owes.ledger)
    out["citations"] = OwedCitationOut(many=True).dump(owes.citations)
    out["outstanding"] = owes.outstanding
    return jsonify(out)


@bp.post("/api/v1/<district>/plates/unpaid")
@documented(
    "What a plate owes, the plate in the body (kept out of URLs and access logs)",
    PlateOwesOut,
    body=PlateIn,
    auth=None,
    errors=(400, 404),
)
def unpaid_by_body(district: str) -> Response:
    """`GET .../plates/<plate>/unpaid` with `{"plate": ...}` as a JSON body: a plate in a path
    lands in every access log on the way (docs/PRIVACY.md); a body does not."""
    get_district(get_db(), district)  # an unknown district is 404 whatever the body
    return unpaid(district, PlateIn().load(json_body())["plate"])


@bp.post("/api/v1/<district>/plates/<plate>/payments")
@documented(
    "Pay a plate's unpaid stays or standing citations by card",
    PaymentOut,
    body=PlatePayIn,
    auth=None,
    errors=(400, 402, 404, 409, 502),
    status=201,
)
def pay_plate(district: str, plate: str) -> tuple[Response, int]:
    """Pay `amount` towards a plate's unpaid stays (or the `stays` named), oldest arrears
    first, with a card `payment_method` from the provider's card form. Send an
    `Idempotency-Key` header to make a retried request safe: it answers the first payment."""
    db = get_db()
    place = get_district(db, district)
    body = PlatePayIn().load(json_body())
    asked = PlatePayment(
        amount=body["amount"],
        payment_method=body["payment_method"],
        client_key=request.headers.get("Idempotency-Key", "").strip(),
        stays=body.get("stays"),
        citations=body.get("citations"),
        currency=body.get("currency"),
    )
    payment, created = pay_plate_service(db, get_gateway(), place, plate, asked, clock_now())
    authenticate = action_needed(payment)  # 3-D Secure: the browser finishes it (card_payments.py)
    if authenticate is not None:
        return authenticate
    require_succeeded(payment)
    return jsonify(_payment_out(payment)), 201 if created else 200


@bp.get("/api/v1/<district>/payments/<payment_id>")
@documented("One payment", PaymentOut, errors=(401, 403, 404))
def get_payment(district: str, payment_id: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    return jsonify(_payment_out(find_payment(db, place.id, payment_id)))


@bp.post("/api/v1/<district>/payments/<payment_id>/refunds")
@documented(
    "Refund a payment, in full or in part, with a reason",
    RefundOut,
    body=RefundIn,
    errors=(400, 401, 403, 404, 409, 502),
    status=201,
)
def refund_payment(district: str, payment_id: str) -> tuple[Response, int]:
    """Never beyond what is still refundable; a card refund goes to the provider, a cash or
    QR refund is recorded as given back at the curb."""
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    body = RefundIn().load(json_body())
    refund = give_refund(
        db, get_gateway(), place.id, payment_id, body["amount"], body["reason"], staff.name, clock_now()
    )
    out = {**{c: getattr(refund, c) for c in ("uuid", "amount", "reason", "staff", "status", "created_at")}}
    out["payment"] = payment_id
    return jsonify(RefundOut().dump(out)), 201


@bp.post("/webhooks/stripe")
def stripe_webhook() -> Response:
    """The provider's events, verified with the signing secret; a resent event changes
    nothing, and a late one never undoes a later state."""
    payload = request.get_data(cache=False)
    event = get_gateway().verify_webhook(payload, request.headers.get("Stripe-Signature"), now=clock_now())
    with writing(get_db()) as db:
        outcome = handle_event(db, event, clock_now())
        for place in every_district(db):
            settle_citation_payments(db, place)  # a citation's payment the provider confirmed late
    current_app.logger.info("webhook %s %s: %s", event.get("id"), event.get("type"), outcome)
    return jsonify({"received": True, "outcome": outcome})


def _payment_out(payment: Payment) -> dict[str, Any]:
    body: dict[str, Any] = PaymentOut().dump(payment)
    body["receipt_url"] = (
        url_for("receipts.receipt_page", payment=payment.uuid) if payment.status == SUCCEEDED else None
    )
    return body
