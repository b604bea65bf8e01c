"""A signed-in driver's citations: the standing citations of my linked plates, and paying one
in the app with my saved card or another (enforcement/account_citations.py). The answers are
those of paying my stays (`POST /api/v1/drivers/me/payments`): 201 with the receipt, 200 for
a repeated `Idempotency-Key`, 202 when the bank wants 3-D Secure in the browser
(api/v1/drivers/card_payments.py), 402 when the card is refused."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.auth import clock_now
from api.database import begin_write, get_db, get_write_db
from api.errors import ApiError, json_body
from api.openapi import documented
from api.payment_gateway import get_gateway
from api.v1.drivers.accounts import signed_in_driver
from api.v1.drivers.card_payments import action_needed, payment_out
from api.v1.schemas.billing import PaymentOut
from api.v1.schemas.citations import AccountCitationList, CitationPaymentIn
from billing.payment_keys import new_key
from billing.payments import require_succeeded
from billing.plate_links import linked_plates
from billing.services import charge_pending
from enforcement.account_citations import own_citation, plan_account_citation_payment, standing_citations_of
from enforcement.citation_payments import settle_citation_payments
from parking.models import District

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
    db = get_write_db()
    account = signed_in_driver(db)
    body = CitationPaymentIn().load(json_body())
    client_key = request.headers.get("Idempotency-Key", "").strip()
    if len(client_key) > 80:
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key is at most 80 characters")
    prefix = f"account:{account.id}:citation"
    key = f"{prefix}:{client_key}" if client_key else new_key(prefix)
    citation = own_citation(db, linked_plates(db, account), citation_id)
    payment, created = plan_account_citation_payment(
        db, account, citation, body["amount"], body.get("payment_method"), key, clock_now()
    )
    db.commit()  # the pending payment exists before the provider is asked
    payment = charge_pending(db, get_gateway(), payment.id, clock_now())
    authenticate = action_needed(payment)  # 3-D Secure: the confirmation settles the citation
    if authenticate is not None:
        return authenticate
    require_succeeded(payment)
    district_id = payment.district_id
    db.commit()  # end the read of the answer: marking the citation paid is a write of its own
    settle_citation_payments(begin_write(db), db.get_one(District, district_id))
    db.commit()
    return jsonify(payment_out(payment)), 201 if created else 200
