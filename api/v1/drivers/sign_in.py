"""Driver sign-up, sign-in, sign-out and password change (docs/ACCESS.md, "Drivers").

Each route reads its body and calls one service (identity/services.py), which records the
attempt and commits, hashes or checks the password with no transaction open, and only then
takes the write lock to write the result.
Sign-in and sign-up share the staff sign-in limits (per email and address, per address).
Sign-up answers 202 alike whether or not the email had an account: only signing in with the
right password tells.

The HTTP shell of POST /api/v1/drivers, PUT /api/v1/drivers/me/password,
DELETE /api/v1/drivers/sessions, POST /api/v1/drivers/sessions: each view parses, calls the
domain, writes the answer."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.orm import Session

from api.auth import bearer_token, clock_now
from api.database import get_db
from api.errors import json_body
from api.openapi import documented
from api.v1.drivers.accounts import driver_out, signed_in_driver
from api.v1.schemas.billing import SessionOut, SignInIn, SignUpIn
from api.v1.schemas.identity import PasswordIn, SignedOutOut, SignUpOut
from api.v1.staff.sign_in import client_ip, limits
from identity.drivers import sign_out
from identity.models import DriverAccount
from identity.services import change_driver_password, sign_in_driver, sign_up_driver
from parking.unit_of_work import writing

bp = Blueprint("driver_auth", __name__, url_prefix="/api/v1/drivers")


def _lifetime() -> timedelta:
    return timedelta(hours=current_app.config["DRIVER_TOKEN_HOURS"])


@bp.post("")
@documented(
    "Sign up: the same 202 whether or not the email has an account; then sign in",
    SignUpOut,
    body=SignUpIn,
    auth=None,
    errors=(400, 429),
    status=202,
)
def create_driver() -> Response | tuple[Response, int]:
    """A new email gets an account with this password. An email that has one keeps it
    unchanged, and the answer is the same (after the same hashing work), so sign-up does not
    tell who has an account. Sign-ups count against the sign-in limits."""
    body = SignUpIn().load(json_body())
    email = sign_up_driver(
        get_db(), body["email"], body["password"], body.get("name"), client_ip(), limits(), clock_now()
    )
    out = {"email": email, "next": "sign in with this email and password: POST /api/v1/drivers/sessions"}
    return jsonify(SignUpOut().dump(out)), 202


@bp.post("/sessions")
@documented(
    "Sign in: a bearer token for the driver endpoints, valid DRIVER_TOKEN_HOURS",
    SessionOut,
    body=SignInIn,
    auth=None,
    errors=(400, 401, 429),
    status=201,
)
def create_session() -> Response | tuple[Response, int]:
    """401 `bad_credentials` for an unknown email and a wrong password alike; 429
    `too_many_attempts` with `Retry-After` after too many failures for the email from this
    address, or from this address in all."""
    body = SignInIn().load(json_body())
    db = get_db()
    now = clock_now()
    account, token = sign_in_driver(
        db, body["email"], body["password"], client_ip(), limits(), _lifetime(), now
    )
    return _session(db, account, token), 201


@bp.delete("/sessions")
@documented("Sign out: the token of this request is revoked", SignedOutOut, auth="driver", errors=(401,))
def delete_session() -> Response:
    db = get_db()
    signed_in_driver(db)
    with writing(db):
        sign_out(db, bearer_token(), clock_now())
    return jsonify(SignedOutOut().dump({"signed_out": True}))


@bp.put("/me/password")
@documented(
    "Change my password: every token of my account is revoked; the answer carries a new one",
    SessionOut,
    body=PasswordIn,
    auth="driver",
    errors=(400, 401, 429),
)
def change_password() -> Response | tuple[Response, int]:
    """401 `bad_credentials` when the current password is wrong (nothing changes); wrong
    current passwords count against the sign-in limits (429 `too_many_attempts`)."""
    db = get_db()
    account_id = signed_in_driver(db).id
    body = PasswordIn().load(json_body())
    account, token = change_driver_password(
        db,
        account_id,
        body["current_password"],
        body["new_password"],
        client_ip(),
        limits(),
        _lifetime(),
        clock_now(),
    )
    return _session(db, account, token)


def _session(db: Session, account: DriverAccount, token: str) -> Response:
    response = jsonify({"token": token, "driver": driver_out(db, account)})
    response.headers["Cache-Control"] = "no-store"
    return response
