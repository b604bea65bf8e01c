"""Citations issued for violations at the fine in force, and their status changes (appeal,
decision, void, payment), each written to the citation's audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.fines import fine_in_force
from enforcement.models import APPEALED, ISSUED, VOIDED, Citation, CitationChange, Violation
from enforcement.rules import CitationTransitionError, next_citation_status
from parking.errors import N_, ConflictError, Message, NotFoundError
from parking.models import District


class UnknownViolationError(NotFoundError):
    code = "unknown_violation"


class UnknownCitationError(NotFoundError):
    code = "unknown_citation"


class CitationExistsError(ConflictError):
    code = "citation_exists"


def issue_citation(
    db: Session, district: District, violation_uuid: str, issued_by: str, now: datetime
) -> Citation:
    """Cite a violation at the district's fine for its rule. A violation carries at most one
    citation that is not voided."""
    violation = db.scalars(
        select(Violation).where(Violation.district_id == district.id, Violation.uuid == violation_uuid)
    ).first()
    if violation is None:
        raise UnknownViolationError(
            Message(
                N_("no violation %(violation)s in %(district)s"),
                {"violation": violation_uuid, "district": district.slug},
            )
        )
    fine = fine_in_force(db, district, violation.rule, now)
    standing = db.scalars(
        select(Citation.uuid).where(Citation.violation_id == violation.id, Citation.status != VOIDED)
    ).first()
    if standing is not None:
        raise CitationExistsError(
            Message(
                N_("violation %(violation)s is already cited (%(citation)s)"),
                {"violation": violation_uuid, "citation": standing},
            )
        )
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
        fine_id=fine.id,
    )
    db.add(citation)
    db.flush()
    _audit(db, citation, None, issued_by, now)
    return citation


def change_citation_status(
    db: Session,
    district: District,
    citation_uuid: str,
    status: str,
    now: datetime,
    *,
    by: str = "system",
    reason: str | None = None,
) -> Citation:
    """Move a citation along: issued -> paid | appealed | voided, appealed -> upheld | voided,
    upheld -> paid. Anything else raises `CitationTransitionError`. Every move is audited."""
    citation = find_citation(db, district, citation_uuid)
    before = citation.status
    citation.status = next_citation_status(before, status)
    citation.updated_at = now
    db.flush()
    _audit(db, citation, before, by, now, reason)
    return citation


def find_citation(db: Session, district: District, citation_uuid: str) -> Citation:
    citation = db.scalars(
        select(Citation).where(Citation.district_id == district.id, Citation.uuid == citation_uuid)
    ).first()
    if citation is None:
        raise UnknownCitationError(
            Message(
                N_("no citation %(citation)s in %(district)s"),
                {"citation": citation_uuid, "district": district.slug},
            )
        )
    return citation


def violation_rule(db: Session, citation: Citation) -> str | None:
    """The rule the citation's violation broke, or None without one."""
    violation = db.get(Violation, citation.violation_id)
    return violation.rule if violation else None


def citation_history(db: Session, citation: Citation) -> list[CitationChange]:
    """The citation's audit trail, oldest first."""
    return list(
        db.scalars(
            select(CitationChange)
            .where(CitationChange.citation_id == citation.id)
            .order_by(CitationChange.changed_at, CitationChange.id)
        )
    )


def _audit(
    db: Session, citation: Citation, before: str | None, by: str, now: datetime, reason: str | None = None
) -> None:
    db.add(
        CitationChange(
            citation_id=citation.id,
            from_status=before,
            to_status=citation.status,
            reason=reason,
            changed_by=by,
            changed_at=now,
        )
    )
    db.flush()


def decide_appeal(
    db: Session, district: District, citation_uuid: str, outcome: str, now: datetime, *, by: str, reason: str
) -> Citation:
    """The bureau decides an appealed citation: upheld (the fine stands) or voided."""
    citation = find_citation(db, district, citation_uuid)
    if citation.status != APPEALED:
        raise CitationTransitionError(f"only an appealed citation can be decided; it is {citation.status}")
    return change_citation_status(db, district, citation_uuid, outcome, now, by=by, reason=reason)
