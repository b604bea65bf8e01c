"""Staff sign-in and sign-out, and the admin's management of staff accounts and tokens.

The HTTP shell of GET /api/v1/<district>/staff/accounts,
POST /api/v1/<district>/staff/accounts,
POST /api/v1/<district>/staff/accounts/<int:account_id>/disable,
POST /api/v1/<district>/staff/sign-in, POST /api/v1/<district>/staff/sign-out,
POST /api/v1/<district>/staff/tokens/<int:token_id>/revoke: each view parses, calls the domain,
writes the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from api.auth import clock_now, require_staff
from api.database import get_db
from api.errors import json_body
from api.openapi import documented
from api.v1.schemas.staff import (
    StaffAccountIn,
    StaffAccountList,
    StaffAccountOut,
    StaffSignedOut,
    StaffSignInIn,
    StaffSignInOut,
    StaffTokenOut,
)
from identity.models import StaffAccount, StaffToken
from identity.services import create_staff_account, sign_in_staff
from identity.signin import (
    SignInLimits,
    sign_out,
)
from identity.staff import disable_account, list_accounts, revoke_token, road_names
from parking.inventory import get_district
from parking.unit_of_work import writing

bp = Blueprint("staff_auth", __name__, url_prefix="/api/v1/<district>/staff")


@bp.post("/sign-in")
@documented(
    "Sign in with a username and password; the token lasts STAFF_TOKEN_HOURS",
    StaffSignInOut,
    body=StaffSignInIn,
    auth=None,
    errors=(400, 401, 404, 429),
)
def sign_in(district: str) -> Response:
    """401 `bad_credentials` for an unknown username, a wrong password or a disabled account
    alike. Failed sign-ins are limited per (username, client address) and per client address
    (429 `too_many_attempts` with `Retry-After`, even for the right password, from that
    address only). The body is read before the write lock is taken."""
    body = StaffSignInIn().load(json_body())
    db = get_db()
    place = get_district(db, district)
    hours = timedelta(hours=current_app.config["STAFF_TOKEN_HOURS"])
    done = sign_in_staff(
        db, place, body["username"], body["password"], client_ip(), limits(), hours, clock_now()
    )
    account, row, token = done.account, done.token_row, done.token
    out = {"token": token, "role": account.role, "name": account.display_name, "expires_at": row.expires_at}
    response = jsonify(StaffSignInOut().dump(out))
    response.headers["Cache-Control"] = "no-store"
    return response


def client_ip() -> str:
    # The peer address; behind a reverse proxy, configure it to set the real one (docs/OPERATIONS.md).
    return (request.remote_addr or "unknown")[:45]


def limits() -> SignInLimits:
    """The sign-in limits of the configuration (drivers share them)."""
    config = current_app.config
    return SignInLimits(
        per_user=int(config["SIGNIN_MAX_FAILURES_PER_USER"]),
        per_ip=int(config["SIGNIN_MAX_FAILURES_PER_IP"]),
        window=timedelta(minutes=config["SIGNIN_WINDOW_MINUTES"]),
    )


@bp.post("/sign-out")
@documented("Sign out: the token of this request is revoked", StaffSignedOut, errors=(401, 404))
def sign_out_view(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    with writing(db):
        sign_out(db, staff, clock_now())
    return jsonify(StaffSignedOut().dump({"signed_out": True}))


@bp.post("/accounts")
@documented(
    "Create a staff account (admin); the password has at least 10 characters",
    StaffAccountOut,
    body=StaffAccountIn,
    errors=(400, 401, 403, 404, 409),
    status=201,
)
def create(district: str) -> tuple[Response, int]:
    """`beat` names the roads (by name or CDS curb zone id) a warden or attendant works;
    without it they work the whole district."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    body = StaffAccountIn().load(json_body())
    account = create_staff_account(
        db,
        place,
        body["username"],
        body["password"],
        body["name"],
        body["role"],
        body.get("beat") or (),
        clock_now(),
    )
    return jsonify(StaffAccountOut().dump(_account_out(db, account, []))), 201


@bp.get("/accounts")
@documented("Staff accounts and their tokens in force (admin)", StaffAccountList, errors=(401, 403, 404))
def list_all(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    accounts = [_account_out(db, a, tokens) for a, tokens in list_accounts(db, place, clock_now())]
    return jsonify(StaffAccountList().dump({"accounts": accounts}))


@bp.post("/accounts/<int:account_id>/disable")
@documented(
    "Disable a staff account and revoke its tokens (admin)", StaffAccountOut, errors=(401, 403, 404, 409)
)
def disable(district: str, account_id: int) -> Response:
    db = get_db()
    place = get_district(db, district)
    admin = require_staff(db, place)
    with writing(db):
        account = disable_account(db, place, account_id, clock_now(), admin)
    return jsonify(StaffAccountOut().dump(_account_out(db, account, [])))


@bp.post("/tokens/<int:token_id>/revoke")
@documented("Revoke a staff token (admin)", StaffTokenOut, errors=(401, 403, 404))
def revoke(district: str, token_id: int) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    with writing(db):
        token = revoke_token(db, place, token_id, clock_now())
    return jsonify(StaffTokenOut().dump(token))


def _account_out(db: Session, account: StaffAccount, tokens: list[StaffToken]) -> dict[str, Any]:
    names = road_names(db, account.beat or [])
    return {
        "id": account.id,
        "username": account.username,
        "name": account.display_name,
        "role": account.role,
        "beat": [names[r] for r in account.beat if r in names] if account.beat else None,
        "created_at": account.created_at,
        "disabled_at": account.disabled_at,
        "tokens": tokens,
    }
