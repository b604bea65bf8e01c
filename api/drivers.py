"""Driver accounts: sign up and in, link plates, save a card, read notices."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from api.cds import bearer_token, clock_now
from api.database import get_db, get_write_db
from api.errors import ApiError
from api.openapi import documented
from api.payments_gateway import get_gateway
from api.schemas_billing import (
    CardIn,
    DriverOut,
    NoticeList,
    PlateIn,
    SessionOut,
    SetupIntentOut,
    SignInIn,
    SignUpIn,
)
from billing.accounts import (
    account_for_token,
    link_plate,
    plates_of,
    save_card,
    sign_in,
    sign_up,
    start_card_setup,
)
from billing.models import DriverAccount, Notice
from parking.plates import normalise_plate

bp = Blueprint("drivers", __name__, url_prefix="/api/v1/drivers")


def _driver(db: Any) -> DriverAccount:
    account = account_for_token(db, bearer_token())
    if account is None:
        raise ApiError(401, "unauthorized", "sign in first: the token is unknown or revoked")
    return account


def _out(db: Any, account: DriverAccount) -> dict[str, Any]:
    body: dict[str, Any] = DriverOut().dump(
        {
            "uuid": account.uuid,
            "email": account.email,
            "name": account.name,
            "plates": plates_of(db, account),
            "card_saved": account.payment_method_id is not None,
        }
    )
    return body


@bp.post("")
@documented("Sign up", DriverOut, body=SignUpIn, auth=None, errors=(400, 409), status=201)
def create_driver() -> tuple[Response, int]:
    db = get_write_db()
    body = SignUpIn().load(_json_body())
    account = sign_up(db, body["email"], body["password"], body.get("name"), clock_now())
    db.commit()
    return jsonify(_out(db, account)), 201


@bp.post("/sessions")
@documented(
    "Sign in: a bearer token for the driver endpoints",
    SessionOut,
    body=SignInIn,
    auth=None,
    errors=(400, 401),
    status=201,
)
def create_session() -> tuple[Response, int]:
    db = get_write_db()
    body = SignInIn().load(_json_body())
    account, token = sign_in(db, body["email"], body["password"], clock_now())
    db.commit()
    return jsonify({"token": token, "driver": _out(db, account)}), 201


@bp.get("/me")
@documented("My account", DriverOut, auth="driver", errors=(401,))
def me() -> Response:
    db = get_db()
    return jsonify(_out(db, _driver(db)))


@bp.post("/me/plates")
@documented(
    "Link a plate to my account", DriverOut, body=PlateIn, auth="driver", errors=(400, 401, 409), status=201
)
def add_plate() -> tuple[Response, int]:
    db = get_write_db()
    account = _driver(db)
    body = PlateIn().load(_json_body())
    link_plate(db, account, normalise_plate(body["plate"]), clock_now())
    db.commit()
    return jsonify(_out(db, account)), 201


@bp.post("/me/card/setup")
@documented(
    "Start saving a card: a SetupIntent for the card form",
    SetupIntentOut,
    auth="driver",
    errors=(401, 502),
    status=201,
)
def card_setup() -> tuple[Response, int]:
    db = get_write_db()
    account = _driver(db)
    intent = start_card_setup(db, get_gateway(), account)
    db.commit()
    return jsonify({"setup_intent": intent.id, "client_secret": intent.client_secret}), 201


@bp.put("/me/card")
@documented(
    "Save the card the form collected; it is charged when my stays end",
    DriverOut,
    body=CardIn,
    auth="driver",
    errors=(400, 401, 402, 502),
)
def put_card() -> Response:
    db = get_write_db()
    account = _driver(db)
    body = CardIn().load(_json_body())
    save_card(db, get_gateway(), account, body["payment_method"])
    db.commit()
    return jsonify(_out(db, account))


@bp.get("/me/notices")
@documented(
    "What I must be told: failed automatic payments, arrears", NoticeList, auth="driver", errors=(401,)
)
def notices() -> Response:
    db = get_db()
    account = _driver(db)
    rows = db.scalars(
        select(Notice).where(Notice.account_id == account.id).order_by(Notice.created_at.desc()).limit(100)
    )
    return jsonify(NoticeList().dump({"notices": list(rows)}))


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return body
