"""The payment provider's own record of our charges, copied into the database.

Reconciliation compares our payments with what the provider says, but never asks the provider
inside a request: a pilot day of ~700 card payments would be ~1,400 provider calls. Instead the
`sync-provider` job fetches the charges created in the last few days, 100 a page, and keeps one
row per charge (status, amount, currency, refunded so far); reconciliation reads those rows.
Each run is logged, so reconciliation can say how fresh the copy is, or that the provider was
unreachable. A refund made at the provider more than the look-back after its charge is missed
by the job; the `charge.refunded` webhook still books it on the payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from billing.gateway import ChargeRecord, GatewayError, PaymentGateway
from parking.db import Base


class ProviderCharge(Base):
    """One charge as the provider last reported it."""

    __tablename__ = "provider_charge"

    charge_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    amount_refunded: Mapped[int]
    created_at: Mapped[datetime]
    synced_at: Mapped[datetime]


class ProviderSync(Base):
    """One run of the copy: when it began (the copy is true as of then) and how it ended."""

    __tablename__ = "provider_sync"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    charges: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))


@dataclass(frozen=True)
class Fetched:
    """What one look at the provider gave: its charges, or the error that stopped it."""

    started_at: datetime
    charges: Sequence[ChargeRecord]
    error: str | None


def fetch_charges(gateway: PaymentGateway, now: datetime, look_back: timedelta) -> Fetched:
    """Ask the provider for the charges created since `now - look_back`; writes nothing, so
    the caller holds no write lock while the provider answers."""
    try:
        return Fetched(now, gateway.list_charges(now - look_back), None)
    except GatewayError as error:
        return Fetched(now, [], str(error)[:500])


def store_charges(db: Session, fetched: Fetched, now: datetime) -> ProviderSync:
    """Keep what was fetched (insert or update by charge id) and log the run."""
    known = {
        c.charge_id: c
        for c in db.scalars(
            select(ProviderCharge).where(ProviderCharge.charge_id.in_([r.id for r in fetched.charges]))
        )
    }
    for record in fetched.charges:
        row = known.get(record.id) or ProviderCharge(charge_id=record.id)
        row.payment_intent_id, row.status = record.payment_intent_id, record.status
        row.amount, row.currency, row.amount_refunded = record.amount, record.currency, record.amount_refunded
        row.created_at, row.synced_at = record.created_at, fetched.started_at
        if record.id not in known:
            db.add(row)
    run = ProviderSync(
        started_at=fetched.started_at, finished_at=now, charges=len(fetched.charges), error=fetched.error
    )
    db.add(run)
    db.flush()
    return run


def sync_provider(db: Session, gateway: PaymentGateway, now: datetime, look_back: timedelta) -> ProviderSync:
    """Fetch and store in one go (tests, the CLI); the job commits between the two."""
    return store_charges(db, fetch_charges(gateway, now, look_back), now)


def latest_syncs(db: Session) -> tuple[ProviderSync | None, ProviderSync | None]:
    """The newest run, and the newest run that succeeded."""
    newest = db.scalar(select(ProviderSync).order_by(ProviderSync.started_at.desc(), ProviderSync.id.desc()))
    good = db.scalar(
        select(ProviderSync)
        .where(ProviderSync.error.is_(None))
        .order_by(ProviderSync.started_at.desc(), ProviderSync.id.desc())
    )
    return newest, good


def charges_of(db: Session, payment_intent_ids: Sequence[str]) -> dict[str, ProviderCharge]:
    """The newest copied charge of each PaymentIntent (a retried intent may have several)."""
    latest: dict[str, ProviderCharge] = {}
    if not payment_intent_ids:
        return latest
    query = (
        select(ProviderCharge)
        .where(ProviderCharge.payment_intent_id.in_(list(payment_intent_ids)))
        .order_by(ProviderCharge.created_at, ProviderCharge.charge_id)
    )
    for charge in db.scalars(query):
        latest[charge.payment_intent_id or ""] = charge
    return latest
