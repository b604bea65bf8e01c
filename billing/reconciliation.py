"""Daily reconciliation of one district: what was billed, what was taken, and where the
database, the payment provider and the ledger's own arithmetic disagree.

The day is the district's local calendar day. Stays count on the day they ended; payments on
the day they were created. Nothing is written: differences are listed for people to resolve.
The provider's side is its charges as the `sync-provider` job last copied them
(`billing.provider_records`): reconciling calls no provider, so a whole day answers at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.credits import held_overpayments, overpayments_to_list
from billing.models import (
    CHANNEL_POS,
    DECLINED,
    FAILED,
    PENDING,
    SUCCEEDED,
    Payment,
    PaymentAllocation,
    StayFee,
)
from billing.provider_records import ProviderCharge, charges_of, latest_syncs
from parking.models import District, Stay
from parking.stay_rules import ended_within

PENDING_TOO_LONG = timedelta(hours=1)
UNPRICED = "unpriced"  # an ended stay that has no fee yet
# Our payment statuses as the provider words a charge's (`pending` is our `pending`; a
# declined or failed payment is a `failed` charge).
_CHARGE_STATUS = {DECLINED: "failed", FAILED: "failed"}
# Names devices by id. Sensors owns devices and billing may not import it: the shell passes
# `sensors.devices.device_names`.
DeviceNames = Callable[[Session, Iterable[int | None]], dict[int, str]]


@dataclass(frozen=True)
class StayTotals:
    status: str
    count: int
    billed: int
    paid: int
    outstanding: int


@dataclass(frozen=True)
class PaymentTotals:
    channel: str
    method: str
    status: str
    count: int
    amount: int
    refunded: int


@dataclass(frozen=True)
class TerminalTotals:
    """Cash and QR (digital wallet) succeeded at one POS terminal by one attendant."""

    device: str | None
    attendant: str | None
    method: str
    count: int
    amount: int
    refunded: int


@dataclass(frozen=True)
class ProviderMismatch:
    payment: str
    field: str
    database: str | int | None
    provider: str | int | None


@dataclass(frozen=True)
class InternalMismatch:
    """kind: allocations_do_not_add_up, allocation_to_missing_stay, fee_paid_differs,
    payment_pending_too_long. `expected`/`actual` are minor units (minutes for pending)."""

    kind: str
    payment: str | None
    stay: str | None
    expected: int | None
    actual: int | None


@dataclass(frozen=True)
class OverpaymentLine:
    """Money beyond what a stay owed (billing/credits.py): its reason and where it stands."""

    overpayment: str
    payment: str
    stay: str | None
    reason: str
    status: str
    amount: int
    created_at: datetime


@dataclass(frozen=True)
class ProviderCheck:
    """`checked`: payments compared with the copy; `unchecked`: payments newer than it (or no
    copy yet); `synced_at`: when the copy was taken; `error`: why the newest copy failed."""

    checked: int
    unchecked: int
    error: str | None
    synced_at: datetime | None = None


@dataclass(frozen=True)
class Reconciliation:
    district: str
    local_date: date
    time_zone: str
    currency: str
    stays: list[StayTotals]
    payments: list[PaymentTotals]
    terminals: list[TerminalTotals]
    provider: ProviderCheck
    provider_mismatches: list[ProviderMismatch] = field(default_factory=list)
    internal_mismatches: list[InternalMismatch] = field(default_factory=list)
    overpayments: list[OverpaymentLine] = field(default_factory=list)

    @property
    def stays_total(self) -> StayTotals:
        return StayTotals(
            "all",
            sum(s.count for s in self.stays),
            sum(s.billed for s in self.stays),
            sum(s.paid for s in self.stays),
            sum(s.outstanding for s in self.stays),
        )

    @property
    def collected(self) -> int:
        """Money taken that day (succeeded payments), before refunds."""
        return sum(p.amount for p in self.payments if p.status == SUCCEEDED)

    @property
    def refunded(self) -> int:
        return sum(p.refunded for p in self.payments if p.status == SUCCEEDED)


def local_day(district: District, local_date: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day in UTC; a DST day is 23 or 25 hours long."""
    zone = ZoneInfo(district.time_zone)
    start = datetime.combine(local_date, time(), zone)
    end = datetime.combine(local_date + timedelta(days=1), time(), zone)
    return start, end


def reconcile(
    db: Session, district: District, local_date: date, *, now: datetime, device_names: DeviceNames
) -> Reconciliation:
    """The reconciliation of one district's local day at `now`, against the provider's
    charges as last copied into the database; `device_names` names the POS terminals."""
    start, end = local_day(district, local_date)
    stays = db.execute(
        select(Stay.id, StayFee)
        .outerjoin(StayFee, StayFee.stay_id == Stay.id)
        .where(Stay.district_id == district.id, ended_within(start, end))
    ).all()
    payments = list(
        db.scalars(
            select(Payment)
            .where(Payment.district_id == district.id, Payment.created_at >= start, Payment.created_at < end)
            .order_by(Payment.created_at, Payment.id)
        )
    )
    provider_mismatches, provider = check_provider(db, payments)
    fees = [fee for _, fee in stays if fee is not None]
    return Reconciliation(
        district=district.slug,
        local_date=local_date,
        time_zone=district.time_zone,
        currency=district.currency,
        stays=stay_totals([fee for _, fee in stays]),
        payments=payment_totals(payments),
        terminals=terminal_totals(db, payments, device_names),
        provider=provider,
        provider_mismatches=provider_mismatches,
        internal_mismatches=check_ledger(db, payments, fees, now),
        overpayments=[
            OverpaymentLine(row.uuid, payment, stay, row.reason, row.status, row.amount, row.created_at)
            for row, payment, stay in overpayments_to_list(db, district.id, start, end)
        ],
    )


def stay_totals(fees: list[StayFee | None]) -> list[StayTotals]:
    """Ended stays by fee status; a stay without a fee counts as `unpriced`."""
    groups: dict[str, list[StayFee | None]] = defaultdict(list)
    for fee in fees:
        groups[fee.status if fee is not None else UNPRICED].append(fee)
    totals = []
    for status, group in sorted(groups.items()):
        billed = sum(f.amount for f in group if f is not None)
        paid = sum(f.paid for f in group if f is not None)
        outstanding = sum(max(f.amount - f.paid, 0) for f in group if f is not None)
        totals.append(StayTotals(status, len(group), billed, paid, outstanding))
    return totals


def payment_totals(payments: list[Payment]) -> list[PaymentTotals]:
    groups: dict[tuple[str, str, str], list[Payment]] = defaultdict(list)
    for payment in payments:
        groups[(payment.channel, payment.method, payment.status)].append(payment)
    return [
        PaymentTotals(channel, method, status, len(g), sum(p.amount for p in g), sum(p.refunded for p in g))
        for (channel, method, status), g in sorted(groups.items())
    ]


def terminal_totals(db: Session, payments: list[Payment], device_names: DeviceNames) -> list[TerminalTotals]:
    taken = [p for p in payments if p.channel == CHANNEL_POS and p.status == SUCCEEDED]
    names = device_names(db, [p.device_id for p in taken])
    groups: dict[tuple[str, str, str], list[Payment]] = defaultdict(list)
    for payment in taken:
        device = names.get(payment.device_id or 0, "")
        groups[(device, payment.attendant or "", payment.method)].append(payment)
    return [
        TerminalTotals(
            device or None,
            attendant or None,
            method,
            len(g),
            sum(p.amount for p in g),
            sum(p.refunded for p in g),
        )
        for (device, attendant, method), g in sorted(groups.items())
    ]


def check_provider(db: Session, payments: list[Payment]) -> tuple[list[ProviderMismatch], ProviderCheck]:
    """Compare every provider payment of the day (those with a PaymentIntent) with the copy
    of the provider's charges: status, amount, currency and refunded total. A payment newer
    than the copy is left unchecked; a succeeded one the provider has no charge for is a
    mismatch. Two queries, whatever the number of payments."""
    newest, good = latest_syncs(db)
    error = newest.error if newest is not None and newest.error else None
    if good is None:
        error = error or "the provider's charges were never copied: run the sync-provider job"
    candidates = [p for p in payments if p.payment_intent_id]
    cutoff = good.started_at if good is not None else None
    checkable = [p for p in candidates if cutoff is not None and p.created_at < cutoff]
    charges = charges_of(db, [p.payment_intent_id or "" for p in checkable])
    mismatches: list[ProviderMismatch] = []
    for payment in checkable:
        mismatches.extend(compare_with_provider(payment, charges.get(payment.payment_intent_id or "")))
    check = ProviderCheck(len(checkable), len(candidates) - len(checkable), error, cutoff)
    return mismatches, check


def compare_with_provider(payment: Payment, charge: ProviderCharge | None) -> list[ProviderMismatch]:
    if charge is None:  # no charge: only a payment that never took money may lack one
        if payment.status == SUCCEEDED:
            return [ProviderMismatch(payment.uuid, "payment_intent", payment.payment_intent_id, None)]
        return []
    pairs: list[tuple[str, str | int, str | int]] = [
        ("status", _CHARGE_STATUS.get(payment.status, payment.status), charge.status),
        ("amount", payment.amount, charge.amount),
        ("currency", payment.currency.lower(), charge.currency.lower()),
        ("refunded", payment.refunded, charge.amount_refunded),
    ]
    return [
        ProviderMismatch(payment.uuid, name, ours, theirs) for name, ours, theirs in pairs if ours != theirs
    ]


def check_ledger(
    db: Session, payments: list[Payment], fees: list[StayFee], now: datetime
) -> list[InternalMismatch]:
    """The database against itself: allocations vs amounts, allocations to stays that are
    gone, fees' `paid` vs their succeeded allocations, and payments pending for over an hour.
    Fees checked: those of the day's ended stays and those the day's payments went to."""
    found: list[InternalMismatch] = []
    by_id = {p.id: p for p in payments}
    allocations = (
        list(db.scalars(select(PaymentAllocation).where(PaymentAllocation.payment_id.in_(list(by_id)))))
        if by_id
        else []
    )
    allocated_ids = {a.stay_id for a in allocations}
    existing = set(db.scalars(select(Stay.id).where(Stay.id.in_(allocated_ids)))) if allocated_ids else set()
    sums: dict[int, int] = defaultdict(int, held_overpayments(db, list(by_id)))  # they add up too
    for allocation in allocations:
        sums[allocation.payment_id] += allocation.amount
        if allocation.stay_id not in existing:
            payment = by_id[allocation.payment_id]
            found.append(
                InternalMismatch(
                    "allocation_to_missing_stay",
                    payment.uuid,
                    str(allocation.stay_id),
                    None,
                    allocation.amount,
                )
            )
    for payment in payments:
        if payment.status == SUCCEEDED and sums[payment.id] != payment.amount:
            found.append(
                InternalMismatch(
                    "allocations_do_not_add_up", payment.uuid, None, payment.amount, sums[payment.id]
                )
            )
        age = now - payment.created_at
        if payment.status == PENDING and age > PENDING_TOO_LONG:
            found.append(
                InternalMismatch(
                    "payment_pending_too_long", payment.uuid, None, None, int(age.total_seconds() // 60)
                )
            )
    found.extend(_fees_paid_differs(db, fees, allocated_ids - {f.stay_id for f in fees}))
    return found


def _fees_paid_differs(db: Session, fees: list[StayFee], more_stay_ids: set[int]) -> list[InternalMismatch]:
    if more_stay_ids:
        fees = fees + list(db.scalars(select(StayFee).where(StayFee.stay_id.in_(more_stay_ids))))
    if not fees:
        return []
    ids = [f.stay_id for f in fees]
    paid: dict[int, int] = {
        stay_id: int(total)
        for stay_id, total in db.execute(
            select(PaymentAllocation.stay_id, func.sum(PaymentAllocation.amount))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.stay_id.in_(ids), Payment.status == SUCCEEDED)
            .group_by(PaymentAllocation.stay_id)
        )
    }
    uuids = {
        stay_id: stay_uuid
        for stay_id, stay_uuid in db.execute(select(Stay.id, Stay.uuid).where(Stay.id.in_(ids)))
    }
    return [
        InternalMismatch("fee_paid_differs", None, uuids.get(f.stay_id), paid.get(f.stay_id, 0), f.paid)
        for f in sorted(fees, key=lambda f: f.stay_id)
        if f.paid != paid.get(f.stay_id, 0)
    ]
