"""Driver notifications: one outbox per account that the app polls and that is pushed to the
account's callback URL, signed (billing/notification_push.py).

Jobs write notifications set-based and idempotently (one per account, kind and subject):
`queue_reminders` before an open stay reaches its maximum stay, `collect_events` for stays
charged automatically, automatic charges that failed (the `payment_failed` notices written
when the charge is recorded) and stays that became arrears.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, exists, select
from sqlalchemy.orm import Session

from billing.models import (
    ARREARS,
    CHANNEL_AUTO,
    SUCCEEDED,
    DriverPlate,
    Notice,
    Payment,
    PaymentAllocation,
    StayFee,
)
from billing.notification_models import (
    ARREARS_NOTICE,
    MAX_STAY_REMINDER,
    PAYMENT_FAILED,
    STAY_CHARGED,
    Notification,
)
from billing.plate_links import stay_is_the_accounts
from billing.tariffs import TariffBook
from parking.db import insert_rows
from parking.models import Bay, District, Road, Stay

_TABLE = cast(Table, Notification.__table__)


# --- writing notifications -------------------------------------------------------------------


def _write(db: Session, rows: list[dict[str, Any]], now: datetime) -> int:
    """Insert the notifications not written yet (unique on account, kind and subject)."""
    rows = list({(r["account_id"], r["kind"], r["subject"]): r for r in rows}.values())
    for row in rows:
        row.update(created_at=now, attempts=0, next_attempt_at=None)
        row.update(delivered_at=None, failed_at=None, last_error=None)
    inserted = insert_rows(
        db, _TABLE, rows, returning=("id",), skip_conflicts_on=("account_id", "kind", "subject")
    )
    return len(inserted)


def _not_told(kind: str, account: Any, subject: Any) -> Any:
    return ~exists().where(
        Notification.account_id == account, Notification.kind == kind, Notification.subject == subject
    )


def queue_reminders(db: Session, now: datetime, lead: timedelta) -> int:
    """A `max_stay_reminder` for every open stay of a linked plate whose maximum stay (by the
    tariff in force when it started) runs out within `lead` from now; once per stay."""
    rows = db.execute(
        select(Stay.uuid, Stay.plate, Stay.started_at, Stay.district_id, Road.tariff_code)
        .add_columns(Bay.name.label("bay"), Road.name.label("road"), DriverPlate.account_id)
        .select_from(Bay)  # open stays through their bays: bounded by the number of bays
        .join(Stay, Stay.id == Bay.open_stay_id)
        .join(Road, Road.id == Stay.road_id)
        .join(DriverPlate, stay_is_the_accounts())
        .where(Stay.ended_at.is_(None), _not_told(MAX_STAY_REMINDER, DriverPlate.account_id, Stay.uuid))
    ).all()
    books: dict[int, TariffBook] = {}
    due: list[dict[str, Any]] = []
    for row in rows:
        book = books.get(row.district_id)
        if book is None:
            book = books[row.district_id] = TariffBook.load(db, db.get_one(District, row.district_id))
        found = book.in_force(row.tariff_code, row.started_at)
        if found is None or found[1].max_stay_minutes is None:
            continue
        ends_at = row.started_at + timedelta(minutes=found[1].max_stay_minutes)
        if not ends_at - lead <= now < ends_at:
            continue
        local = ends_at.astimezone(ZoneInfo(book.district.time_zone)).strftime("%H:%M")
        message = f"Your stay in bay {row.bay} on {row.road} reaches its maximum stay at {local}."
        data = {"stay": row.uuid, "plate": row.plate, "bay": row.bay, "road": row.road}
        data.update(max_stay_ends_at=iso_z(ends_at), seconds_left=int((ends_at - now).total_seconds()))
        data["time_zone"] = book.district.time_zone  # so the app can word the time in local time
        due.append(_row(row.account_id, MAX_STAY_REMINDER, row.uuid, message, data))
    return _write(db, due, now)


def collect_events(db: Session, now: datetime, lookback: timedelta) -> int:
    """Notifications for what billing recorded in the last `lookback` that drivers were not
    told yet: stays charged automatically, failed automatic charges, stays in arrears."""
    since = now - lookback
    rows = _charged(db, since) + _failed(db, since) + _arrears(db, since)
    return _write(db, rows, now)


def _charged(db: Session, since: datetime) -> list[dict[str, Any]]:
    found = db.execute(
        select(Payment.account_id, Payment.uuid, Payment.plate, Payment.currency, Stay.uuid.label("stay"))
        .add_columns(PaymentAllocation.amount, Bay.name.label("bay"), Road.name.label("road"))
        .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .join(Stay, Stay.id == PaymentAllocation.stay_id)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .where(
            Payment.channel == CHANNEL_AUTO,
            Payment.status == SUCCEEDED,
            Payment.account_id.is_not(None),
            Payment.updated_at >= since,
            _not_told(STAY_CHARGED, Payment.account_id, Stay.uuid),
        )
    ).all()
    return [
        _row(
            r.account_id,
            STAY_CHARGED,
            r.stay,
            f"Your stay in bay {r.bay} on {r.road} was paid with your saved card: {r.amount} {r.currency}.",
            {"stay": r.stay, "plate": r.plate, "bay": r.bay, "road": r.road, "payment": r.uuid}
            | {"amount": r.amount, "currency": r.currency},
        )
        for r in found
    ]


def _failed(db: Session, since: datetime) -> list[dict[str, Any]]:
    """The `payment_failed` notices written when a refused automatic charge was recorded."""
    found = db.execute(
        select(Notice.account_id, Notice.message, Payment.uuid, Payment.plate, Payment.amount)
        .add_columns(Payment.currency, Payment.status, Payment.failure_code)
        .join(Payment, Payment.id == Notice.payment_id)
        .where(
            Notice.kind == PAYMENT_FAILED,
            Notice.created_at >= since,
            _not_told(PAYMENT_FAILED, Notice.account_id, Payment.uuid),
        )
    ).all()
    return [
        _row(
            r.account_id,
            PAYMENT_FAILED,
            r.uuid,
            r.message,
            {"payment": r.uuid, "plate": r.plate, "amount": r.amount, "currency": r.currency}
            | {"status": r.status, "failure_code": r.failure_code},
        )
        for r in found
    ]


def _arrears(db: Session, since: datetime) -> list[dict[str, Any]]:
    found = db.execute(
        select(DriverPlate.account_id, StayFee.plate, StayFee.amount, StayFee.paid, StayFee.currency)
        .add_columns(Stay.uuid.label("stay"), Bay.name.label("bay"), Road.name.label("road"))
        .join(Stay, Stay.id == StayFee.stay_id)
        .join(DriverPlate, stay_is_the_accounts())  # not a stay from before the link
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .where(
            StayFee.status == ARREARS,
            StayFee.arrears_since >= since,
            _not_told(ARREARS_NOTICE, DriverPlate.account_id, Stay.uuid),
        )
    ).all()
    return [
        _row(
            r.account_id,
            ARREARS_NOTICE,
            r.stay,
            f"Your stay in bay {r.bay} on {r.road} is unpaid and now in arrears: "
            f"{r.amount - r.paid} {r.currency}. Pay it in the app or by plate.",
            {"stay": r.stay, "plate": r.plate, "bay": r.bay, "road": r.road}
            | {"owed": r.amount - r.paid, "currency": r.currency},
        )
        for r in found
    ]


def _row(account_id: int, kind: str, subject: str, message: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"account_id": account_id, "kind": kind, "subject": subject, "message": message, "data": data}


def iso_z(at: datetime) -> str:
    """An instant as the notifications write it: ISO 8601 in UTC, with a Z."""
    return at.isoformat().replace("+00:00", "Z")


# --- reading -----------------------------------------------------------------------------------


def notifications_after(db: Session, account_id: int, after: int, limit: int) -> list[Notification]:
    """The account's notifications with an id above the cursor `after`, oldest first."""
    return list(
        db.scalars(
            select(Notification)
            .where(Notification.account_id == account_id, Notification.id > after)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def latest_notices(db: Session, account_id: int, limit: int = 100) -> list[Notice]:
    """The account's latest notices, newest first."""
    return list(
        db.scalars(
            select(Notice)
            .where(Notice.account_id == account_id)
            .order_by(Notice.created_at.desc())
            .limit(limit)
        )
    )
