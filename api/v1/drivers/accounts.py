"""Driver accounts: my account, linking plates, saving a card; my stays (current and past),
what my plates owe and paying it; my notifications (polled, or pushed to my callback).
Signing up, in and out is api/v1/drivers/sign_in.py; the use cases that write are
billing/driver_services.py.

A plate is linked once proven (billing/plate_links.py). A driver sees only stays of their
linked plates that began after the link was proven, plus any stay they paid for (a plate's
former driver's stays stay private); what a plate owes is public by plate anyway, so it is
shown for plates whose link is still pending too, and paying it proves the link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from sqlalchemy import exists, func, or_, select, union

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
from billing.ledger import owed_by_plates
from billing.models import ARREARS, SUCCEEDED, DriverPlate, Notice, Payment, PaymentAllocation, StayFee
from billing.notification_push import SIGNATURE_HEADER, register_callback
from billing.notifications import notifications_after
from billing.plate_links import (
    linked_plates,
    pending_plates,
    stay_is_the_accounts,
)
from billing.saved_cards import save_card, start_card_setup
from billing.tariff import so_far
from billing.tariffs import TariffBook
from identity.drivers import account_for_token
from identity.models import DriverAccount
from parking.models import Bay, District, Road, Stay
from parking.plate_rules import vehicle_class_for_plate
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
    district = db.get_one(District, claim.district_id).slug
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
    rows = db.scalars(
        select(Notice).where(Notice.account_id == account.id).order_by(Notice.created_at.desc()).limit(100)
    )
    return jsonify(NoticeList().dump({"notices": list(rows)}))


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
    rows = db.execute(
        select(Stay, Bay.name, Road.name, Road.tariff_code, District)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .join(District, District.id == Stay.district_id)
        .join(DriverPlate, stay_is_the_accounts())
        .where(*_of_linked(db, account), Stay.ended_at.is_(None))
        .order_by(Stay.started_at)
    ).all()
    books: dict[int, TariffBook] = {}
    stays = []
    for stay, bay, road, tariff_code, district in rows:
        book = books.get(district.id) or books.setdefault(district.id, TariffBook.load(db, district))
        stays.append(_current(stay, bay, road, district, book.in_force(tariff_code, stay.started_at), now))
    return jsonify(CurrentStayList().dump({"stays": stays}))


def _current(
    stay: Stay, bay: str, road: str, district: District, found: Any, now: datetime
) -> dict[str, Any]:
    vehicle_class = vehicle_class_for_plate(stay.plate, district.plate_rule)
    figures = so_far(found[1] if found is not None else None, stay.started_at, vehicle_class, now)
    left = figures.time_left
    return {
        "uuid": stay.uuid,
        "district": district.slug,
        "plate": stay.plate,
        "bay": bay,
        "road": road,
        "started_at": stay.started_at,
        "elapsed_seconds": int(figures.elapsed.total_seconds()),
        "fee_so_far": figures.fee,
        "currency": district.currency,
        "band": figures.band,
        "max_stay_minutes": figures.max_stay_minutes,
        "time_left_seconds": None if left is None else int(left.total_seconds()),
    }


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
    mine = (Stay.id.in_(_my_stays(db, account)), Stay.ended_at.is_not(None))
    total = db.scalar(select(func.count()).select_from(Stay).where(*mine))
    rows = db.execute(
        select(Stay, StayFee, Bay.name, Road.name, District.slug, District.currency)
        .outerjoin(StayFee, StayFee.stay_id == Stay.id)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .join(District, District.id == Stay.district_id)
        .where(*mine)
        .order_by(Stay.ended_at.desc(), Stay.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    receipts: dict[int, list[str]] = {}
    paid_by = db.execute(
        select(PaymentAllocation.stay_id, Payment.uuid)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.stay_id.in_([r[0].id for r in rows]), Payment.status == SUCCEEDED)
        .where(or_(Payment.account_id == account.id, _linked_since_started(account)))
        .order_by(Payment.created_at, Payment.id)
    )
    for stay_id, payment in paid_by:
        receipts.setdefault(stay_id, []).append(url_for("receipts.receipt_page", payment=payment))
    stays = [
        {
            "uuid": stay.uuid,
            "district": slug,
            "plate": stay.plate,
            "bay": bay,
            "road": road,
            "started_at": stay.started_at,
            "ended_at": stay.ended_at,
            "fee": fee.amount if fee else None,
            "paid": fee.paid if fee else 0,
            "currency": currency,
            "status": fee.status if fee else "unpriced",
            "receipt_urls": receipts.get(stay.id, []),
        }
        for stay, fee, bay, road, slug, currency in rows
    ]
    body = {"stays": stays, "page": page, "page_size": size, "total": total or 0}
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
    districts = []
    for district in db.scalars(select(District).order_by(District.slug)) if plates else ():
        owed = owed_by_plates(db, district, plates)
        if not owed:
            continue
        districts.append(
            {
                "district": district.slug,
                "currency": district.currency,
                "outstanding": sum(s.owed for _, s in owed),
                "arrears": sum(s.owed for _, s in owed if s.status == ARREARS),
                "stays": [{**vars(s), "owed": s.owed, "plate": plate} for plate, s in owed],
            }
        )
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


def _of_linked(db: Any, account: DriverAccount) -> tuple[Any, ...]:
    """Stays of my linked plates (join DriverPlate on `stay_is_the_accounts`). The district
    list lets the (district, plate) index serve the lookup; districts are few."""
    districts = list(db.scalars(select(District.id)))
    return (Stay.district_id.in_(districts), DriverPlate.account_id == account.id)


def _my_stays(db: Any, account: DriverAccount) -> Any:
    """Ids of my stays: by the one rule of billing/plate_links.py (what I am charged for
    automatically), and every stay a payment of mine paid."""
    by_link = select(Stay.id).join(DriverPlate, stay_is_the_accounts()).where(*_of_linked(db, account))
    paid = (
        select(PaymentAllocation.stay_id)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.account_id == account.id, Payment.status == SUCCEEDED)
    )
    return union(by_link, paid).subquery().select()


def _linked_since_started(account: DriverAccount) -> Any:
    """A receipt of a stay of mine by the link rule (paid by anyone, e.g. by plate)."""
    return exists().where(
        PaymentAllocation.stay_id == Stay.id, DriverPlate.account_id == account.id, stay_is_the_accounts()
    )
