"""Fines per rule, citations issued for violations, and their status changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import ISSUED, RULES, VOIDED, Citation, Fine, Violation
from enforcement.rules import next_citation_status
from parking.errors import ConflictError, InvalidInputError, NotFoundError
from parking.models import District


class UnknownViolationError(NotFoundError):
    code = "unknown_violation"


class UnknownCitationError(NotFoundError):
    code = "unknown_citation"


class NoFineError(NotFoundError):
    code = "no_fine"


class CitationExistsError(ConflictError):
    code = "citation_exists"


class InvalidFineError(InvalidInputError):
    code = "invalid_fine"


def set_fine(db: Session, district: District, rule: str, amount: int) -> Fine:
    """Set the district's fine for `rule`, in minor units of its currency."""
    if rule not in RULES or amount < 0:
        raise InvalidFineError(
            f"a fine is for one of {', '.join(RULES)} and not negative", ["rule", "amount"]
        )
    fine = db.scalars(select(Fine).where(Fine.district_id == district.id, Fine.rule == rule)).first()
    if fine is None:
        fine = Fine(district_id=district.id, rule=rule, amount=amount)
        db.add(fine)
    fine.amount = amount
    db.flush()
    return fine


def issue_citation(
    db: Session, district: District, violation_uuid: str, issued_by: str, now: datetime
) -> Citation:
    """Cite a violation at the district's fine for its rule. A violation carries at most one
    citation that is not voided."""
    violation = db.scalars(
        select(Violation).where(Violation.district_id == district.id, Violation.uuid == violation_uuid)
    ).first()
    if violation is None:
        raise UnknownViolationError(f"no violation {violation_uuid} in {district.slug}")
    fine = db.scalars(
        select(Fine).where(Fine.district_id == district.id, Fine.rule == violation.rule)
    ).first()
    if fine is None:
        raise NoFineError(f"{district.slug} has no fine for {violation.rule}")
    standing = db.scalars(
        select(Citation.uuid).where(Citation.violation_id == violation.id, Citation.status != VOIDED)
    ).first()
    if standing is not None:
        raise CitationExistsError(f"violation {violation_uuid} is already cited ({standing})")
    citation = Citation(
        district_id=district.id,
        violation_id=violation.id,
        plate=violation.plate,
        amount=fine.amount,
        currency=district.currency,
        status=ISSUED,
        issued_by=issued_by,
        issued_at=now,
        updated_at=now,
    )
    db.add(citation)
    db.flush()
    return citation


def change_citation_status(
    db: Session, district: District, citation_uuid: str, status: str, now: datetime
) -> Citation:
    """Move a citation along: issued -> paid | appealed | voided, appealed -> upheld | voided,
    upheld -> paid. Anything else raises `CitationTransitionError`."""
    citation = db.scalars(
        select(Citation).where(Citation.district_id == district.id, Citation.uuid == citation_uuid)
    ).first()
    if citation is None:
        raise UnknownCitationError(f"no citation {citation_uuid} in {district.slug}")
    citation.status = next_citation_status(citation.status, status)
    citation.updated_at = now
    db.flush()
    return citation
