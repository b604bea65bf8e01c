"""Plates linked to driver accounts, and how a link is proven (docs/PRIVACY.md, "Linking a
plate").

A driver asks to link a plate: that is a pending claim, answered the same whether the plate
is unlinked or linked to someone else, so asking tells nothing. The claim is proven when a
payment from the account pays the plate's stays (which only someone willing to pay the
plate's debt does), or when staff (admin, bureau) approve it. Staff alone decide a claim
for a plate linked to another account; approving it ends the other link.

One rule says which stays are an account's: those of a linked plate that began at or after
the link was proven (`stay_is_the_accounts`). The automatic charge, the reminders and
notices, and the driver's own listings all use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, select
from sqlalchemy.orm import Session

from billing.models import (
    CLAIM_PENDING,
    CLAIM_PROVEN,
    CLAIM_REFUSED,
    PROOF_PAYMENT,
    PROOF_STAFF,
    SUCCEEDED,
    DriverPlate,
    Notice,
    Payment,
    PaymentAllocation,
    PlateClaim,
    StayFee,
)
from identity.models import DriverAccount
from parking.errors import ConflictError, NotFoundError
from parking.models import District, Stay

PLATE_UNLINKED = "plate_unlinked"  # Notice.kind: another driver proved the plate is theirs


class UnknownClaimError(NotFoundError):
    code = "unknown_claim"


class ClaimDecidedError(ConflictError):
    code = "claim_decided"


def stay_is_the_accounts(started_at: Any = Stay.started_at) -> ColumnElement[bool]:
    """The one rule for whose stay it is (join `DriverPlate` on it): a stay belongs to the
    account its plate is linked to if it began at or after the link was proven. A plate's
    earlier stays, its former driver's among them, are never charged to, listed for or
    told to the account."""
    return and_(DriverPlate.plate == Stay.plate, started_at >= DriverPlate.linked_at)


def linked_plates(db: Session, account: DriverAccount) -> list[str]:
    return list(
        db.scalars(
            select(DriverPlate.plate).where(DriverPlate.account_id == account.id).order_by(DriverPlate.plate)
        )
    )


def pending_plates(db: Session, account: DriverAccount) -> list[str]:
    return list(
        db.scalars(
            select(PlateClaim.plate)
            .where(PlateClaim.account_id == account.id, PlateClaim.status == CLAIM_PENDING)
            .order_by(PlateClaim.plate)
        )
    )


def link_plate(db: Session, account: DriverAccount, plate: str, now: datetime) -> None:
    """Record a proven link from `now` (linking a plate already the account's changes
    nothing). Only proofs call this: a driver's request is `request_link`."""
    row = db.get(DriverPlate, plate)
    if row is not None and row.account_id == account.id:
        return
    if row is not None:
        _end_link(db, row, now)
    db.add(DriverPlate(plate=plate, account_id=account.id, linked_at=now))
    db.flush()


def request_link(
    db: Session, account: DriverAccount, district: District, plate: str, evidence: str | None, now: datetime
) -> PlateClaim | None:
    """The account's pending claim for a (normalised) plate: a new one, or the one already
    open. None when the plate is the account's already. Whether the plate is linked to
    another account is not told."""
    row = db.get(DriverPlate, plate)
    if row is not None and row.account_id == account.id:
        return None
    claim = db.scalar(
        select(PlateClaim).where(
            PlateClaim.account_id == account.id, PlateClaim.plate == plate, PlateClaim.status == CLAIM_PENDING
        )
    )
    if claim is None:
        claim = PlateClaim(
            account_id=account.id,
            district_id=district.id,
            plate=plate,
            status=CLAIM_PENDING,
            evidence=evidence,
            created_at=now,
        )
        db.add(claim)
        db.flush()
    elif evidence:
        claim.evidence = evidence
    return claim


def prove_by_payment(db: Session, account: DriverAccount, now: datetime) -> list[str]:
    """Link the plates of the account's pending claims whose stays a succeeded payment of
    the account paid, a payment made after the claim; not a plate linked to another
    account (staff decide those). Returns the plates linked."""
    paid_for_plate = exists().where(
        Payment.account_id == account.id,
        Payment.status == SUCCEEDED,
        Payment.created_at >= PlateClaim.created_at,
        PaymentAllocation.payment_id == Payment.id,
        StayFee.stay_id == PaymentAllocation.stay_id,
        StayFee.plate == PlateClaim.plate,
    )
    linked_elsewhere = exists().where(
        DriverPlate.plate == PlateClaim.plate, DriverPlate.account_id != account.id
    )
    claims = db.scalars(
        select(PlateClaim).where(
            PlateClaim.account_id == account.id,
            PlateClaim.status == CLAIM_PENDING,
            paid_for_plate,
            ~linked_elsewhere,
        )
    ).all()
    for claim in claims:
        _prove(db, claim, account, PROOF_PAYMENT, None, now)
    return [claim.plate for claim in claims]


def list_claims(db: Session, district: District, status: str) -> list[tuple[PlateClaim, str, bool]]:
    """The district's claims in `status`, oldest first: (claim, the account's email,
    whether the plate is linked to another account now)."""
    elsewhere = exists().where(
        DriverPlate.plate == PlateClaim.plate, DriverPlate.account_id != PlateClaim.account_id
    )
    rows = db.execute(
        select(PlateClaim, DriverAccount.email, elsewhere)
        .join(DriverAccount, DriverAccount.id == PlateClaim.account_id)
        .where(PlateClaim.district_id == district.id, PlateClaim.status == status)
        .order_by(PlateClaim.created_at, PlateClaim.id)
        .limit(500)
    ).all()
    return [(claim, email, bool(linked)) for claim, email, linked in rows]


def claimant_of(db: Session, claim: PlateClaim) -> tuple[str, bool]:
    """(the claiming account's email, whether the plate is linked to another account now)."""
    email = db.get_one(DriverAccount, claim.account_id).email
    link = db.get(DriverPlate, claim.plate)
    return email, link is not None and link.account_id != claim.account_id


def decide_claim(
    db: Session, district: District, claim_uuid: str, approve: bool, staff_name: str, now: datetime
) -> PlateClaim:
    """Staff approve a claim (the plate is linked to the claimant from now; a link to
    another account ends, and that account is told) or refuse it."""
    claim = db.scalar(
        select(PlateClaim).where(PlateClaim.uuid == claim_uuid, PlateClaim.district_id == district.id)
    )
    if claim is None:
        raise UnknownClaimError(f"no plate claim {claim_uuid} in {district.slug}", ["claim"])
    if claim.status != CLAIM_PENDING:
        raise ClaimDecidedError(f"the claim was {claim.status} already", ["claim"])
    if not approve:
        claim.status, claim.decided_at, claim.decided_by = CLAIM_REFUSED, now, staff_name
        db.flush()
        return claim
    _prove(db, claim, db.get_one(DriverAccount, claim.account_id), PROOF_STAFF, staff_name, now)
    return claim


def _prove(
    db: Session, claim: PlateClaim, account: DriverAccount, proof: str, staff_name: str | None, now: datetime
) -> None:
    claim.status, claim.proof, claim.decided_at, claim.decided_by = CLAIM_PROVEN, proof, now, staff_name
    link_plate(db, account, claim.plate, now)


def _end_link(db: Session, row: DriverPlate, now: datetime) -> None:
    """End another account's link, and tell that account (not who proved the plate)."""
    message = f"Plate {row.plate} is no longer linked to your account: its owner proved it is theirs."
    db.add(Notice(account_id=row.account_id, kind=PLATE_UNLINKED, message=message, created_at=now))
    db.execute(
        delete(DriverPlate).where(DriverPlate.plate == row.plate).execution_options(synchronize_session=False)
    )
    db.expunge(row)
