"""Overpayments: money that came in beyond what a stay owes, kept apart from the stays.

A stay's `paid` never exceeds its fee. Whatever a payment brings beyond what its stays still
owe becomes an `overpayment` row instead of being added to a stay:

- `allocation_capped`: a card payment that succeeded after its stays were paid another way
  (two payers at once, a late `payment_intent.succeeded` for a payment that needed 3-D Secure);
- `repriced`: a paid stay that a late event shortened or re-priced lower;
- `stay_removed`: a paid stay that a late event removed entirely (folded into another stay);
- `pos_excess`: cash or QR a POS reported beyond what the stay owed, or for a free stay;
- `dispute`: what a dispute decision gave back of a paid fee it lowered (enforcement/disputes.py),
  refunded by the decision itself (`refund_given`).

Card money beyond the fee is refunded through the provider by the `settle-payments` job
(`refund_due` -> `refunding` -> `refunded`, or `refund_failed`). Cash or QR money held beyond
a re-priced fee is `to_return` (the attendant or the bureau gives it back). A POS excess was
never booked (`not_taken`): the payment is booked at what was owed, and the excess is listed
for the bureau to look into. Every overpayment is listed in the daily reconciliation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from billing.models import FAILED, FREE, PAID, PENDING, SUCCEEDED, Payment, PaymentAllocation, Refund, StayFee
from parking.db import Base, BigId
from parking.models import Stay, new_uuid

# overpayment.reason
ALLOCATION_CAPPED = "allocation_capped"
REPRICED = "repriced"
STAY_REMOVED = "stay_removed"
POS_EXCESS = "pos_excess"
DISPUTE = "dispute"
# overpayment.status
REFUND_DUE = "refund_due"  # card money held: the settle-payments job refunds it
REFUNDING = "refunding"  # its refund is with the provider
REFUNDED = "refunded"
REFUND_FAILED = "refund_failed"  # the provider failed the refund: people must act
TO_RETURN = "to_return"  # cash or QR held beyond the fee: to be given back at the curb
NOT_TAKEN = "not_taken"  # reported by a POS beyond what was owed: never booked
# Statuses whose amount is inside `payment.amount` (money the payment really holds).
HELD = (REFUND_DUE, REFUNDING, REFUNDED, REFUND_FAILED, TO_RETURN)


class Overpayment(Base):
    """Money of one payment beyond what one stay (or no stay) owed."""

    __tablename__ = "overpayment"
    __table_args__ = (Index("ix_overpayment_district_created", "district_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("payment.id"), index=True)
    stay_id: Mapped[int | None] = mapped_column(BigId)  # none: no stay was in the bay
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]


def record_overpayment(
    db: Session, payment: Payment, stay_id: int | None, amount: int, reason: str, now: datetime
) -> Overpayment:
    """Keep `amount` of `payment` apart from its stays: refunded if the provider holds it."""
    if reason == POS_EXCESS:
        status = NOT_TAKEN
    else:
        status = REFUND_DUE if payment.payment_intent_id is not None else TO_RETURN
    row = Overpayment(
        district_id=payment.district_id,
        payment_id=payment.id,
        stay_id=stay_id,
        amount=amount,
        reason=reason,
        status=status,
        created_at=now,
    )
    db.add(row)
    db.flush()
    return row


def refund_given(db: Session, payment: Payment, stay_id: int, refund: Refund, now: datetime) -> Overpayment:
    """`refund` (already planned) gives back part of what `payment` paid for a stay whose fee
    was lowered: that part no longer pays the stay (so re-pricing never finds it again), and
    is kept as an overpayment following the refund."""
    row = record_overpayment(db, payment, stay_id, refund.amount, DISPUTE, now)
    row.refund_id = refund.id
    settle_overpayment_refund(db, refund, now)
    return row


def take_back(db: Session, allocation: PaymentAllocation, part: int) -> None:
    """Lower an allocation to `part`; an allocation of nothing goes."""
    if part <= 0:
        db.delete(allocation)
    else:
        allocation.amount = part
    db.flush()


def trim_overpaid_fees(db: Session, stay_ids: Sequence[int], now: datetime) -> int:
    """Fees of these stays that were paid beyond their (new) amount, after a late event
    re-priced them: the surplus comes off their newest succeeded payments and becomes
    `repriced` overpayments. Returns how many fees were trimmed."""
    if not stay_ids:
        return 0
    fees = db.scalars(
        select(StayFee)
        .where(StayFee.stay_id.in_(list(stay_ids)), StayFee.paid > StayFee.amount)
        .execution_options(populate_existing=True)  # pricing wrote them with Core
    )
    trimmed = 0
    for fee in fees:
        surplus = fee.paid - fee.amount
        rows = db.execute(
            select(PaymentAllocation, Payment)
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.stay_id == fee.stay_id, Payment.status == SUCCEEDED)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
        ).all()
        for allocation, payment in rows:
            if surplus <= 0:
                break
            part = min(allocation.amount, surplus)
            record_overpayment(db, payment, fee.stay_id, part, REPRICED, now)
            take_back(db, allocation, allocation.amount - part)
            surplus -= part
        fee.paid = fee.amount
        fee.status = FREE if fee.amount == 0 else PAID
        fee.arrears_since = None
        trimmed += 1
    db.flush()
    return trimmed


def release_removed_stays(db: Session, district_id: int, now: datetime) -> int:
    """Allocations of succeeded payments to stays that a late event removed entirely (their
    start now continues another stay, so the stay row and its fee are gone): each becomes a
    `stay_removed` overpayment, refunded like a shortened stay's surplus, and the allocation
    goes. The stay that absorbed the removed one is priced afresh and owes in full, so the
    money is not left on a stay it was never meant for. Returns how many were released."""
    gone = ~select(Stay.id).where(Stay.id == PaymentAllocation.stay_id).exists()
    rows = db.execute(
        select(PaymentAllocation, Payment)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.district_id == district_id, Payment.status == SUCCEEDED, gone)
        .order_by(Payment.id, PaymentAllocation.stay_id)
    ).all()
    for allocation, payment in rows:
        # No stay id: the removed stay's is meaningless now (and SQLite may give it to a new stay).
        record_overpayment(db, payment, None, allocation.amount, STAY_REMOVED, now)
        take_back(db, allocation, 0)
    return len(rows)


def held_overpayments(db: Session, payment_ids: Sequence[int]) -> dict[int, int]:
    """Per payment, the overpayments its amount holds (they add up with its allocations)."""
    if not payment_ids:
        return {}
    held: dict[int, int] = {}
    for payment_id, amount in db.execute(
        select(Overpayment.payment_id, Overpayment.amount).where(
            Overpayment.payment_id.in_(list(payment_ids)), Overpayment.status.in_(HELD)
        )
    ):
        held[payment_id] = held.get(payment_id, 0) + int(amount)
    return held


def settle_overpayment_refund(db: Session, refund: Refund, now: datetime) -> None:
    """Follow the refund of an overpayment: refunding while pending, then refunded or failed."""
    row = db.scalar(select(Overpayment).where(Overpayment.refund_id == refund.id))
    if row is None:
        return
    row.status = {PENDING: REFUNDING, SUCCEEDED: REFUNDED, FAILED: REFUND_FAILED}[refund.status]
    row.settled_at = now if row.status in (REFUNDED, REFUND_FAILED) else None
    db.flush()


def overpayments_to_list(
    db: Session, district_id: int, start: datetime, end: datetime
) -> list[tuple[Overpayment, str, str | None]]:
    """(overpayment, payment uuid, stay uuid) of the overpayments recorded in [start, end),
    and of every older one still needing people (`to_return`, `not_taken` are listed on the
    day they arose; `refund_due`, `refunding` and `refund_failed` every day until settled)."""
    unsettled = (REFUND_DUE, REFUNDING, REFUND_FAILED)
    rows = db.execute(
        select(Overpayment, Payment.uuid, Stay.uuid)
        .join(Payment, Payment.id == Overpayment.payment_id)
        .outerjoin(Stay, Stay.id == Overpayment.stay_id)
        .where(
            Overpayment.district_id == district_id,
            Overpayment.created_at < end,
            (Overpayment.created_at >= start) | Overpayment.status.in_(unsettled),
        )
        .order_by(Overpayment.created_at, Overpayment.id)
    ).all()
    return [(row, payment, stay) for row, payment, stay in rows]
