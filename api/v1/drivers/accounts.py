"""Driver accounts: my account, linking plates, saving a card; my stays (current and past),
what my plates owe and paying it; my notifications (polled, or pushed to my callback).
Signing up, in and out is api/v1/drivers/sign_in.py; the use cases that write are
billing/driver_services.py.

A plate is linked once proven (billing/plate_links.py). A driver sees only stays of their
linked plates that began after the link was proven, plus any stay they paid for (a plate's
former driver's stays stay private); what a plate owes is public by plate anyway, so it is
shown for plates whose link is still pending too, and paying it proves the link.

The HTTP shell of GET /api/v1/drivers/me, POST /api/v1/drivers/me/callback,
PUT /api/v1/drivers/me/card, POST /api/v1/drivers/me/card/setup,
GET /api/v1/drivers/me/notices, GET /api/v1/drivers/me/notifications,
GET /api/v1/drivers/me/outstanding, POST /api/v1/drivers/me/payments,
POST /api/v1/drivers/me/plates, GET /api/v1/drivers/me/stays/current,
GET /api/v1/drivers/me/stays/history: each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from api.access import DRIVER, require_allowed
from api.auth import bearer_token, clock_now
from api.database import get_db
from api.errors import ApiError, json_body
from api.notice_words import worded
from api.openapi import documented
from api.payment_gateway import get_gateway
from api.v1.drivers.card_payments import action_needed, stripe_js
from api.v1.schemas.billing import (
    AccountPaymentIn,
    CallbackIn,
    CallbackOut,
    CardIn,
    CurrentStayList,
    DriverOut,
    HistoryQuery,
    NoticeList,
    NotificationList,
    NotificationQuery,
    OutstandingOut,
    PaymentOut,
    SetupIntentOut,
    StayHistoryPage,
)
from api.v1.schemas.identity import PlateLinkIn, PlateLinkOut
from billing.driver_services import link_plate, pay_from_account, payable_plates
from billing.driver_stays import current_stays as current_stays_of
from billing.driver_stays import owed_by_district
from billing.driver_stays import stay_history as stay_history_of
from billing.notification_push import SIGNATURE_HEADER, register_callback
from billing.notifications import latest_notices, notifications_after
from billing.plate_links import (
    linked_plates,
    pending_plates,
)
from billing.saved_cards import save_card, start_card_setup
from identity.drivers import account_for_token
from identity.models import DriverAccount
from parking.inventory import district_by_id
from parking.unit_of_work import writing

bp = Blueprint("drivers", __name__, url_prefix="/api/v1/drivers")


def signed_in_driver(db: Any) -> DriverAccount:
    """The account of the request's token (401 unless it is valid, unexpired, unrevoked)."""
    account = account_for_token(db, bearer_token(), clock_now())
    if account is None:
        raise ApiError(401, "unauthorized", "sign in first: the token is unknown, expired or revoked")
    require_allowed(DRIVER)
    return account


def driver_out(db: Any, account: DriverAccount) -> dict[str, Any]:
    body: dict[str, Any] = DriverOut().dump(
        {
            "uuid": account.uuid,
            "email": account.email,
            "name": account.name,
            "plates": linked_plates(db, account),
            "pending_plates": pending_plates(db, account),
            "card_saved": account.payment_method_id is not None,
            "card_usable": account.payment_method_id is not None and account.card_unusable_at is None,
        }
    )
    return body


@bp.get("/me")
@documented("My account", DriverOut, auth="driver", errors=(401,))
def me() -> Response:
    db = get_db()
    return jsonify(driver_out(db, signed_in_driver(db)))


@bp.post("/me/plates")
@documented(
    "Ask to link a plate: pending until proven (pay its stays from this account, or staff approve)",
    PlateLinkOut,
    body=PlateLinkIn,
    auth="driver",
    errors=(400, 401, 404),
    status=202,
)
def add_plate() -> tuple[Response, int]:
    """202 `pending` alike whether the plate is unlinked or linked to someone else; 200
    `linked` when it is mine already. Asking again checks for a payment that proves it."""
    db = get_db()
    account_id = signed_in_driver(db).id
    db.commit()  # the token is checked first; the body is read with no lock held
    body = PlateLinkIn().load(json_body())
    plate, claim = link_plate(
        db, account_id, body["plate"], body.get("district"), body.get("evidence"), clock_now()
    )
    if claim is None:
        return jsonify(PlateLinkOut().dump({"plate": plate, "status": "linked"})), 200
    district = district_by_id(db, claim.district_id).slug
    out = {"plate": plate, "status": claim.status, "claim": claim.uuid, "district": district}
    return jsonify(PlateLinkOut().dump(out)), 202


@bp.post("/me/card/setup")
@documented(
    "Start saving a card: a SetupIntent for the card form",
    SetupIntentOut,
    auth="driver",
    errors=(401, 502),
    status=201,
)
def card_setup() -> tuple[Response, int]:
    with writing(get_db()) as db:
        intent = start_card_setup(db, get_gateway(), signed_in_driver(db))
    body = {"setup_intent": intent.id, "client_secret": intent.client_secret}
    return jsonify(body | {"publishable_key": stripe_js().publishable_key}), 201


@bp.put("/me/card")
@documented(
    "Save the card the form collected; it is charged when my stays end",
    DriverOut,
    body=CardIn,
    auth="driver",
    errors=(400, 401, 402, 502),
)
def put_card() -> Response:
    with writing(get_db()) as db:
        account = signed_in_driver(db)
        body = CardIn().load(json_body())
        save_card(db, get_gateway(), account, body["payment_method"])
    return jsonify(driver_out(db, account))


@bp.get("/me/notices")
@documented(
    "What I must be told: failed automatic payments, arrears", NoticeList, auth="driver", errors=(401,)
)
def notices() -> Response:
    db = get_db()
    account = signed_in_driver(db)
    return jsonify(NoticeList().dump({"notices": latest_notices(db, account.id)}))


@bp.get("/me/stays/current")
@documented(
    "My stays going on now: fee so far, time left before the maximum stay, the band now",
    CurrentStayList,
    auth="driver",
    errors=(401,),
)
def current_stays() -> Response:
    """Open stays of my linked plates, priced from their start to now by the tariff version
    in force when they started."""
    db = get_db()
    account, now = signed_in_driver(db), clock_now()
    return jsonify(CurrentStayList().dump({"stays": current_stays_of(db, account, now)}))


@bp.get("/me/stays/history")
@documented(
    "My ended stays, newest first, with fee, what is paid and the receipts",
    StayHistoryPage,
    query=HistoryQuery,
    auth="driver",
    errors=(400, 401),
)
def stay_history() -> Response:
    db = get_db()
    account = signed_in_driver(db)
    args = HistoryQuery().load(request.args)
    page, size = args["page"], args["page_size"]
    found = stay_history_of(db, account, page, size)
    stays = [
        {**s, "receipt_urls": [url_for("receipts.receipt_page", payment=p) for p in s["paid_by"]]}
        for s in found.stays
    ]
    body = {"stays": stays, "page": page, "page_size": size, "total": found.total}
    return jsonify(StayHistoryPage().dump(body))


@bp.get("/me/outstanding")
@documented(
    "What my plates owe, by district, in the order a payment settles it",
    OutstandingOut,
    auth="driver",
    errors=(401,),
)
def outstanding() -> Response:
    db = get_db()
    plates = payable_plates(db, signed_in_driver(db))
    districts = owed_by_district(db, plates)
    return jsonify(OutstandingOut().dump({"districts": districts}))


@bp.post("/me/payments")
@documented(
    "Pay what my plates owe: my saved card unless another is given, oldest arrears first",
    PaymentOut,
    body=AccountPaymentIn,
    auth="driver",
    errors=(400, 401, 402, 404, 409, 502),
    status=201,
)
def pay_mine() -> tuple[Response, int]:
    """`district` may be left out when my plates owe in one district only. Send an
    `Idempotency-Key` header to make a retried request safe: it answers the first payment."""
    db = get_db()
    account_id = signed_in_driver(db).id
    body = AccountPaymentIn().load(json_body())
    client_key = request.headers.get("Idempotency-Key", "").strip()
    payment, created = pay_from_account(
        db,
        get_gateway(),
        account_id,
        body["amount"],
        body.get("payment_method"),
        client_key,
        body.get("district"),
        clock_now(),
    )
    authenticate = action_needed(payment)  # 3-D Secure: the browser finishes it (card_payments.py)
    if authenticate is not None:
        return authenticate
    out: dict[str, Any] = PaymentOut().dump(payment)
    out["receipt_url"] = url_for("receipts.receipt_page", payment=payment.uuid)
    return jsonify(out), 201 if created else 200


@bp.get("/me/notifications")
@documented(
    "My notifications after a cursor, oldest first: reminders, charges, failed payments, arrears",
    NotificationList,
    query=NotificationQuery,
    auth="driver",
    errors=(400, 401),
)
def notifications() -> Response:
    """Poll with `after` set to the last answer's `cursor`; a notification's `id` never
    repeats, so one pushed to the callback as well can be dropped as a repeat."""
    db = get_db()
    account = signed_in_driver(db)
    args = NotificationQuery().load(request.args)
    rows = notifications_after(db, account.id, args["after"], args["limit"])
    cursor = rows[-1].id if rows else args["after"]
    return jsonify(NotificationList().dump({"notifications": [worded(r) for r in rows], "cursor": cursor}))


@bp.post("/me/callback")
@documented(
    "Push my notifications to a URL; the answer carries the signing secret, shown only once",
    CallbackOut,
    body=CallbackIn,
    auth="driver",
    errors=(400, 401),
    status=201,
)
def put_callback() -> tuple[Response, int]:
    """Registering again replaces the URL and the secret. Each push is a JSON POST signed in
    the `X-Parking-Signature` header (see docs/BILLING.md, Notifications)."""
    allow_private = bool(current_app.config["NOTIFY_ALLOW_PRIVATE_URLS"])
    with writing(get_db()) as db:
        account = signed_in_driver(db)
        body = CallbackIn().load(json_body())
        secret = register_callback(db, account.id, body["url"], clock_now(), allow_private)
    out = {"url": body["url"], "secret": secret, "signature_header": SIGNATURE_HEADER}
    return jsonify(CallbackOut().dump(out)), 201
