"""Who may sign in: staff accounts and their bearer tokens (with a role in a district), driver
accounts and their tokens, and the record of failed sign-ins that rate-limits guessing. Only
the hash of a token is ever stored (identity/tokens.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parking.db import Base, BigId
from parking.models import new_uuid


class StaffAccount(Base):
    """A staff member of one district with a role, an argon2 password hash and, for wardens
    and attendants, an optional beat (road ids). Disabling it ends every token it holds."""

    __tablename__ = "staff_account"
    __table_args__ = (UniqueConstraint("district_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    # Road ids; None is the whole district.
    beat: Mapped[list[int] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class SignInAttempt(Base):
    """One failed sign-in (or one still being checked: it is written before the password is,
    so that parallel guesses are counted), of a staff member (`district_id` is theirs) or of
    a driver (`district_id` None, `username` a SHA-256 of the email), or one driver sign-up.
    A success for the username clears its rows from the per-user count; the per-address
    count keeps them until they age out and are pruned."""

    __tablename__ = "signin_attempt"
    __table_args__ = (
        Index("ix_signin_attempt_user", "district_id", "username", "attempted_at"),
        Index("ix_signin_attempt_ip", "client_ip", "attempted_at"),
        Index("ix_signin_attempt_at", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"))
    username: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(45))
    attempted_at: Mapped[datetime]
    # Set when the user later signed in: the row then counts only against the address.
    user_cleared: Mapped[bool] = mapped_column(default=False)


STAFF_ROLES = ("admin", "bureau", "warden", "attendant", "police", "city")


class StaffToken(Base):
    """A bearer token for a staff member or operator script, with its role in a district."""

    __tablename__ = "staff_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # A sign-in token belongs to a staff account and expires; an operator script's token
    # (`create-staff-token`) has neither.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"), index=True)
    expires_at: Mapped[datetime | None]


class DriverAccount(Base):
    """A driver with a saved card (a payment-provider customer) and linked plates."""

    __tablename__ = "driver_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str | None] = mapped_column(String(100))
    payment_method_id: Mapped[str | None] = mapped_column(String(100))
    # The provider no longer knows the saved card (or its customer): not charged until saved again.
    card_unusable_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class DriverToken(Base):
    """A signed-in session of a driver (the token itself is never stored, only its hash)."""

    __tablename__ = "driver_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("driver_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]  # None only for tokens issued before tokens expired
    revoked_at: Mapped[datetime | None]
