"""Fines as data: one amount per district and rule, versioned with effective dates like the
tariffs, so a citation is always issued at the fine in force when it is issued."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import FINE_RULES, Fine
from parking.errors import N_, InvalidInputError, Message, NotFoundError
from parking.models import District

# A fine set without an effective date has always been in force.
ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)
# The most a fine may be, in minor units: a typo of three extra zeros is refused.
MAX_FINE = 10_000_000


class InvalidFineError(InvalidInputError):
    code = "invalid_fine"


class NoFineError(NotFoundError):
    code = "no_fine"


def set_fine(
    db: Session,
    district: District,
    rule: str,
    amount: int,
    effective_from: datetime = ALWAYS,
    *,
    created_by: str | None = None,
    now: datetime | None = None,
) -> Fine:
    """Set the district's fine for `rule` from `effective_from` on, in minor units of its
    currency. Setting the same rule and date again corrects that version."""
    if rule not in FINE_RULES or not 0 <= amount <= MAX_FINE:
        raise InvalidFineError(
            Message(
                N_("a fine is for one of %(rules)s, from 0 to %(max)s"),
                {"rules": ", ".join(FINE_RULES), "max": MAX_FINE},
            ),
            ["rule", "amount"],
        )
    fine = db.scalars(
        select(Fine).where(
            Fine.district_id == district.id, Fine.rule == rule, Fine.effective_from == effective_from
        )
    ).first()
    if fine is None:
        fine = Fine(district_id=district.id, rule=rule, effective_from=effective_from)
        db.add(fine)
    fine.amount, fine.created_by, fine.created_at = amount, created_by, now
    db.flush()
    return fine


def fine_in_force(db: Session, district: District, rule: str, at: datetime) -> Fine:
    """The version of the district's fine for `rule` in force at `at`: the latest one that
    took effect at or before it."""
    fine = db.scalars(
        select(Fine)
        .where(Fine.district_id == district.id, Fine.rule == rule, Fine.effective_from <= at)
        .order_by(Fine.effective_from.desc())
        .limit(1)
    ).first()
    if fine is None:
        raise NoFineError(
            Message(
                N_("%(district)s has no fine for %(rule)s in force"),
                {"district": district.slug, "rule": rule},
            )
        )
    return fine


def list_fines(db: Session, district: District, at: datetime) -> list[tuple[Fine, bool]]:
    """Every version of every fine of the district, by rule then date, each with whether it
    is the one in force at `at`."""
    fines = list(
        db.scalars(
            select(Fine).where(Fine.district_id == district.id).order_by(Fine.rule, Fine.effective_from)
        )
    )
    in_force: dict[str, int] = {}
    for fine in fines:
        if fine.effective_from <= at:
            in_force[fine.rule] = fine.id
    return [(fine, in_force.get(fine.rule) == fine.id) for fine in fines]
