"""A signed-in driver's citations: the standing citations of my linked plates, and paying one
in the app with my saved card or another (enforcement/services.py `pay_citation_from_account`).
The answers are those of paying my stays (`POST /api/v1/drivers/me/payments`): 201 with the
receipt, 200 for a repeated `Idempotency-Key`, 202 when the bank wants 3-D Secure in the browser
(api/v1/drivers/card_payments.py), 402 when the card is refused.

The HTTP shell of GET /api/v1/drivers/me/citations,
POST /api/v1/drivers/me/citations/<citation_id>/payments: each view parses, calls the domain,
writes the answer."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.auth import clock_now
from api.database import get_db
from api.errors import json_body
from api.openapi import documented
from api.payment_gateway import get_gateway
from api.v1.drivers.accounts import signed_in_driver
from api.v1.drivers.card_payments import action_needed, payment_out
from api.v1.schemas.billing import PaymentOut
from api.v1.schemas.citations import AccountCitationList, CitationPaymentIn
from billing.payments import require_succeeded
from billing.plate_links import linked_plates
from enforcement.account_citations import standing_citations_of
from enforcement.services import pay_citation_from_account

bp = Blueprint("driver_citations", __name__, url_prefix="/api/v1/drivers/me/citations")


@bp.get("")
@documented(
    "The standing citations of my linked plates, in every district, oldest first",
    AccountCitationList,
    auth="driver",
    errors=(401,),
)
def my_citations() -> Response:
    db = get_db()
    account = signed_in_driver(db)
    citations = standing_citations_of(db, linked_plates(db, account))
    return jsonify(AccountCitationList().dump({"citations": citations}))


@bp.post("/<citation_id>/payments")
@documented(
    "Pay a standing citation of one of my plates, whole: my saved card unless another is given",
    PaymentOut,
    body=CitationPaymentIn,
    auth="driver",
    errors=(400, 401, 402, 404, 409, 502),
    status=201,
)
def pay_citation(citation_id: str) -> tuple[Response, int]:
    """A citation of a plate that is not linked to my account answers 404 `unknown_citation`,
    as one that does not exist. Send an `Idempotency-Key` header to make a retried request
    safe: it answers the first payment."""
    db = get_db()
    account_id = signed_in_driver(db).id
    body = CitationPaymentIn().load(json_body())
    payment, created = pay_citation_from_account(
        db,
        get_gateway(),
        account_id,
        citation_id,
        body["amount"],
        body.get("payment_method"),
        request.headers.get("Idempotency-Key", "").strip(),
        clock_now(),
    )
    authenticate = action_needed(payment)  # 3-D Secure: the confirmation settles the citation
    if authenticate is not None:
        return authenticate
    require_succeeded(payment)
    return jsonify(payment_out(payment)), 201 if created else 200
