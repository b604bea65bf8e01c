"""Notification tables: the outbox of what each driver must be told, and where to push it.

A notification is written once per (account, kind, subject): the subject is the uuid of the
stay or payment it is about, so however often a job sees an event, the driver hears of it once.
Its id is the app's cursor: notifications are written only by the scheduler (one writer), so
ids are committed in order and `after=<id>` never skips one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from parking.db import Base, BigId

# notification.kind
MAX_STAY_REMINDER = "max_stay_reminder"
STAY_CHARGED = "stay_charged"
PAYMENT_FAILED = "payment_failed"
ARREARS_NOTICE = "arrears"
KINDS = (MAX_STAY_REMINDER, STAY_CHARGED, PAYMENT_FAILED, ARREARS_NOTICE)


class Notification(Base):
    """One thing a driver must be told, kept for the app to poll and pushed to its callback."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", "subject"),
        Index("ix_notification_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("driver_account.id"))
    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(36))  # the stay's or the payment's uuid
    message: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    # Delivery to the account's callback: tried `attempts` times; next try not before
    # `next_attempt_at`; `delivered_at` or `failed_at` once settled.
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))


class NotificationCallback(Base):
    """Where an account's notifications are pushed, and the secret they are signed with.

    The secret is kept as given out because every delivery is signed with it (an HMAC needs
    the key itself); it is shown to the driver once, when the callback is registered."""

    __tablename__ = "notification_callback"

    account_id: Mapped[int] = mapped_column(ForeignKey("driver_account.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
