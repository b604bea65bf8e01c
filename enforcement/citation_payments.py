"""Paying a citation like a stay: a standing citation (issued, or upheld on appeal) is on its
plate's ledger, and a card payment by plate pays it whole through billing's payment paths
(the same provider, idempotency keys and receipts). The citation becomes paid once its
payment has succeeded, whether the provider answered at once or later by webhook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger import PlateLedger, plate_ledger
from billing.models import CHANNEL_PLATE, PENDING, SUCCEEDED, Payment
from billing.payment_keys import same_request
from billing.payments import AmountMismatchError, NothingToPayError, PaymentInProgressError
from enforcement.citations import change_citation_status
from enforcement.models import ISSUED, PAID, UPHELD, Citation, CitationAllocation, Violation
from parking.errors import N_, Message, NotFoundError
from parking.models import District
from parking.plates import plate_key

STANDING = (ISSUED, UPHELD)


@dataclass(frozen=True)
class OwedCitation:
    uuid: str
    rule: str
    amount: int
    status: str
    issued_at: datetime


def standing_citations(db: Session, district: District, plate: str) -> list[OwedCitation]:
    """The plate's citations still to pay (issued, or upheld on appeal), oldest first. An
    appealed one is not payable until decided; one whose payment succeeded is not owed,
    even before `settle_citation_payments` marks it paid."""
    paid = (
        select(CitationAllocation.citation_id)
        .join(Payment, Payment.id == CitationAllocation.payment_id)
        .where(Payment.status == SUCCEEDED)
    )
    rows = db.execute(
        select(Citation, Violation.rule)
        .join(Violation, Violation.id == Citation.violation_id)
        .where(
            Citation.district_id == district.id,
            Citation.plate_key == plate_key(plate),
            Citation.status.in_(STANDING),
            Citation.id.not_in(paid),
        )
        .order_by(Citation.issued_at, Citation.id)
    )
    return [OwedCitation(c.uuid, rule, c.amount, c.status, c.issued_at) for c, rule in rows]


@dataclass(frozen=True)
class PlateOwes:
    """What a plate owes in a district: its ledger of unpaid stays, its standing citations,
    and the total of both."""

    ledger: PlateLedger
    citations: list[OwedCitation]

    @property
    def outstanding(self) -> int:
        return self.ledger.outstanding + sum(c.amount for c in self.citations)


def plate_owes(db: Session, district: District, plate: str) -> PlateOwes:
    """The plate's unpaid stays (billing.ledger) and its standing citations."""
    return PlateOwes(plate_ledger(db, district, plate), standing_citations(db, district, plate))


def plan_citation_payment(
    db: Session,
    district: District,
    plate: str,
    citation_uuids: Sequence[str] | None,
    amount: int,
    payment_method: str,
    key: str,
    now: datetime,
) -> tuple[Payment, bool]:
    """A pending card payment for the named standing citations of `plate` (None: all of
    them), each paid whole, so `amount` must be their total. A repeated `key` returns the
    first payment only if it asks for the same plate, amount and card (else
    `idempotency_key_reused`, security review M2). Returns (payment, created)."""
    existing = db.scalar(select(Payment).where(Payment.idempotency_key == key))
    if existing is not None:
        asked = {
            "plate": plate,
            "amount": amount,
            "payment_method_id": payment_method,
            "channel": CHANNEL_PLATE,
        }
        return same_request(existing, **asked), False
    owed = standing_citations(db, district, plate)
    if citation_uuids is not None:
        missing = set(citation_uuids) - {c.uuid for c in owed}
        if missing:
            raise NotFoundError(
                "no standing citation of this plate: " + ", ".join(sorted(missing)), ["citations"]
            )
        owed = [c for c in owed if c.uuid in set(citation_uuids)]
    total = sum(c.amount for c in owed)
    if total == 0:
        raise NothingToPayError(Message(N_("%(plate)s has no citation to pay here"), {"plate": plate}))
    if amount != total:
        raise AmountMismatchError(
            Message(
                N_("a citation is paid whole: %(total)s, not %(amount)s"), {"total": total, "amount": amount}
            ),
            ["amount"],
        )
    citations = list(db.scalars(select(Citation).where(Citation.uuid.in_([c.uuid for c in owed]))))
    if _pending(db, [c.id for c in citations]):
        raise PaymentInProgressError(
            "a payment for these citations is already in progress; try again shortly"
        )
    payment = Payment(
        district_id=district.id,
        plate=plate,
        channel=CHANNEL_PLATE,
        method="credit_card",
        amount=amount,
        currency=district.currency,
        status=PENDING,
        refunded=0,
        idempotency_key=key,
        payment_method_id=payment_method,
        created_at=now,
        updated_at=now,
    )
    db.add(payment)
    db.flush()
    db.add_all(
        CitationAllocation(payment_id=payment.id, citation_id=c.id, amount=c.amount) for c in citations
    )
    db.flush()
    return payment, True


def _pending(db: Session, citation_ids: Sequence[int]) -> bool:
    found = db.scalar(
        select(CitationAllocation.citation_id)
        .join(Payment, Payment.id == CitationAllocation.payment_id)
        .where(CitationAllocation.citation_id.in_(citation_ids), Payment.status == PENDING)
        .limit(1)
    )
    return found is not None


def settle_citation_payments(db: Session, district: District, now: datetime | None = None) -> int:
    """Mark paid every standing citation whose payment has succeeded (at the payment's
    time). Returns how many were marked."""
    rows = db.execute(
        select(Citation, Payment)
        .join(CitationAllocation, CitationAllocation.citation_id == Citation.id)
        .join(Payment, Payment.id == CitationAllocation.payment_id)
        .where(
            Citation.district_id == district.id,
            Citation.status.in_(STANDING),
            Payment.status == SUCCEEDED,
        )
    ).all()
    for citation, payment in rows:
        at = now or payment.updated_at
        change_citation_status(db, district, citation.uuid, PAID, at, by=f"payment {payment.uuid}")
    return len(rows)
