"""Card payments: by plate and from a driver's account, planned over the stays they pay,
sent to the provider and their answer applied. Beside it: what plates owe
(billing/ledger.py), idempotency keys (billing/payment_keys.py), automatic charges
(billing/auto_charges.py), POS cash and QR (billing/pos_payments.py) and refunds
(billing/refunds.py).

A card payment is two units of work. First the payment row (status `pending`) and its planned
allocations to stays are written and committed; then the provider is called with an
idempotency key derived from what is paid (a stay's automatic charge: the stay and its fee),
and its answer is recorded. A crash between the two leaves a pending payment that the next run
sends again with the same key, so the provider never charges twice. Allocations count towards
a stay only once their payment has succeeded. A later payment for a plate settles its oldest
arrears first, then its oldest due stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.credits import ALLOCATION_CAPPED, record_overpayment, take_back
from billing.gateway import ChargeResult, PaymentGateway
from billing.ledger import OwedStay, owed_by_plates, plate_ledger
from billing.models import (
    ARREARS,
    CHANNEL_AUTO,
    CHANNEL_PLATE,
    DECLINED,
    DUE,
    FAILED,
    PAID,
    PENDING,
    REQUIRES_ACTION,
    SUCCEEDED,
    Notice,
    Payment,
    PaymentAllocation,
    StayFee,
)
from billing.payment_keys import same_request
from billing.pending_payments import in_flight
from billing.tariffs import status_of
from identity.models import DriverAccount
from parking.errors import N_, ConflictError, DomainError, InvalidInputError, Message, NotFoundError
from parking.models import District, Stay
from parking.plates import plate_key

CHANNEL_ACCOUNT = "account"  # a signed-in driver paying what their plates owe, in the app


# An attendant takes the fee a few minutes before the driver leaves: cash or QR for a stay that
# has not ended is taken up to its fee if it ended this long after the payment.
class AlreadyPaidError(ConflictError):
    code = "already_paid"


class NothingToPayError(ConflictError):
    code = "nothing_to_pay"


class AmountMismatchError(ConflictError):
    code = "amount_mismatch"


class PaymentInProgressError(ConflictError):
    code = "payment_in_progress"


class PaymentDeclinedError(DomainError):
    """The card was refused: the stays stay payable."""

    code = "payment_declined"
    status = 402


class UnknownPaymentError(NotFoundError):
    code = "unknown_payment"


def find_payment(db: Session, district_id: int, payment_uuid: str) -> Payment:
    payment = db.scalar(
        select(Payment).where(Payment.district_id == district_id, Payment.uuid == payment_uuid)
    )
    if payment is None:
        raise UnknownPaymentError(Message(N_("no payment %(payment)s"), {"payment": payment_uuid}))
    return payment


class NoSavedCardError(ConflictError):
    code = "no_saved_card"


def check_amount(amount: Any, field: str = "amount") -> int:
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
    amount = check_amount(amount)
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
    payment = new_payment(
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


def new_payment(
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
        apply_allocations(db, payment)
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


def apply_allocations(db: Session, payment: Payment) -> None:
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
    amount = check_amount(amount)
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
    payment = new_payment(
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
