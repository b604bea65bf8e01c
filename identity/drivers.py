"""Driver accounts: sign up and in (argon2 password hashes, bearer tokens that expire and are
revoked by signing out or changing the password). The saved card is billing/saved_cards.py,
linked plates billing/plate_links.py.

Sign-in and sign-up go through the sign-in attempt log of `identity.signin`, like staff:
failures are limited per (email, client address) and per address. The password is hashed
or checked outside any transaction: the caller records the attempt and commits, checks or
hashes, then opens the write transaction that issues the token or creates the account."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from identity.models import DriverAccount, DriverToken
from identity.passwords import hash_password
from identity.signin import PendingSignIn, SignInLimits, clear_attempt, record_attempt
from identity.tokens import hash_token, new_token
from parking.errors import ConflictError, DomainError


class BadCredentialsError(DomainError):
    code = "bad_credentials"
    status = 401


class EmailTakenError(ConflictError):
    code = "email_taken"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_key(email: str) -> str:
    """What the sign-in attempt log keeps of a driver's email (it stores no email)."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def record_sign_up(db: Session, email: str, client_ip: str, limits: SignInLimits, now: datetime) -> None:
    """A sign-up counts against the (email, address) pair and the address like a failed
    sign-in, so accounts cannot be made (or emails probed) in bulk from one address."""
    record_attempt(db, None, email_key(email), client_ip, limits, now)


def create_account(
    db: Session, email: str, password_hash: str, name: str | None, now: datetime
) -> DriverAccount | None:
    """The new account, or None when the email has one already: the caller answers both
    alike, so sign-up does not tell whether an email is registered (docs/ACCESS.md)."""
    email = normalise_email(email)
    if db.scalar(select(DriverAccount.id).where(DriverAccount.email == email)) is not None:
        return None
    account = DriverAccount(email=email, name=name, password_hash=password_hash, created_at=now)
    try:
        with db.begin_nested():  # a parallel sign-up of the same email may win the race
            db.add(account)
    except IntegrityError:
        return None
    return account


def sign_up(db: Session, email: str, password: str, name: str | None, now: datetime) -> DriverAccount:
    """An account made in one step, for operator scripts and tests (the API hashes outside
    its transaction and never tells that an email is taken: `create_account`)."""
    account = create_account(db, email, hash_password(password), name, now)
    if account is None:
        raise EmailTakenError("an account with this email exists", ["email"])
    return account


def start_sign_in(
    db: Session, email: str, client_ip: str, limits: SignInLimits, now: datetime
) -> PendingSignIn:
    """Refuse a limited (email, address) pair or address; else record the attempt as a
    failure and return the hash to check (None for an unknown email: a dummy stands in)."""
    attempt_id = record_attempt(db, None, email_key(email), client_ip, limits, now)
    account = db.scalar(select(DriverAccount).where(DriverAccount.email == normalise_email(email)))
    if account is None:
        return PendingSignIn(attempt_id, None, None)
    return PendingSignIn(attempt_id, account.id, account.password_hash)


def complete_sign_in(
    db: Session, pending: PendingSignIn, lifetime: timedelta, now: datetime
) -> tuple[DriverAccount, str]:
    """After the right password: the attempt is no failure, and the account gets a token."""
    account = db.get(DriverAccount, pending.account_id) if pending.account_id is not None else None
    if account is None:
        raise BadCredentialsError("the email or the password is wrong")
    clear_sign_in(db, pending)
    return account, issue_token(db, account, lifetime, now)


def clear_sign_in(db: Session, pending: PendingSignIn) -> None:
    """The right password was given: the attempt was no failure."""
    clear_attempt(db, pending.attempt_id)


def issue_token(db: Session, account: DriverAccount, lifetime: timedelta, now: datetime) -> str:
    """A new bearer token for the account, valid for `lifetime`; only its hash is kept."""
    token = new_token("dr_")
    row = DriverToken(
        account_id=account.id, token_hash=hash_token(token), created_at=now, expires_at=now + lifetime
    )
    db.add(row)
    db.flush()
    return token


def account_for_token(db: Session, token: str, now: datetime) -> DriverAccount | None:
    """The account of a token that is neither revoked nor expired."""
    row = db.scalar(select(DriverToken).where(DriverToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return db.get(DriverAccount, row.account_id)


def sign_out(db: Session, token: str, now: datetime) -> None:
    """Revoke the token the request came with."""
    db.execute(
        update(DriverToken)
        .where(DriverToken.token_hash == hash_token(token), DriverToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def change_password(
    db: Session, account: DriverAccount, password_hash: str, lifetime: timedelta, now: datetime
) -> str:
    """Keep the new hash, revoke every token of the account (a thief's too) and return a
    fresh one for the device that changed it."""
    account.password_hash = password_hash
    db.execute(
        update(DriverToken)
        .where(DriverToken.account_id == account.id, DriverToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return issue_token(db, account, lifetime, now)
