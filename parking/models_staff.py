"""Staff accounts (a person who signs in with a password) and the record of failed sign-ins
that rate-limits guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parking.db import Base, BigId


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
