"""Driver accounts: sign up and in (argon2 password hashes, revocable bearer tokens), linked
plates, and a saved card held by the payment provider."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.gateway import PaymentGateway, SetupIntentResult
from billing.models import DriverAccount, DriverPlate, DriverToken
from billing.passwords import hash_password, password_matches
from parking.errors import ConflictError, DomainError


class EmailTakenError(ConflictError):
    code = "email_taken"


class BadCredentialsError(DomainError):
    code = "bad_credentials"
    status = 401


class PlateLinkedElsewhereError(ConflictError):
    code = "plate_linked_elsewhere"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_up(db: Session, email: str, password: str, name: str | None, now: datetime) -> DriverAccount:
    email = email.strip().lower()
    if db.scalar(select(DriverAccount.id).where(DriverAccount.email == email)) is not None:
        raise EmailTakenError("an account with this email exists", ["email"])
    account = DriverAccount(email=email, name=name, password_hash=hash_password(password), created_at=now)
    db.add(account)
    db.flush()
    return account


def sign_in(db: Session, email: str, password: str, now: datetime) -> tuple[DriverAccount, str]:
    """A new session token for the right password; the same error for an unknown email."""
    account = db.scalar(select(DriverAccount).where(DriverAccount.email == email.strip().lower()))
    # an unknown email costs the same work as a wrong password
    if not password_matches(account.password_hash if account else None, password):
        raise BadCredentialsError("the email or the password is wrong")
    assert account is not None
    token = "dr_" + secrets.token_urlsafe(32)
    db.add(DriverToken(account_id=account.id, token_hash=_token_hash(token), created_at=now))
    db.flush()
    return account, token


def account_for_token(db: Session, token: str) -> DriverAccount | None:
    row = db.scalar(select(DriverToken).where(DriverToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    return db.get(DriverAccount, row.account_id)


def plates_of(db: Session, account: DriverAccount) -> list[str]:
    return list(
        db.scalars(
            select(DriverPlate.plate).where(DriverPlate.account_id == account.id).order_by(DriverPlate.plate)
        )
    )


def link_plate(db: Session, account: DriverAccount, plate: str, now: datetime) -> None:
    """Link a (normalised) plate; linking it again is a no-op, another account's plate a 409."""
    row = db.get(DriverPlate, plate)
    if row is not None:
        if row.account_id != account.id:
            raise PlateLinkedElsewhereError(f"{plate} is linked to another account", ["plate"])
        return
    db.add(DriverPlate(plate=plate, account_id=account.id, linked_at=now))
    db.flush()


def start_card_setup(db: Session, gateway: PaymentGateway, account: DriverAccount) -> SetupIntentResult:
    """A SetupIntent for the app to collect a card with; the provider customer is made once."""
    if account.customer_id is None:
        account.customer_id = gateway.create_customer(account.email, account.name, {"account": account.uuid})
        db.flush()
    return gateway.create_setup_intent(account.customer_id)


def save_card(db: Session, gateway: PaymentGateway, account: DriverAccount, payment_method_id: str) -> None:
    """Keep the card the app collected as the one charged when a stay ends."""
    if account.customer_id is None:
        account.customer_id = gateway.create_customer(account.email, account.name, {"account": account.uuid})
    account.payment_method_id = gateway.attach_payment_method(account.customer_id, payment_method_id)
    account.card_unusable_at = None  # a card saved again is charged again
    db.flush()
