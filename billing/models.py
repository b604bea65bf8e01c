"""Billing tables: tariff versions, the fee of each stay, payments, refunds, the plates linked to
driver accounts (the accounts themselves are identity/models.py).

Money is integer minor units in the district's currency. A stay's fee lives in `stay_fee`, one
row per ended stay, removed with the stay when a late event re-derives it away; payments point
at stays through `payment_allocation` without a foreign key, so a payment is never lost even if
the stay it paid for is re-derived (reconciliation lists such payments).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import identity.models  # noqa: F401  (driver_account, which payments and plate links refer to)
from parking.db import Base, BigId
from parking.models import PlateKeyed, new_uuid

# stay_fee.status
DUE = "due"  # ended, priced, not fully paid, still inside the payment window
PAID = "paid"
ARREARS = "arrears"  # not paid within the payment window: on the plate's ledger
FREE = "free"  # nothing to pay
REVIEW = "review"  # re-derived into a fee REVIEW_FACTOR times its priced amount: held, not charged
# payment.status
PENDING = "pending"
SUCCEEDED = "succeeded"
REQUIRES_ACTION = "requires_action"
DECLINED = "declined"
FAILED = "failed"
# payment.channel
CHANNEL_AUTO = "auto"  # off-session charge of a driver's saved card when the stay ends
CHANNEL_PLATE = "plate"  # anyone paying the unpaid stays of a plate
CHANNEL_POS = "pos"  # cash or QR taken by an attendant's POS terminal


class TariffVersion(Base):
    """One version of one tariff (`code`) of a district, in force from `effective_from` until
    the next version of the same code. Roads name their tariff by `Road.tariff_code`."""

    __tablename__ = "tariff_version"
    __table_args__ = (
        UniqueConstraint("district_id", "code", "version"),
        UniqueConstraint("district_id", "code", "effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    effective_from: Mapped[datetime]
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class StayFee(PlateKeyed, Base):
    """The fee of an ended stay, priced by the tariff version in force when it started."""

    __tablename__ = "stay_fee"
    __table_args__ = (Index("ix_stay_fee_plate_key", "district_id", "plate_key", "status"),)

    stay_id: Mapped[int] = mapped_column(BigId, ForeignKey("stay.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(32))
    tariff_version_id: Mapped[int] = mapped_column(ForeignKey("tariff_version.id"))
    vehicle_class: Mapped[str | None] = mapped_column(String(20))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    breakdown: Mapped[dict[str, Any]]
    paid: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10))
    due_by: Mapped[datetime]
    arrears_since: Mapped[datetime | None]
    stay_updated_at: Mapped[datetime]  # the stay as it was priced; a newer stay is re-priced
    priced_at: Mapped[datetime]


class StayFeeCap(Base):
    """The most a stay's fee may be, as a dispute's decision said (billing/fee_caps.py): written
    by the decision through `cap_fee`, read when pricing re-derives the stay."""

    __tablename__ = "stay_fee_cap"
    __table_args__ = (Index("ix_stay_fee_cap_stay_id", "stay_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stay_id: Mapped[int] = mapped_column(BigId)
    decision: Mapped[str] = mapped_column(String(36))  # the id of the dispute decided
    amount: Mapped[int]
    decided_at: Mapped[datetime]


class DriverPlate(Base):
    """A plate linked to one driver account, since the link was proven (`linked_at`): the
    account's stays of the plate are those that began at or after it."""

    __tablename__ = "driver_plate"

    plate: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("driver_account.id"), index=True)
    linked_at: Mapped[datetime]


# plate_claim.status
CLAIM_PENDING = "pending"
CLAIM_PROVEN = "proven"
CLAIM_REFUSED = "refused"
CLAIM_WITHDRAWN = "withdrawn"
# plate_claim.proof
PROOF_PAYMENT = "payment"  # the account paid the plate's stays
PROOF_STAFF = "staff"  # an admin or the bureau approved it


class PlateClaim(Base):
    """A driver's request to link a plate, pending until it is proven (a payment of the
    plate's stays from the account, or a staff decision). A claim for a plate linked to
    another account is decided by staff only; approving it ends the other link."""

    __tablename__ = "plate_claim"
    __table_args__ = (Index("ix_plate_claim_district_status", "district_id", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    account_id: Mapped[int] = mapped_column(ForeignKey("driver_account.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    plate: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(10))
    proof: Mapped[str | None] = mapped_column(String(10))
    evidence: Mapped[str | None] = mapped_column(String(500))  # what the driver offers staff
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))


class Payment(PlateKeyed, Base):
    """Money received (or tried) for one or more stays: a card charge, cash or QR at a POS."""

    __tablename__ = "payment"
    __table_args__ = (Index("ix_payment_district_created", "district_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    plate: Mapped[str | None] = mapped_column(String(16))
    plate_key: Mapped[str | None] = mapped_column(String(32), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("driver_account.id"))
    channel: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(20))  # CDS payment_method
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    refunded: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    payment_method_id: Mapped[str | None] = mapped_column(String(100))  # the card, for card payments
    payment_intent_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    charge_id: Mapped[str | None] = mapped_column(String(100))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    attendant: Mapped[str | None] = mapped_column(String(100))
    event_id: Mapped[str | None] = mapped_column(String(36))  # the POS's CDS event
    transaction_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PaymentAllocation(Base):
    """How much of a payment went to which stay."""

    __tablename__ = "payment_allocation"

    payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("payment.id"), primary_key=True)
    stay_id: Mapped[int] = mapped_column(BigId, primary_key=True, index=True)
    amount: Mapped[int]


class Refund(Base):
    """Money given back on a payment by staff, with a reason; never more than is refundable."""

    __tablename__ = "refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    payment_id: Mapped[int] = mapped_column(BigId, ForeignKey("payment.id"), index=True)
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(300))
    staff: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    refund_id: Mapped[str | None] = mapped_column(String(100), unique=True)  # the provider's
    created_at: Mapped[datetime]


class StripeEvent(Base):
    """A webhook event already handled: a resent event changes nothing."""

    __tablename__ = "stripe_event"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(100))
    created: Mapped[int]
    received_at: Mapped[datetime]


class Notice(Base):
    """Something a driver must be told (a failed automatic payment, arrears), kept for the
    app to fetch."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("driver_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(String(500))
    payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payment.id"))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
