"""Use cases of signing up, in and out, for drivers and staff, and of the admin's staff
accounts.

A password is hashed or checked (argon2, tens of milliseconds) with no transaction open:
the attempt is recorded as a failure and committed first, so parallel guesses all count,
then the password is checked, and only then a second short unit of work
(parking/unit_of_work.py) turns the attempt into a success and issues the token. Views call
one of these and shape the answer; the limits raise `TooManyAttemptsError` (429 with
Retry-After, api/errors.py), a wrong password `BadCredentialsError`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from identity import drivers
from identity.models import DriverAccount, StaffAccount, StaffToken
from identity.passwords import hash_password, password_matches
from identity.signin import BadCredentialsError, SignInLimits, check_password, complete_sign_in, start_sign_in
from identity.staff import create_account
from parking.models import District
from parking.unit_of_work import writing


@dataclass(frozen=True)
class StaffSession:
    account: StaffAccount
    token_row: StaffToken
    token: str  # shown this once only


def sign_in_staff(
    db: Session,
    district: District,
    username: str,
    password: str,
    client_ip: str,
    limits: SignInLimits,
    lifetime: timedelta,
    now: datetime,
) -> StaffSession:
    """A token that lasts `lifetime` for the right password of an enabled account."""
    with writing(db):
        pending = start_sign_in(db, district, username, client_ip, limits, now)
    check_password(pending, password, password_matches)
    with writing(db):
        account, row, token = complete_sign_in(db, district, pending, lifetime, now)
    return StaffSession(account, row, token)


def create_staff_account(
    db: Session,
    district: District,
    username: str,
    password: str,
    display_name: str,
    role: str,
    beat: Collection[str],
    now: datetime,
) -> StaffAccount:
    """An admin creates a staff account (identity/staff.py `create_account` has the rules)."""
    with writing(db):
        return create_account(
            db, district, username, password, display_name, role, now, beat=beat, hash_password=hash_password
        )


def sign_up_driver(
    db: Session,
    email: str,
    password: str,
    name: str | None,
    client_ip: str,
    limits: SignInLimits,
    now: datetime,
) -> str:
    """A new email gets an account with this password; an email that has one keeps it
    unchanged, after the same work, so the caller can answer both alike. The sign-up counts
    against the sign-in limits. Returns the email as the account keeps it."""
    email = drivers.normalise_email(email)
    with writing(db):
        drivers.record_sign_up(db, email, client_ip, limits, now)
    password_hash = hash_password(password)
    with writing(db):
        drivers.create_account(db, email, password_hash, name, now)
    return email


def sign_in_driver(
    db: Session,
    email: str,
    password: str,
    client_ip: str,
    limits: SignInLimits,
    lifetime: timedelta,
    now: datetime,
) -> tuple[DriverAccount, str]:
    """The account and a new token for the right password; an unknown email and a wrong
    password alike raise `BadCredentialsError`."""
    with writing(db):
        pending = drivers.start_sign_in(db, email, client_ip, limits, now)
    try:
        check_password(pending, password, password_matches)
    except BadCredentialsError:
        raise drivers.BadCredentialsError("the email or the password is wrong") from None
    with writing(db):
        return drivers.complete_sign_in(db, pending, lifetime, now)


def change_driver_password(
    db: Session,
    account_id: int,
    current_password: str,
    new_password: str,
    client_ip: str,
    limits: SignInLimits,
    lifetime: timedelta,
    now: datetime,
) -> tuple[DriverAccount, str]:
    """After the current password (a wrong one counts against the sign-in limits and changes
    nothing): the new hash kept, every token of the account revoked, and a fresh one issued."""
    with writing(db):
        email = db.get_one(DriverAccount, account_id).email
        pending = drivers.start_sign_in(db, email, client_ip, limits, now)
    try:
        check_password(pending, current_password, password_matches)
    except BadCredentialsError:
        raise drivers.BadCredentialsError("the current password is wrong", ["current_password"]) from None
    new_hash = hash_password(new_password)
    with writing(db):
        account = db.get_one(DriverAccount, account_id)
        drivers.clear_sign_in(db, pending)
        return account, drivers.change_password(db, account, new_hash, lifetime, now)
