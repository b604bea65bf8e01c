"""A signed-in driver's citations: the standing citations of the plates linked to the account
(proven, not merely asked for), in every district, and paying one of them in the app with the
saved card or another. The payment takes billing's path for a driver's own payments (channel
`account`: the saved card is charged as the account's customer), with the same pending-first
write, idempotency keys and receipts as paying by plate (enforcement/citation_payments.py).

A citation of a plate that is not the account's is unknown to it, exactly like one that does
not exist: the answer never says whether somebody else's citation exists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from billing.models import PENDING, SUCCEEDED, Payment
from billing.payment_keys import KeyReusedError, same_request
from billing.payments import (
    CHANNEL_ACCOUNT,
    AlreadyPaidError,
    AmountMismatchError,
    NoSavedCardError,
    PaymentInProgressError,
)
from enforcement.citation_payments import STANDING
from enforcement.citations import UnknownCitationError
from enforcement.models import PAID, Citation, CitationAllocation, Violation
from identity.models import DriverAccount
from parking.errors import N_, ConflictError, Message
from parking.models import District
from parking.plates import plate_key


class CitationNotPayableError(ConflictError):
    """An appealed citation waits for its decision; a voided one is owed no more."""

    code = "citation_not_payable"


@dataclass(frozen=True)
class AccountCitation:
    uuid: str
    district: str
    plate: str | None
    rule: str
    amount: int
    currency: str
    status: str
    issued_at: datetime


def _paid_citations() -> Select[int]:
    """Ids of citations a succeeded payment paid (owed no more, even before they are marked)."""
    return (
        select(CitationAllocation.citation_id)
        .join(Payment, Payment.id == CitationAllocation.payment_id)
        .where(Payment.status == SUCCEEDED)
    )


def standing_citations_of(db: Session, plates: Sequence[str]) -> list[AccountCitation]:
    """The standing citations (issued, or upheld on appeal) of these plates in any district,
    oldest first; an appealed one waits for its decision and is not listed."""
    if not plates:
        return []
    rows = db.execute(
        select(Citation, Violation.rule, District.slug)
        .join(Violation, Violation.id == Citation.violation_id)
        .join(District, District.id == Citation.district_id)
        .where(
            Citation.plate_key.in_([plate_key(p) for p in plates]),
            Citation.status.in_(STANDING),
            Citation.id.not_in(_paid_citations()),
        )
        .order_by(Citation.issued_at, Citation.id)
    )
    return [
        AccountCitation(c.uuid, slug, c.plate, rule, c.amount, c.currency, c.status, c.issued_at)
        for c, rule, slug in rows
    ]


def own_citation(db: Session, plates: Sequence[str], citation_uuid: str) -> Citation:
    """The citation, if it is of one of these plates; else `unknown_citation`, as for none."""
    citation = db.scalar(select(Citation).where(Citation.uuid == citation_uuid))
    keys = {plate_key(p) for p in plates}
    if citation is None or citation.plate_key not in keys:
        raise UnknownCitationError(
            Message(N_("no citation %(citation)s of your plates"), {"citation": citation_uuid}),
            ["citation"],
        )
    return citation


def plan_account_citation_payment(
    db: Session,
    account: DriverAccount,
    citation: Citation,
    amount: int,
    payment_method: str | None,
    key: str,
    now: datetime,
) -> tuple[Payment, bool]:
    """A pending card payment of one of the account's standing citations, whole (`amount` must
    be its amount), with the saved card unless another `payment_method` is given. A repeated
    `key` returns the first payment only if it asked for the same citation, amount and card.
    Returns (payment, created)."""
    card = payment_method or account.payment_method_id
    existing = db.scalar(select(Payment).where(Payment.idempotency_key == key))
    if existing is not None:
        asked = {"amount": amount, "payment_method_id": card, "account_id": account.id}
        same_request(existing, channel=CHANNEL_ACCOUNT, **asked)
        if db.get(CitationAllocation, (existing.id, citation.id)) is None:
            raise KeyReusedError(
                "this Idempotency-Key was used for another payment: send a new key", ["citation"]
            )
        return existing, False
    _require_payable(db, citation)
    if amount != citation.amount:
        total = {"total": citation.amount, "amount": amount}
        raise AmountMismatchError(
            Message(N_("a citation is paid whole: %(total)s, not %(amount)s"), total), ["amount"]
        )
    if card is None:
        raise NoSavedCardError("no card is saved: save one, or give a payment_method", ["payment_method"])
    payment = Payment(
        district_id=citation.district_id,
        plate=citation.plate,
        account_id=account.id,
        channel=CHANNEL_ACCOUNT,
        method="credit_card",
        amount=amount,
        currency=citation.currency,
        status=PENDING,
        refunded=0,
        idempotency_key=key,
        payment_method_id=card,
        created_at=now,
        updated_at=now,
    )
    db.add(payment)
    db.flush()
    db.add(CitationAllocation(payment_id=payment.id, citation_id=citation.id, amount=amount))
    db.flush()
    return payment, True


def _require_payable(db: Session, citation: Citation) -> None:
    payments = db.scalars(
        select(Payment.status)
        .join(CitationAllocation, CitationAllocation.payment_id == Payment.id)
        .where(CitationAllocation.citation_id == citation.id)
    ).all()
    if citation.status == PAID or SUCCEEDED in payments:
        raise AlreadyPaidError(Message(N_("citation %(citation)s is paid"), {"citation": citation.uuid}))
    if citation.status not in STANDING:
        raise CitationNotPayableError(
            Message(N_("a citation that is %(status)s cannot be paid"), {"status": citation.status}),
            ["citation"],
        )
    if PENDING in payments:
        raise PaymentInProgressError("a payment for this citation is already in progress; try again shortly")
