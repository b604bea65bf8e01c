"""Use cases of enforcement: take and resolve a task (with its photo and, when one is
issued, the citation); register an arrival, a plate, a departure or a payment at a bay by
hand through a handheld POS; pay what a plate owes, its stays or its citations, and a
citation from a driver's account; decide a
dispute and send the refunds it plans.

Each runs one unit of work (parking/unit_of_work.py): everything it writes is committed
together or not at all. Views only load the request, call one of these and shape the answer;
the rules raise domain errors, mapped to HTTP once in api/errors.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from billing.gateway import PaymentGateway
from billing.ledger import plate_ledger
from billing.models import PENDING, REQUIRES_ACTION, Payment, Refund
from billing.payment_keys import payment_key
from billing.payments import require_succeeded
from billing.plate_links import linked_plates
from billing.refunds import send_refund
from billing.services import charge_pending, pay_by_plate
from enforcement.account_citations import own_citation, plan_account_citation_payment
from enforcement.citation_payments import plan_citation_payment, settle_citation_payments
from enforcement.citations import issue_citation
from enforcement.disputes import Decision, decide_dispute
from enforcement.models import Dispute, Task, Violation
from enforcement.registration_check import stake_disagrees
from enforcement.registrations import (
    Registration,
    RegistrationRefusedError,
    RegistrationTooOldError,
    bay_road,
    pos_device,
    registration_event,
)
from enforcement.tasks import OutsideBeatError, attach_photo, check_beat, find_task, resolve_task, take_task
from enforcement.teams import check_resolver, check_team
from identity.models import DriverAccount, StaffToken
from identity.staff import beat_of
from parking.clock import from_ms
from parking.errors import N_, ConflictError, InvalidInputError, Message
from parking.models import District
from parking.plate_rules import accept_plate
from parking.unit_of_work import writing
from sensors.intake import IntakeResult, check_items, ingest_checked
from sensors.models import Device
from sensors.services import book_pos_payments

CITATION_ISSUED = "citation_issued"


class PhotoRequiredError(InvalidInputError):
    code = "photo_required"


class NoViolationError(ConflictError):
    code = "no_violation"


@dataclass(frozen=True)
class Resolution:
    task: Task
    citation: str | None  # the citation's id, when the outcome issued one


def take_task_as(db: Session, district: District, staff: StaffToken, task_uuid: str, now: datetime) -> Task:
    """A team member takes a task of their team, on their beat."""
    with writing(db):
        task = find_task(db, district, task_uuid)
        check_team(staff.role, task)
        check_beat(task, beat_of(db, staff))
        return take_task(db, district, task_uuid, staff.name, now)


def resolve_task_as(
    db: Session,
    district: District,
    staff: StaffToken,
    task_uuid: str,
    outcome: str,
    note: str | None,
    photo: bytes | None,
    now: datetime,
) -> Resolution:
    """The member closes a task with an outcome of their team; the photo is kept, and
    `citation_issued` (which needs a photo) cites the task's violation. All or nothing."""
    with writing(db):
        task = find_task(db, district, task_uuid)
        check_beat(task, beat_of(db, staff))
        check_resolver(staff.role, staff.name, task, outcome)
        if outcome == CITATION_ISSUED and photo is None:
            raise PhotoRequiredError(N_("a citation needs a photo"), ["photo"])
        resolve_task(db, district, task_uuid, outcome, now, note)
        if photo is not None:
            attach_photo(db, task, photo, staff.name, now)
        citation = None
        if outcome == CITATION_ISSUED:
            violation = db.get(Violation, task.violation_id) if task.violation_id else None
            if violation is None:
                raise NoViolationError(N_("only a task about a violation can end in a citation"), ["outcome"])
            citation = issue_citation(db, district, violation.uuid, staff.name, now).uuid
    return Resolution(task, citation)


@dataclass(frozen=True)
class Registered:
    event: dict[str, object]  # the CDS event the registration stood for
    event_time: datetime
    device: Device
    duplicate: bool  # the same client_id was registered before: nothing new was written
    conflict: Message | None  # what the bay's stake saw otherwise, if anything


def register_at_curb(
    db: Session,
    district: District,
    staff: StaffToken,
    registration: Registration,
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None,
) -> Registered:
    """The registration goes through the device intake as the handheld POS it names, which
    must cover the bay, and a payment is booked as the POS's; a member with a beat registers
    only on its roads, and `at` goes back at most `max_age` (None: no bound). Then what the
    bay's stake saw otherwise is read, once the registration is committed."""
    with writing(db):
        beat = beat_of(db, staff)
        road_id = bay_road(db, district, registration.bay) if beat is not None else None
        if beat is not None and road_id is not None and road_id not in beat:
            raise OutsideBeatError("the bay is not on a road of your beat", ["bay"])
        device = pos_device(db, district, registration.device)
        event = registration_event(db, district, registration, device, staff.name, now)
        if max_age is not None and from_ms(event["event_time"]) < now - max_age:
            raise RegistrationTooOldError(N_("`at` is older than EVENT_MAX_AGE_HOURS"), ["at"])
        result = _take_one(db, district, device, event, now, max_skew)
    conflict = stake_disagrees(db, district, registration.bay, registration.kind, registration.plate)
    return Registered(event, result[1], device, bool(result[0].duplicates), conflict)


def _take_one(
    db: Session,
    district: District,
    device: Device,
    event: dict[str, object],
    now: datetime,
    max_skew: timedelta,
) -> tuple[IntakeResult, datetime]:
    result, parsed = check_items([event], device.uuid, now, max_skew, plate_rule=district.plate_rule)
    ingest_checked(db, device, result, parsed, now)
    if result.failures:
        raise RegistrationRefusedError(result.failures[0])
    book_pos_payments(db, district, device, result.logged, now)
    return result, parsed[0][1].event_time


class CitationsAndStaysError(InvalidInputError):
    code = "citations_and_stays"


@dataclass(frozen=True)
class PlatePayment:
    """What paying a plate asked for: its stays, or its standing citations, by card."""

    amount: Any
    payment_method: str
    client_key: str  # the Idempotency-Key, may be empty
    stays: Sequence[str] | None = None
    citations: Sequence[str] | None = None
    currency: str | None = None


def pay_plate(
    db: Session,
    gateway: PaymentGateway,
    district: District,
    plate_text: str,
    asked: PlatePayment,
    now: datetime,
) -> tuple[Payment, bool]:
    """Pay towards a plate's unpaid stays (or those named), or, when it owes no stay or names
    citations, its standing citations; committed pending, then charged. A citation's payment
    that succeeded marks the citation paid, in a unit of work of its own; one that waits for
    3-D Secure is returned as it stands. Returns (payment, created): a repeated key answers
    the first payment."""
    key = payment_key(f"plate:{district.id}", asked.client_key)
    plate = accept_plate(district.plate_rule, plate_text)
    if not _for_citations(db, district, plate, asked):
        return pay_by_plate(
            db,
            gateway,
            district.id,
            plate,
            asked.amount,
            asked.payment_method,
            key,
            now,
            stay_uuids=asked.stays,
            currency=asked.currency,
        )
    with writing(db):
        payment, created = plan_citation_payment(
            db, district, plate, asked.citations, asked.amount, asked.payment_method, key, now
        )
    payment = charge_pending(db, gateway, payment.id, now)
    if payment.status == REQUIRES_ACTION and payment.payment_intent_id:  # the browser finishes it
        return payment, created
    require_succeeded(payment)
    with writing(db):
        settle_citation_payments(db, district)
    return payment, created


def _for_citations(db: Session, district: District, plate: str, asked: PlatePayment) -> bool:
    if asked.citations is not None and asked.stays is not None:
        raise CitationsAndStaysError(N_("pay stays or citations, not both at once"), ["citations"])
    if (asked.currency or district.currency).upper() != district.currency:
        takes = Message(N_("this district takes %(currency)s"), {"currency": district.currency})
        raise InvalidInputError(takes, ["currency"])
    if asked.citations is not None:
        return True
    return asked.stays is None and not plate_ledger(db, district, plate).stays


def pay_citation_from_account(
    db: Session,
    gateway: PaymentGateway,
    account_id: int,
    citation_uuid: str,
    amount: int,
    payment_method: str | None,
    client_key: str,
    now: datetime,
) -> tuple[Payment, bool]:
    """Pay a standing citation of one of the account's linked plates, whole, with the saved
    card unless another is given (enforcement/account_citations.py). The pending payment is
    committed, then charged; one that waits for 3-D Secure is returned as it stands, one that
    succeeded marks the citation paid in a unit of work of its own. `client_key` (the
    Idempotency-Key, may be empty) makes a retry answer the first payment: (payment, created)."""
    key = payment_key(f"account:{account_id}:citation", client_key)
    with writing(db):
        account = db.get_one(DriverAccount, account_id)
        citation = own_citation(db, linked_plates(db, account), citation_uuid)
        payment, created = plan_account_citation_payment(
            db, account, citation, amount, payment_method, key, now
        )
    payment = charge_pending(db, gateway, payment.id, now)
    if payment.status == REQUIRES_ACTION and payment.payment_intent_id:  # the browser finishes it
        return payment, created
    require_succeeded(payment)
    district_id = payment.district_id
    with writing(db):
        settle_citation_payments(db, db.get_one(District, district_id))
    return payment, created


def decide_dispute_and_refund(
    db: Session,
    gateway: PaymentGateway,
    district: District,
    dispute_uuid: str,
    decision: Decision,
    now: datetime,
) -> Dispute:
    """Decide a dispute; once the decision is on record, the card refunds it planned are sent
    to the provider, each recorded in a unit of work of its own (like any staff refund)."""
    with writing(db):
        dispute, refunds = decide_dispute(db, district, dispute_uuid, decision, now)
        pending = [refund.id for refund in refunds if refund.status == PENDING]
    for refund_id in pending:
        with writing(db):
            send_refund(db, gateway, db.get_one(Refund, refund_id), now)
    return dispute
