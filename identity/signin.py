"""Sign-in with a password, rate-limited by failed attempts recorded in the database, so the
limit holds across every web worker. Staff (per district) and drivers (`district_id` None,
see identity/drivers.py) share it.

A sign-in is three steps because the password check (argon2, tens of milliseconds) must run
outside any transaction: `start_sign_in` (or `record_attempt`) refuses a limited pair or
address and records the attempt as a failure (committed before the check, so parallel
guesses all count); `check_password`; then `complete_sign_in` (or `clear_attempt`) turns that
record into a success and issues the token. An attempt that is refused never gets as far as
the password.

Failures are counted per (username, client address) and per address, never per username
alone: an outsider who guesses a username's password locks out only their own address, and
the right password from any other address still works (docs/ACCESS.md, "Sign-in limits")."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from identity.models import SignInAttempt, StaffAccount, StaffToken
from identity.staff import issue_staff_token, normalise_username
from parking.errors import DomainError
from parking.models import District


class BadCredentialsError(DomainError):
    code = "bad_credentials"
    status = 401


class TooManyAttemptsError(DomainError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, message: str, retry_after: timedelta) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds()))


@dataclass(frozen=True)
class SignInLimits:
    """At most `per_user` failures per (realm, username, client address) and `per_ip` per
    client address within `window`; the realm is a district, or None for drivers."""

    per_user: int
    per_ip: int
    window: timedelta


@dataclass(frozen=True)
class PendingSignIn:
    """An attempt under way: its record, and the account's hash to check (None: no such
    account, or disabled, which a dummy hash stands in for)."""

    attempt_id: int
    account_id: int | None
    password_hash: str | None


# Serialises driver sign-ins on PostgreSQL, as the district row does for staff.
_DRIVER_SIGNIN_LOCK = 0x5349474E


def record_attempt(
    db: Session, district_id: int | None, username: str, client_ip: str, limits: SignInLimits, now: datetime
) -> int:
    """Refuse (`TooManyAttemptsError`) a (username, address) pair or an address over its
    limit; else record the attempt as a failure and return its id."""
    # One sign-in of a realm at a time counts and records (no-op on SQLite, whose write lock
    # already does this); NO KEY UPDATE leaves rows that refer to the district alone.
    if district_id is not None:
        db.execute(select(District.id).where(District.id == district_id).with_for_update(key_share=True))
    elif db.get_bind().dialect.name == "postgresql":
        db.execute(select(func.pg_advisory_xact_lock(_DRIVER_SIGNIN_LOCK)))
    db.execute(delete(SignInAttempt).where(SignInAttempt.attempted_at <= now - limits.window))
    by_pair = (*_of_user(district_id, username), SignInAttempt.client_ip == client_ip)
    by_address = (SignInAttempt.client_ip == client_ip, SignInAttempt.username != CARD_SETUP)
    for where, limit, who in (
        (by_pair, limits.per_user, "this username from this address"),
        (by_address, limits.per_ip, "this address"),
    ):
        until = _limited_until(db, where, limit, limits.window)
        if until is not None:
            raise TooManyAttemptsError(f"too many failed sign-ins for {who}: try again later", until - now)
    attempt = SignInAttempt(
        district_id=district_id, username=username, client_ip=client_ip, attempted_at=now, user_cleared=False
    )
    db.add(attempt)
    db.flush()
    return attempt.id


# What a card setup records in the attempt log. No username or email key begins with a space
# (usernames are stripped, email keys are hex), so card setups and sign-ins are counted apart.
CARD_SETUP = " card-setup"


def record_card_setup(
    db: Session, district_id: int, client_ip: str, per_ip: int, window: timedelta, now: datetime
) -> None:
    """Refuse (`TooManyAttemptsError`) a client address that started `per_ip` card setups
    (in any district) within `window`; else record this one. Every setup counts, whatever
    the card turns out to be: each is a chance to test a card at the provider."""
    db.execute(select(District.id).where(District.id == district_id).with_for_update(key_share=True))
    db.execute(
        delete(SignInAttempt).where(
            SignInAttempt.username == CARD_SETUP, SignInAttempt.attempted_at <= now - window
        )
    )
    where = (SignInAttempt.username == CARD_SETUP, SignInAttempt.client_ip == client_ip)
    until = _limited_until(db, where, per_ip, window)
    if until is not None:
        raise TooManyAttemptsError("too many card setups from this address: try again later", until - now)
    db.add(
        SignInAttempt(
            district_id=district_id,
            username=CARD_SETUP,
            client_ip=client_ip,
            attempted_at=now,
            user_cleared=False,
        )
    )
    db.flush()


def _of_user(district_id: int | None, username: str) -> tuple[Any, ...]:
    realm = (
        SignInAttempt.district_id.is_(None)
        if district_id is None
        else SignInAttempt.district_id == district_id
    )
    return (realm, SignInAttempt.username == username, SignInAttempt.user_cleared.is_(False))


def clear_attempt(db: Session, attempt_id: int) -> None:
    """After the right password: the attempt was no failure, and the earlier failures of the
    same username from the same address no longer count against the pair (they still count
    against the address). Failures from other addresses keep counting against theirs."""
    attempt = db.get(SignInAttempt, attempt_id)
    if attempt is None:  # pruned meanwhile
        return
    db.execute(
        update(SignInAttempt)
        .where(*_of_user(attempt.district_id, attempt.username), SignInAttempt.client_ip == attempt.client_ip)
        .values(user_cleared=True)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        delete(SignInAttempt)
        .where(SignInAttempt.id == attempt_id)
        .execution_options(synchronize_session=False)
    )
    db.expunge(attempt)


def start_sign_in(
    db: Session, district: District, username: str, client_ip: str, limits: SignInLimits, now: datetime
) -> PendingSignIn:
    """A staff sign-in: refuse a limited pair or address, else record the attempt as a
    failure and return what the password is to be checked against."""
    username = normalise_username(username)[:64]
    attempt_id = record_attempt(db, district.id, username, client_ip, limits, now)
    account = db.scalar(
        select(StaffAccount).where(StaffAccount.district_id == district.id, StaffAccount.username == username)
    )
    if account is None or account.disabled_at is not None:
        return PendingSignIn(attempt_id, None, None)
    return PendingSignIn(attempt_id, account.id, account.password_hash)


def _limited_until(db: Session, where: tuple[Any, ...], limit: int, window: timedelta) -> datetime | None:
    """When the failures matching `where` fall below `limit` (the limit-th newest one leaves
    the window); None when they are below it already. Rows older than the window are gone."""
    newest = (
        select(SignInAttempt.attempted_at)
        .where(*where)
        .order_by(SignInAttempt.attempted_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    at = db.scalar(newest)
    return None if at is None else at + window


def check_password(pending: PendingSignIn, password: str, matches: Callable[[str | None, str], bool]) -> None:
    """`BadCredentialsError` unless the password is the account's. An unknown or disabled
    account costs the same work and gets the same answer as a wrong password."""
    if not matches(pending.password_hash, password):
        raise BadCredentialsError("the username or the password is wrong")


def complete_sign_in(
    db: Session, district: District, pending: PendingSignIn, lifetime: timedelta, now: datetime
) -> tuple[StaffAccount, StaffToken, str]:
    """After the right password: the attempt is cleared (`clear_attempt`), and the account
    gets a token that expires after `lifetime`."""
    account = db.get(StaffAccount, pending.account_id) if pending.account_id is not None else None
    if account is None or account.disabled_at is not None:  # disabled meanwhile
        raise BadCredentialsError("the username or the password is wrong")
    clear_attempt(db, pending.attempt_id)
    row, token = issue_staff_token(
        db,
        district,
        account.role,
        account.display_name,
        now,
        account_id=account.id,
        expires_at=now + lifetime,
    )
    return account, row, token


def sign_out(db: Session, staff: StaffToken, now: datetime) -> None:
    """Revoke the token the request came with."""
    staff.revoked_at = now
    db.flush()
