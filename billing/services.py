"""Use cases of billing that talk to the payment provider: pay a plate's stays by card, charge
what is pending, charge the saved cards of ended stays, settle payments left in flight, refund.

Each runs its own units of work (parking/unit_of_work.py): a payment is written pending and
committed before the provider is asked, the provider is asked with no write lock held, and
its answer is committed at once, so a crash in between resends with the same idempotency key
and never charges twice (docs/BILLING.md, Pending and overpaid). Views, CLI commands and jobs
call these functions and only turn what they return into an answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.auto_charges import plan_auto_charges
from billing.gateway import GatewayError, GatewayUnavailable, PaymentGateway
from billing.models import PENDING, REQUIRES_ACTION, Payment, Refund
from billing.overpayment_refunds import overpayment_refunds_to_send, plan_overpayment_refunds
from billing.payments import UnknownPaymentError, charge_request, plan_plate_payment, record_charge
from billing.pending_payments import record_send_failure, stale_pending, time_out, unreachable
from billing.refunds import plan_refund, send_refund
from billing.tariffs import price_ended_stays
from parking.models import District
from parking.unit_of_work import end_reads, writing


@dataclass
class ChargeRun:
    """How the payments of one run ended, by outcome; `unavailable` says why a run stopped."""

    outcomes: Counter[str] = field(default_factory=Counter)
    unavailable: str | None = None


def charge_pending(db: Session, gateway: PaymentGateway, payment_id: int, now: datetime) -> Payment:
    """Send a pending payment, already committed, to the provider with no write lock held,
    then record its answer in a write transaction of its own (unless a webhook or another
    worker recorded it meanwhile). The same idempotency key on a retry: never two charges.
    A send that raised is recorded (billing/pending_payments.py): a refusal fails the payment,
    which is returned; an unreachable provider leaves it pending, and the error is raised."""
    payment = end_reads(db).get_one(Payment, payment_id)
    if payment.status != PENDING:
        return payment
    send = charge_request(db, payment)
    end_reads(db)  # no transaction, not even a read, while the provider answers
    try:
        result = send(gateway)
    except GatewayError as error:
        with writing(db):
            payment = db.get_one(Payment, payment_id)
            if payment.status == PENDING:
                record_send_failure(db, payment, error, now)  # a refused send fails it at once
        if unreachable(error):
            raise
        return payment
    with writing(db):
        payment = db.get_one(Payment, payment_id)
        if payment.status == PENDING:
            record_charge(db, payment, result, now)
    return payment


def pay_by_plate(
    db: Session,
    gateway: PaymentGateway,
    district_id: int,
    plate: str,
    amount: Any,
    payment_method: str,
    key: str,
    now: datetime,
    stay_uuids: Sequence[str] | None = None,
    currency: str | None = None,
) -> tuple[Payment, bool]:
    """Pay `amount` towards a plate's unpaid stays (or the ones named) by card: the pending
    payment is committed first, then charged (`charge_pending`). Returns (payment, created);
    a repeated `key` answers the first payment. The caller checks the outcome (3-D Secure,
    a decline): the payment is returned whatever the provider said."""
    with writing(db):
        district = db.get_one(District, district_id)
        payment, created = plan_plate_payment(
            db, district, plate, amount, payment_method, key, now, stay_uuids=stay_uuids, currency=currency
        )
        payment_id = payment.id
    return charge_pending(db, gateway, payment_id, now), created


def give_refund(
    db: Session,
    gateway: PaymentGateway,
    district_id: int,
    payment_uuid: str,
    amount: Any,
    reason: str,
    staff: str,
    now: datetime,
) -> Refund:
    """Refund a district's payment, in full or in part, never beyond what is refundable: the
    refund is committed pending, then a card refund is sent to the provider and its answer
    recorded; cash and QR are given back at the curb, recorded at once."""
    with writing(db):
        found = db.scalar(
            select(Payment.id).where(Payment.district_id == district_id, Payment.uuid == payment_uuid)
        )
        if found is None:
            raise UnknownPaymentError(f"no payment {payment_uuid}")
        _, refund = plan_refund(db, payment_uuid, amount, reason, staff, now)
        refund_id = refund.id
    with writing(db):
        refund = db.get_one(Refund, refund_id)
        if refund.status == PENDING:
            send_refund(db, gateway, refund, now)
    return refund


def confirm_card_payment(
    db: Session, gateway: PaymentGateway, district_id: int, payment_uuid: str, now: datetime
) -> Payment:
    """After the browser authenticated a card (3-D Secure): ask the provider, with no
    transaction held, how the payment ended, and record it unless it still waits or the
    amounts disagree. Returns the payment; the caller tells a refusal from a success."""
    payment = db.scalar(
        select(Payment).where(Payment.district_id == district_id, Payment.uuid == payment_uuid)
    )
    if payment is None:
        raise UnknownPaymentError(f"no payment {payment_uuid}")
    if payment.status not in (REQUIRES_ACTION, PENDING) or not payment.payment_intent_id:
        return payment
    intent_id, payment_id = payment.payment_intent_id, payment.id
    end_reads(db)
    result = gateway.retrieve_payment_intent(intent_id)
    with writing(db):
        payment = db.get_one(Payment, payment_id)
        if result.status != "requires_action" and result.amount == payment.amount:
            record_charge(db, payment, result, now)
    return payment


def charge_saved_cards(
    db: Session, gateway: PaymentGateway, district_ids: Sequence[int], now: datetime
) -> ChargeRun:
    """Price the ended stays of each district, then charge the saved cards of those who owe:
    each charge planned pending in one unit of work, then sent by `charge_pending`. An
    unreachable provider stops the run (the next run sends the same charges again)."""
    run = ChargeRun()
    for district_id in district_ids:
        with writing(db):
            district = db.get_one(District, district_id)
            price_ended_stays(db, district, now)
            pending = plan_auto_charges(db, district, now)
        for payment_id in pending:
            try:
                payment = charge_pending(db, gateway, payment_id, now)
            except GatewayUnavailable as error:
                end_reads(db)
                run.unavailable = str(error)
                return run
            run.outcomes[payment.status] += 1
    return run


def settle_payments(
    db: Session, gateway: PaymentGateway, district_ids: Sequence[int], now: datetime
) -> ChargeRun:
    """Card payments no longer in flight are sent again with their own key, or failed after
    PENDING_TIMEOUT; then card overpayments are refunded. Every provider call is made with no
    write lock held unless the step must write first, and its outcome committed at once."""
    run = ChargeRun()
    for district_id in district_ids:
        for payment_id in stale_pending(db, district_id, now):
            with writing(db):
                timed_out = time_out(db, db.get_one(Payment, payment_id), now)
            if timed_out:
                run.outcomes["timed out"] += 1
                continue
            try:
                run.outcomes["sent again: " + charge_pending(db, gateway, payment_id, now).status] += 1
            except GatewayUnavailable:
                end_reads(db)
                run.outcomes["still unanswered"] += 1
        _refund_overpayments(db, gateway, district_id, now, run)
    return run


def _refund_overpayments(
    db: Session, gateway: PaymentGateway, district_id: int, now: datetime, run: ChargeRun
) -> None:
    with writing(db):
        plan_overpayment_refunds(db, district_id, now)
    for refund_id in overpayment_refunds_to_send(db, district_id):
        try:
            with writing(db):
                refund = send_refund(db, gateway, db.get_one(Refund, refund_id), now)
                status = refund.status
        except GatewayError:
            run.outcomes["overpayment refunds unsent"] += 1
            continue
        run.outcomes[f"overpayment refunds {status}"] += 1
