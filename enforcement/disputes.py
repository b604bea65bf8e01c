"""Disputes: a driver contests a stay's fee or a citation with a reason; staff decide it.

Upheld changes nothing (a disputed citation stands, upheld); adjusted sets a new amount (a
stay's fee, or the citation's fine, never more than before); cancelled makes it nothing.
Money already paid beyond the new amount goes back through the payment provider (refunds
planned here, sent by the caller once committed); an unpaid fee is simply lowered (a
credit). The driver behind the plate is told, and every step is kept on the dispute row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from billing.credits import refund_given, take_back
from billing.fee_caps import cap_fee
from billing.models import SUCCEEDED, DriverPlate, Notice, Payment, PaymentAllocation, Refund, StayFee
from billing.plate_links import linked_plates, stay_is_the_accounts
from billing.refunds import plan_refund
from billing.tariffs import status_of
from enforcement.citations import change_citation_status, find_citation
from enforcement.models import (
    APPEALED,
    DISPUTE_ADJUSTED,
    DISPUTE_CANCELLED,
    DISPUTE_DECIDED,
    DISPUTE_OPEN,
    DISPUTE_OUTCOMES,
    DISPUTE_UPHELD,
    ISSUED,
    UPHELD,
    VOIDED,
    Citation,
    Dispute,
)
from identity.models import DriverAccount
from parking.errors import N_, ConflictError, InvalidInputError, Message, NotFoundError
from parking.inventory import district_by_id
from parking.models import District, Stay
from parking.plates import plate_key

# A decision that lowers a stay's fee caps it for good; `upheld` leaves the tariff fee standing.
CAPPING_OUTCOMES = (DISPUTE_ADJUSTED, DISPUTE_CANCELLED)


class UnknownDisputeError(NotFoundError):
    code = "unknown_dispute"


class UnknownStayError(NotFoundError):
    code = "unknown_stay"


class NotDisputableError(ConflictError):
    code = "not_disputable"


class DisputeOpenError(ConflictError):
    code = "dispute_open"


class DisputeDecidedError(ConflictError):
    code = "dispute_decided"


class InvalidDisputeError(InvalidInputError):
    code = "invalid_dispute"


class NotMineError(NotFoundError):
    code = "not_mine"


@dataclass(frozen=True)
class Contest:
    """What a driver contests: one stay or one citation (by id), of `plate`, and why."""

    plate: str
    reason: str
    stay: str | None = None
    citation: str | None = None
    account_id: int | None = None


def disputed_by(
    db: Session, account: DriverAccount, stay: str | None, citation: str | None
) -> tuple[District, str]:
    """The district and plate of the stay or citation (by id) an account disputes, which must
    be of its linked plates: a stay of the plate from before the link is not the account's."""
    if stay is not None:
        row = db.execute(
            select(Stay.district_id, Stay.plate)
            .join(DriverPlate, stay_is_the_accounts())
            .where(Stay.uuid == stay, DriverPlate.account_id == account.id)
        ).first()
    elif citation is not None:
        row = db.execute(
            select(Citation.district_id, Citation.plate).where(Citation.uuid == citation)
        ).first()
    else:
        raise InvalidDisputeError(N_("dispute a stay or a citation: name exactly one"), ["stay", "citation"])
    if row is None or row[1] not in linked_plates(db, account):
        raise NotMineError(N_("no such stay or citation of your plates"), ["stay", "citation"])
    return district_by_id(db, row[0]), str(row[1])


def dispute_subjects(db: Session, dispute: Dispute) -> tuple[str | None, str | None]:
    """The ids of the stay and of the citation the dispute is about (one of them is None)."""
    stay = db.scalar(select(Stay.uuid).where(Stay.id == dispute.stay_id)) if dispute.stay_id else None
    citation = (
        db.scalar(select(Citation.uuid).where(Citation.id == dispute.citation_id))
        if dispute.citation_id
        else None
    )
    return stay, citation


def open_dispute(db: Session, district: District, contest: Contest, now: datetime) -> Dispute:
    """Open a dispute of a priced stay's fee or an issued citation of the plate; one open
    dispute per stay or citation. Disputing a citation appeals it."""
    if (contest.stay is None) == (contest.citation is None):
        raise InvalidDisputeError("dispute a stay or a citation: name exactly one", ["stay", "citation"])
    if not contest.reason.strip():
        raise InvalidDisputeError("a dispute needs a reason", ["reason"])
    dispute = Dispute(
        district_id=district.id,
        plate=contest.plate,
        account_id=contest.account_id,
        reason=contest.reason.strip(),
        status=DISPUTE_OPEN,
        currency=district.currency,
        refunded=0,
        created_at=now,
    )
    if contest.stay is not None:
        fee = _fee_of(db, district, contest.plate, contest.stay)
        dispute.stay_id, dispute.amount_before = fee.stay_id, fee.amount
        _refuse_second(db, Dispute.stay_id == fee.stay_id)
    else:
        citation = _citation_of(db, district, contest.plate, str(contest.citation))
        dispute.citation_id, dispute.amount_before = citation.id, citation.amount
        _refuse_second(db, Dispute.citation_id == citation.id)
        change_citation_status(
            db, district, citation.uuid, APPEALED, now, by="dispute", reason=dispute.reason
        )
    db.add(dispute)
    db.flush()
    return dispute


def _fee_of(db: Session, district: District, plate: str, stay_uuid: str) -> StayFee:
    row = db.execute(
        select(StayFee, Stay.plate_key)
        .join(Stay, Stay.id == StayFee.stay_id)
        .where(Stay.district_id == district.id, Stay.uuid == stay_uuid)
    ).first()
    if row is None or row[1] != plate_key(plate):
        raise UnknownStayError(
            Message(
                N_("no priced stay %(stay)s of %(plate)s in %(district)s"),
                {"stay": stay_uuid, "plate": plate, "district": district.slug},
            ),
            ["stay"],
        )
    fee: StayFee = row[0]
    return fee


def _citation_of(db: Session, district: District, plate: str, citation_uuid: str) -> Citation:
    citation = find_citation(db, district, citation_uuid)
    if citation.plate_key != plate_key(plate):
        raise NotFoundError(
            Message(N_("no citation %(citation)s of %(plate)s"), {"citation": citation_uuid, "plate": plate}),
            ["citation"],
        )
    if citation.status != ISSUED:
        raise NotDisputableError(
            Message(N_("a citation that is %(status)s cannot be disputed"), {"status": citation.status}),
            ["citation"],
        )
    return citation


def _refuse_second(db: Session, about: ColumnElement[bool]) -> None:
    if db.scalar(select(Dispute.uuid).where(about, Dispute.status == DISPUTE_OPEN)) is not None:
        raise DisputeOpenError("it is already disputed; wait for the decision")


def list_disputes(db: Session, district: District, status: str | None) -> list[Dispute]:
    """The district's disputes, oldest first (the queue), of one status or all."""
    query = select(Dispute).where(Dispute.district_id == district.id)
    if status is not None:
        query = query.where(Dispute.status == status)
    return list(db.scalars(query.order_by(Dispute.created_at, Dispute.id)))


def count_disputes(db: Session, district: District, since: datetime, until: datetime) -> dict[str, int]:
    """Disputes opened in [since, until): how many are open, and how many ended each way."""
    rows = db.execute(
        select(Dispute.status, Dispute.outcome, func.count())
        .where(Dispute.district_id == district.id, Dispute.created_at >= since, Dispute.created_at < until)
        .group_by(Dispute.status, Dispute.outcome)
    )
    counts = {DISPUTE_OPEN: 0, **{outcome: 0 for outcome in DISPUTE_OUTCOMES}}
    for status, outcome, count in rows:
        counts[outcome if status == DISPUTE_DECIDED and outcome else DISPUTE_OPEN] += int(count)
    return counts


@dataclass(frozen=True)
class Decision:
    outcome: str
    reason: str
    decided_by: str
    amount: int | None = None  # the new amount, when adjusted


def decide_dispute(
    db: Session, district: District, dispute_uuid: str, decision: Decision, now: datetime
) -> tuple[Dispute, list[Refund]]:
    """Decide an open dispute; returns it and the refunds planned (pending card refunds are
    for the caller to send once this is committed)."""
    dispute = db.scalar(
        select(Dispute).where(Dispute.district_id == district.id, Dispute.uuid == dispute_uuid)
    )
    if dispute is None:
        raise UnknownDisputeError(
            Message(
                N_("no dispute %(dispute)s in %(district)s"),
                {"dispute": dispute_uuid, "district": district.slug},
            )
        )
    if dispute.status != DISPUTE_OPEN:
        raise DisputeDecidedError(
            Message(N_("the dispute was already decided (%(outcome)s)"), {"outcome": dispute.outcome})
        )
    new_amount = _new_amount(dispute, decision)
    refunds: list[Refund] = []
    if dispute.stay_id is not None:
        refunds = _settle_fee(db, dispute, new_amount, decision, now)
    else:
        _settle_citation(db, district, dispute, new_amount, decision, now)
    dispute.status, dispute.outcome, dispute.amount_after = DISPUTE_DECIDED, decision.outcome, new_amount
    dispute.decision_reason, dispute.decided_by, dispute.decided_at = (
        decision.reason,
        decision.decided_by,
        now,
    )
    dispute.refunded = sum(r.amount for r in refunds)
    if dispute.stay_id is not None and decision.outcome in CAPPING_OUTCOMES:  # re-pricing keeps it
        cap_fee(db, dispute.stay_id, dispute.uuid, new_amount, now)
    _notify(db, dispute, now)
    db.flush()
    return dispute, refunds


def _new_amount(dispute: Dispute, decision: Decision) -> int:
    if decision.outcome not in DISPUTE_OUTCOMES:
        raise InvalidDisputeError(
            Message(N_("outcome is one of %(outcomes)s"), {"outcomes": ", ".join(DISPUTE_OUTCOMES)}),
            ["outcome"],
        )
    if not decision.reason.strip():
        raise InvalidDisputeError("a decision needs a reason", ["reason"])
    if decision.outcome == DISPUTE_UPHELD:
        return dispute.amount_before
    if decision.outcome == DISPUTE_CANCELLED:
        return 0
    if decision.amount is None or not 0 <= decision.amount < dispute.amount_before:
        raise InvalidDisputeError(
            Message(
                N_("an adjusted amount is from 0 to below %(before)s"), {"before": dispute.amount_before}
            ),
            ["amount"],
        )
    return decision.amount


def _settle_fee(
    db: Session, dispute: Dispute, amount: int, decision: Decision, now: datetime
) -> list[Refund]:
    fee = db.get(StayFee, dispute.stay_id)
    if fee is None:
        raise NotDisputableError("the stay was re-derived away since; nothing left to decide on")
    excess, refunds = max(0, fee.paid - amount), []
    paid_by = db.execute(
        select(PaymentAllocation, Payment)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.stay_id == fee.stay_id, Payment.status == SUCCEEDED)
        .order_by(Payment.created_at.desc())
    ).all()
    for allocation, payment in paid_by:
        part = min(excess, allocation.amount, payment.amount - payment.refunded)
        if part > 0:
            reason = f"dispute {dispute.uuid}: {decision.reason}"
            refund = plan_refund(db, payment.uuid, part, reason, decision.decided_by, now)[1]
            refund_given(db, payment, fee.stay_id, refund, now)
            take_back(db, allocation, allocation.amount - part)
            refunds.append(refund)
            fee.paid -= part
            excess -= part
    fee.amount = amount
    fee.status = status_of(fee.amount, fee.paid)
    if fee.status != "arrears":
        fee.arrears_since = None
    return refunds


def _settle_citation(
    db: Session, district: District, dispute: Dispute, amount: int, decision: Decision, now: datetime
) -> None:
    citation = db.get_one(Citation, dispute.citation_id)
    if decision.outcome == DISPUTE_CANCELLED:
        change_citation_status(
            db, district, citation.uuid, VOIDED, now, by=decision.decided_by, reason=decision.reason
        )
        return
    citation.amount = amount
    change_citation_status(
        db, district, citation.uuid, UPHELD, now, by=decision.decided_by, reason=decision.reason
    )


def _notify(db: Session, dispute: Dispute, now: datetime) -> None:
    """Tell the driver who disputed, or else the driver the plate is linked to, if any."""
    account_id = dispute.account_id or db.scalar(
        select(DriverPlate.account_id).where(DriverPlate.plate == dispute.plate)
    )
    if account_id is None:
        return
    what = "fee" if dispute.stay_id is not None else "citation"
    money = f"{dispute.amount_after} {dispute.currency} (was {dispute.amount_before})"
    message = f"Your dispute of a {what} for {dispute.plate} was {dispute.outcome}: {money}. {dispute.decision_reason}"
    db.add(Notice(account_id=account_id, kind="dispute_decided", message=message[:500], created_at=now))
