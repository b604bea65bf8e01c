"""Payments: pay by plate, automatic charges of saved cards, POS cash and QR, refunds, arrears.

A card payment is two units of work. First the payment row (status `pending`) and its planned
allocations to stays are written and committed; then the provider is called with an
idempotency key derived from what is paid (a stay's automatic charge: the stay and its fee),
and its answer is recorded. A crash between the two leaves a pending payment that the next run
sends again with the same key, so the provider never charges twice. Allocations count towards
a stay only once their payment has succeeded. A later payment for a plate settles its oldest
arrears first, then its oldest due stays.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from billing.credits import (
    ALLOCATION_CAPPED,
    POS_EXCESS,
    record_overpayment,
    settle_overpayment_refund,
    take_back,
)
from billing.gateway import ChargeResult, PaymentGateway
from billing.models import (
    ARREARS,
    CHANNEL_AUTO,
    CHANNEL_PLATE,
    CHANNEL_POS,
    DECLINED,
    DUE,
    FAILED,
    PAID,
    PENDING,
    REQUIRES_ACTION,
    SUCCEEDED,
    DriverPlate,
    Notice,
    Payment,
    PaymentAllocation,
    Refund,
    StayFee,
)
from billing.pending_payments import in_flight, stay_in_flight
from billing.plate_links import stay_is_the_accounts
from billing.tariffs import TariffBook, status_of
from identity.models import DriverAccount
from parking.errors import N_, ConflictError, DomainError, InvalidInputError, NotFoundError
from parking.models import Bay, District, Road, Stay
from parking.plate_rules import vehicle_class_for_plate
from parking.plates import plate_key
from parking.stay_rules import touching

CHANNEL_ACCOUNT = "account"  # a signed-in driver paying what their plates owe, in the app
# An attendant takes the fee a few minutes before the driver leaves: cash or QR for a stay that
# has not ended is taken up to its fee if it ended this long after the payment.
POS_PREPAY = timedelta(minutes=15)


class AlreadyPaidError(ConflictError):
    code = "already_paid"


class NothingToPayError(ConflictError):
    code = "nothing_to_pay"


class AmountMismatchError(ConflictError):
    code = "amount_mismatch"


class PaymentInProgressError(ConflictError):
    code = "payment_in_progress"


class KeyReusedError(ConflictError):
    """An Idempotency-Key sent again with another plate, amount or card."""

    code = "idempotency_key_reused"


class RefundExceedsPaymentError(ConflictError):
    code = "refund_exceeds_payment"


class NotRefundableError(ConflictError):
    code = "not_refundable"


class PaymentDeclinedError(DomainError):
    """The card was refused: the stays stay payable."""

    code = "payment_declined"
    status = 402


class UnknownPaymentError(NotFoundError):
    code = "unknown_payment"


class NoSavedCardError(ConflictError):
    code = "no_saved_card"


@dataclass(frozen=True)
class OwedStay:
    stay_id: int
    stay_uuid: str
    bay: str
    road: str
    started_at: datetime
    ended_at: datetime
    amount: int
    paid: int
    status: str
    due_by: datetime

    @property
    def owed(self) -> int:
        return self.amount - self.paid


@dataclass(frozen=True)
class PlateLedger:
    plate: str
    currency: str
    stays: list[OwedStay]  # oldest arrears first, then oldest due

    @property
    def outstanding(self) -> int:
        return sum(s.owed for s in self.stays)

    @property
    def arrears(self) -> int:
        return sum(s.owed for s in self.stays if s.status == ARREARS)


def plate_ledger(db: Session, district: District, plate: str) -> PlateLedger:
    """What a plate owes in a district: its unpaid priced stays, in the order a payment
    settles them."""
    rows = db.execute(
        select(
            StayFee.stay_id,
            Stay.uuid,
            Bay.name,
            Road.name,
            Stay.started_at,
            Stay.ended_at,
            StayFee.amount,
            StayFee.paid,
            StayFee.status,
            StayFee.due_by,
        )
        .join(Stay, Stay.id == StayFee.stay_id)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .where(
            StayFee.district_id == district.id,
            StayFee.plate_key == plate_key(plate),
            StayFee.status.in_((DUE, ARREARS)),
        )
    ).all()
    stays = [
        OwedStay(stay_id, stay_uuid, bay, road, start, end or start, amount, paid, status, due_by)
        for stay_id, stay_uuid, bay, road, start, end, amount, paid, status, due_by in rows
    ]
    stays.sort(key=lambda s: (s.status != ARREARS, s.ended_at, s.stay_id))
    return PlateLedger(plate, district.currency, stays)


def _check_amount(amount: Any, field: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInputError(f"{field} is a whole, positive number of minor units", [field])
    return amount


def _pending_for(db: Session, stay_ids: Sequence[int], now: datetime) -> bool:
    """A payment in flight holds these stays (billing/pending_payments.py)."""
    return (
        db.scalar(
            select(func.count())
            .select_from(PaymentAllocation)
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.stay_id.in_(stay_ids), in_flight(now))
        )
        or 0
    ) > 0


def same_request(existing: Payment, **asked: Any) -> Payment:
    """A repeated idempotency key answers the first payment only if it asks for the same."""
    differs = sorted(name for name, value in asked.items() if getattr(existing, name) != value)
    if differs:
        raise KeyReusedError("this Idempotency-Key was used for another payment: send a new key", differs)
    return existing


def plan_plate_payment(
    db: Session,
    district: District,
    plate: str,
    amount: Any,
    payment_method: str,
    key: str,
    now: datetime,
    stay_uuids: Sequence[str] | None = None,
    currency: str | None = None,
) -> tuple[Payment, bool]:
    """Write a pending card payment of `amount` for a plate's unpaid stays (all of them, or
    the named ones), allocated oldest arrears first. Returns (payment, created); a repeated
    `key` returns the first payment and plans nothing new, or is refused if it asks for
    another plate, amount or card."""
    amount = _check_amount(amount)
    existing = db.scalar(select(Payment).where(Payment.idempotency_key == key))
    if existing is not None:
        return same_request(
            existing, plate=plate, amount=amount, payment_method_id=payment_method, channel=CHANNEL_PLATE
        ), False
    if currency is not None and currency.upper() != district.currency:
        raise InvalidInputError(f"this district takes {district.currency}", ["currency"])
    ledger = plate_ledger(db, district, plate)
    owed = ledger.stays
    if stay_uuids is not None:
        wanted = set(stay_uuids)
        owed = [s for s in owed if s.stay_uuid in wanted]
        missing = wanted - {s.stay_uuid for s in owed}
        if missing:
            paid = set(
                db.scalars(
                    select(Stay.uuid)
                    .join(StayFee, StayFee.stay_id == Stay.id)
                    .where(
                        Stay.uuid.in_(missing),
                        StayFee.plate_key == plate_key(plate),
                        StayFee.status.not_in((DUE, ARREARS)),
                    )
                )
            )
            if paid:
                raise AlreadyPaidError(
                    "already paid, or nothing to pay: " + ", ".join(sorted(paid)), ["stays"]
                )
            raise NotFoundError("no unpaid stay of this plate: " + ", ".join(sorted(missing)), ["stays"])
    total = sum(s.owed for s in owed)
    if total == 0:
        raise NothingToPayError(f"{plate} owes nothing here")
    if amount > total:
        raise AmountMismatchError(f"{amount} is more than the {total} owed", ["amount"])
    if _pending_for(db, [s.stay_id for s in owed], now):
        raise PaymentInProgressError("a payment for these stays is already in progress; try again shortly")
    payment = _new_payment(
        district,
        CHANNEL_PLATE,
        "credit_card",
        amount,
        key,
        now,
        plate=plate,
        payment_method_id=payment_method,
    )
    db.add(payment)
    db.flush()
    _allocate(db, payment, owed, amount)
    return payment, True


def _new_payment(
    district: District,
    channel: str,
    method: str,
    amount: int,
    key: str,
    now: datetime,
    *,
    plate: str | None = None,
    account_id: int | None = None,
    payment_method_id: str | None = None,
    status: str = PENDING,
) -> Payment:
    return Payment(
        district_id=district.id,
        plate=plate,
        account_id=account_id,
        channel=channel,
        method=method,
        amount=amount,
        currency=district.currency,
        status=status,
        refunded=0,
        idempotency_key=key,
        payment_method_id=payment_method_id,
        created_at=now,
        updated_at=now,
    )


def _allocate(db: Session, payment: Payment, owed: Sequence[OwedStay], amount: int) -> None:
    left = amount
    for stay in owed:
        if left <= 0:
            break
        part = min(stay.owed, left)
        db.add(PaymentAllocation(payment_id=payment.id, stay_id=stay.stay_id, amount=part))
        left -= part
    db.flush()


def record_charge(db: Session, payment: Payment, result: ChargeResult, now: datetime) -> Payment:
    """Record the provider's answer. Never moves a succeeded payment back; a success applies
    the payment's allocations to its stays."""
    if payment.status == SUCCEEDED:
        return payment
    payment.payment_intent_id = result.payment_intent_id or payment.payment_intent_id
    payment.charge_id = result.charge_id or payment.charge_id
    payment.updated_at = now
    if result.status == "succeeded":
        payment.status = SUCCEEDED
        payment.failure_code = payment.failure_message = None
        _apply(db, payment)
    elif result.status == "requires_action":
        payment.status = REQUIRES_ACTION
        payment.failure_code, payment.failure_message = "authentication_required", result.message
    elif result.status == "declined":
        payment.status = DECLINED
        payment.failure_code, payment.failure_message = result.decline_code or "card_declined", result.message
    elif result.status == "failed":
        payment.status = FAILED
        payment.failure_code, payment.failure_message = "failed", result.message
    else:  # processing: the provider will tell us by webhook
        payment.status = PENDING
    if payment.status in (REQUIRES_ACTION, DECLINED, FAILED) and payment.channel == CHANNEL_AUTO:
        db.add(
            Notice(
                account_id=payment.account_id,
                kind="payment_failed",
                message=_failure_notice(payment),
                payment_id=payment.id,
                created_at=now,
            )
        )
    db.flush()
    return payment


def _failure_notice(payment: Payment) -> str:
    what = "needs you to confirm it with your bank" if payment.status == REQUIRES_ACTION else "was declined"
    return (
        f"The automatic payment of {payment.amount} {payment.currency} for plate {payment.plate} {what}. "
        "The stay is still payable: pay it in the app or by plate."
    )


def _apply(db: Session, payment: Payment) -> None:
    """Add a succeeded payment's allocations to the stays' paid amounts, each at most what
    the stay still owes: the rest of an allocation becomes an overpayment (billing/credits.py)."""
    allocations = db.scalars(
        select(PaymentAllocation)
        .where(PaymentAllocation.payment_id == payment.id)
        .order_by(PaymentAllocation.stay_id)
    )
    for allocation in list(allocations):
        fee = db.get(StayFee, allocation.stay_id)
        if fee is None:
            continue  # not priced yet (a POS payment before the stay ends): pricing counts it
        part = min(allocation.amount, max(fee.amount - fee.paid, 0))
        if part < allocation.amount:
            surplus = allocation.amount - part
            record_overpayment(
                db, payment, allocation.stay_id, surplus, ALLOCATION_CAPPED, payment.updated_at
            )
            take_back(db, allocation, part)
        fee.paid += part
        fee.status = status_of(fee.amount, fee.paid)
        if fee.status == PAID:
            fee.arrears_since = None
    db.flush()


def pay(db: Session, gateway: PaymentGateway, payment: Payment, now: datetime) -> Payment:
    """Send a pending payment to the provider (again, after a crash: same key) and record
    the answer. The caller commits before and after."""
    if payment.status != PENDING:
        return payment
    return record_charge(db, payment, send_payment(db, gateway, payment), now)


def require_succeeded(payment: Payment) -> None:
    """A card that was not charged is the driver's to know about; the stays stay payable."""
    if payment.status != SUCCEEDED:
        raise PaymentDeclinedError(
            f"the card was not charged ({payment.failure_code}): the stays are still payable",
            [payment.failure_message or payment.status],
        )


def send_payment(db: Session, gateway: PaymentGateway, payment: Payment) -> ChargeResult:
    """Ask the provider to take a pending payment; writes nothing, so the caller need not
    hold a write lock while the provider answers (`record_charge` records the answer)."""
    return charge_request(db, payment)(gateway)


def charge_request(db: Session, payment: Payment) -> Callable[[PaymentGateway], ChargeResult]:
    """The provider call that takes a pending payment, read now and made later: it needs no
    database, so the caller can end its transaction before the provider answers."""
    description = f"Parking {payment.plate or ''}".strip()
    metadata = {"payment": payment.uuid, "plate": payment.plate or ""}
    amount, currency, key = payment.amount, payment.currency, payment.idempotency_key
    if payment.channel == CHANNEL_AUTO or _with_saved_card(db, payment):
        account = db.get(DriverAccount, payment.account_id)
        assert account is not None and account.customer_id is not None
        customer = account.customer_id
        method = payment.payment_method_id or account.payment_method_id or ""
        return lambda gateway: gateway.charge_off_session(
            customer, method, amount, currency, key, description, metadata
        )
    card = payment.payment_method_id or ""
    return lambda gateway: gateway.pay_now(card, amount, currency, key, description, metadata)


def _with_saved_card(db: Session, payment: Payment) -> bool:
    """A driver's own payment with the card saved on their account (charged as its customer)."""
    account = db.get(DriverAccount, payment.account_id) if payment.account_id is not None else None
    return (
        account is not None
        and account.customer_id is not None
        and payment.payment_method_id == account.payment_method_id
    )


def owed_by_plates(db: Session, district: District, plates: Sequence[str]) -> list[tuple[str, OwedStay]]:
    """What several plates owe in a district, as (plate, stay), in the order one payment
    settles them: oldest arrears first, then the oldest due stays, whichever the plate."""
    owed = [(plate, stay) for plate in plates for stay in plate_ledger(db, district, plate).stays]
    owed.sort(key=lambda p: (p[1].status != ARREARS, p[1].ended_at, p[1].stay_id))
    return owed


def plan_account_payment(
    db: Session,
    district: District,
    account: DriverAccount,
    plates: Sequence[str],
    amount: Any,
    payment_method: str | None,
    key: str,
    now: datetime,
) -> tuple[Payment, bool]:
    """Write a pending card payment of `amount` towards what a driver's plates owe in a
    district, oldest arrears first, with the saved card unless another `payment_method` is
    given. Returns (payment, created); a repeated `key` returns the first payment (or is
    refused if it asks for another amount or card)."""
    amount = _check_amount(amount)
    existing = db.scalar(select(Payment).where(Payment.idempotency_key == key))
    if existing is not None:
        card = payment_method or account.payment_method_id
        return same_request(existing, amount=amount, payment_method_id=card, account_id=account.id), False
    owed = owed_by_plates(db, district, plates)
    total = sum(s.owed for _, s in owed)
    if total == 0:
        raise NothingToPayError("your plates owe nothing here")
    if amount > total:
        raise AmountMismatchError(f"{amount} is more than the {total} owed", ["amount"])
    card = payment_method or account.payment_method_id
    if card is None:
        raise NoSavedCardError("no card is saved: save one, or give a payment_method", ["payment_method"])
    if _pending_for(db, [s.stay_id for _, s in owed], now):
        raise PaymentInProgressError("a payment for these stays is already in progress; try again shortly")
    paying = {plate for plate, _ in owed}
    payment = _new_payment(
        district,
        CHANNEL_ACCOUNT,
        "credit_card",
        amount,
        key,
        now,
        plate=paying.pop() if len(paying) == 1 else None,
        account_id=account.id,
        payment_method_id=card,
    )
    db.add(payment)
    db.flush()
    _allocate(db, payment, [s for _, s in owed], amount)
    return payment, True


def plan_auto_charges(db: Session, district: District, now: datetime) -> list[int]:
    """Write a pending automatic charge for every due stay whose plate belongs to a driver
    with a usable saved card, once per stay and fee (the key), unless another payment for the
    stay is in flight; return the ids of every pending automatic payment to send (new ones,
    and any left pending by a crash)."""
    rows = db.execute(
        select(StayFee.stay_id, StayFee.amount, StayFee.paid, StayFee.plate, Stay.uuid, DriverAccount)
        .join(Stay, Stay.id == StayFee.stay_id)
        .join(DriverPlate, stay_is_the_accounts())  # never a stay from before the link
        .join(DriverAccount, DriverAccount.id == DriverPlate.account_id)
        .where(
            StayFee.district_id == district.id,
            StayFee.status == DUE,
            DriverAccount.payment_method_id.is_not(None),
            DriverAccount.card_unusable_at.is_(None),
            ~stay_in_flight(StayFee.stay_id, now),  # someone is paying it right now
        )
    ).all()
    keys = {
        f"auto:{stay_uuid}:{amount}": row for row in rows for stay_uuid, amount in [(row.uuid, row.amount)]
    }
    known = set(db.scalars(select(Payment.idempotency_key).where(Payment.idempotency_key.in_(list(keys)))))
    for key, row in keys.items():
        if key in known:
            continue
        account: DriverAccount = row.DriverAccount
        payment = _new_payment(
            district,
            CHANNEL_AUTO,
            "credit_card",
            row.amount - row.paid,
            key,
            now,
            plate=row.plate,
            account_id=account.id,
            payment_method_id=account.payment_method_id,
        )
        db.add(payment)
        db.flush()
        db.add(PaymentAllocation(payment_id=payment.id, stay_id=row.stay_id, amount=row.amount - row.paid))
    db.flush()
    return list(
        db.scalars(
            select(Payment.id)
            .where(
                Payment.district_id == district.id,
                Payment.channel == CHANNEL_AUTO,
                Payment.status == PENDING,
            )
            .order_by(Payment.id)
        )
    )


def record_pos_payment(
    db: Session,
    district: District,
    *,
    device_id: int,
    attendant: str,
    event_id: str,
    bay_id: int | None,
    at: datetime,
    plate: str | None,
    amount: int,
    method: str,
    transaction_id: str | None,
    now: datetime,
) -> Payment | None:
    """Cash or QR taken at the curb, reported by a POS terminal as a CDS event with payment
    fields. Allocated to the stay in the bay at that time, booked at most at what that stay
    owes then (its fee, or if it has not ended the meter POS_PREPAY on, less what is paid): the rest
    of what the terminal reported is a `pos_excess` overpayment, never booked. A resent event
    changes nothing."""
    key = f"pos:{district.id}:{event_id}"
    if db.scalar(select(Payment.id).where(Payment.idempotency_key == key)) is not None:
        return None
    stay = None
    if bay_id is not None:
        stay = db.scalar(
            select(Stay)
            .where(
                Stay.bay_id == bay_id,
                touching(at),  # closed: paid at the instant a stay ends, it is that stay's
            )
            .order_by(Stay.started_at.desc())
            .limit(1)
            .execution_options(populate_existing=True)  # the intake has just re-derived it
        )
    booked = min(amount, owed_at_the_curb(db, district, stay, at)) if stay is not None else 0
    payment = _new_payment(
        district,
        CHANNEL_POS,
        method,
        booked,
        key,
        now,
        plate=plate or (stay.plate if stay else None),
        status=SUCCEEDED,
    )
    payment.device_id, payment.attendant, payment.event_id = device_id, attendant, event_id
    payment.transaction_id = transaction_id
    db.add(payment)
    db.flush()
    if amount > booked:
        record_overpayment(db, payment, stay.id if stay else None, amount - booked, POS_EXCESS, now)
    if stay is not None and booked > 0:
        db.add(PaymentAllocation(payment_id=payment.id, stay_id=stay.id, amount=booked))
        db.flush()
        _apply(db, payment)
    return payment


def owed_at_the_curb(db: Session, district: District, stay: Stay, at: datetime) -> int:
    """What a stay owes when a POS takes money for it: its fee by the tariff in force at its
    start, up to its end (or, if it has not ended, up to POS_PREPAY after `at`), less
    succeeded payments to it. A stay with no tariff in force owes nothing."""
    road = db.get_one(Road, stay.road_id)
    found = TariffBook.load(db, district).in_force(road.tariff_code, stay.started_at)
    if found is None:
        return 0
    until = stay.ended_at or max(at, stay.started_at) + POS_PREPAY
    fee = (
        found[1]
        .price(stay.started_at, until, vehicle_class_for_plate(stay.plate, district.plate_rule))
        .amount
    )
    paid = db.scalar(
        select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.stay_id == stay.id, Payment.status == SUCCEEDED)
    )
    return max(fee - int(paid or 0), 0)


def plan_refund(
    db: Session, payment_uuid: str, amount: Any, reason: str, staff: str, now: datetime
) -> tuple[Payment, Refund]:
    """Write a pending refund, never beyond what is still refundable (counting refunds in
    flight). Cash and QR are given back at the curb: recorded as done at once."""
    payment = db.scalar(select(Payment).where(Payment.uuid == payment_uuid).with_for_update())
    if payment is None:
        raise UnknownPaymentError(f"no payment {payment_uuid}")
    amount = _check_amount(amount)
    if not reason or not reason.strip():
        raise InvalidInputError("a refund needs a reason", ["reason"])
    if payment.status != SUCCEEDED:
        raise NotRefundableError(f"the payment is {payment.status}; only a succeeded payment can be refunded")
    in_flight = (
        db.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment.id, Refund.status == PENDING
            )
        )
        or 0
    )
    refundable = payment.amount - payment.refunded - in_flight
    if amount > refundable:
        raise RefundExceedsPaymentError(f"at most {refundable} can still be refunded", ["amount"])
    refund = Refund(
        payment_id=payment.id,
        amount=amount,
        reason=reason.strip()[:300],
        staff=staff,
        status=PENDING,
        created_at=now,
    )
    db.add(refund)
    db.flush()
    if payment.payment_intent_id is None:  # cash or QR at the curb
        refund.status = SUCCEEDED
        db.flush()
        settle_refunded(db, payment, now)
    return payment, refund


def send_refund(db: Session, gateway: PaymentGateway, refund: Refund, now: datetime) -> Refund:
    """Send a pending card refund to the provider (idempotent on the refund) and record it."""
    if refund.status != PENDING:
        return refund
    payment = db.get(Payment, refund.payment_id)
    assert payment is not None and payment.payment_intent_id is not None
    result = gateway.refund(
        payment.payment_intent_id, refund.amount, "requested_by_customer", f"refund:{refund.uuid}"
    )
    refund.refund_id = result.id
    if result.status == "succeeded":
        refund.status = SUCCEEDED
        db.flush()
        settle_refunded(db, payment, now)
    elif result.status != "pending":  # pending: its webhook says how it ends
        refund.status = FAILED
    db.flush()
    settle_overpayment_refund(db, refund, now)
    return refund


def fail_refund(db: Session, payment: Payment, refund: Refund, now: datetime) -> None:
    """The provider failed or cancelled a refund (even one it first reported succeeded): the
    money stays with the payment, which is refunded only by its other succeeded refunds."""
    refund.status = FAILED
    db.flush()
    ours = db.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status == SUCCEEDED
        )
    )
    payment.refunded, payment.updated_at = min(payment.amount, int(ours or 0)), now
    settle_overpayment_refund(db, refund, now)
    db.flush()


def settle_refunded(db: Session, payment: Payment, now: datetime, provider_total: int = 0) -> None:
    """The payment's refunded total: the larger of our succeeded refunds and the provider's
    running total. Both only grow, so any order of answers and webhooks gives the same."""
    ours = db.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status == SUCCEEDED
        )
    )
    total = min(payment.amount, max(payment.refunded, int(ours or 0), provider_total))
    if total != payment.refunded:
        payment.refunded, payment.updated_at = total, now
    db.flush()


def mark_arrears(db: Session, district: District, now: datetime) -> int:
    """Due stays whose payment window has passed become arrears on their plate's ledger."""
    result = db.execute(
        update(StayFee)
        .where(StayFee.district_id == district.id, StayFee.status == DUE, StayFee.due_by <= now)
        .values(status=ARREARS, arrears_since=StayFee.due_by)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def new_key(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4()}"


class InvalidIdempotencyKeyError(InvalidInputError):
    code = "invalid_idempotency_key"


MAX_CLIENT_KEY_LENGTH = 80


def payment_key(scope: str, client_key: str) -> str:
    """The idempotency key of a payment asked for in `scope` (a plate's district, an account):
    the client's Idempotency-Key, so a retry answers the first payment, or a fresh one."""
    if len(client_key) > MAX_CLIENT_KEY_LENGTH:
        raise InvalidIdempotencyKeyError(N_("Idempotency-Key is at most 80 characters"))
    return f"{scope}:{client_key}" if client_key else new_key(scope)
