"""Ending violations when the vehicle leaves (or its stay is re-derived away, or an
unregistered stay gets its plate), and withdrawing those that late events show were never
broken, unless someone acted on them; the tasks nobody took go with them. Set-based and
idempotent, like writing them (enforcement/violations.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from enforcement.models import (
    CANCELLED,
    RESOLVED,
    TAKEN,
    UNREGISTERED,
    UNTAKEN,
    Citation,
    Task,
    Violation,
)
from parking.models import Stay

# Late events older than this no longer withdraw a violation (the look-up stays bounded;
# an older mistake is for the citation's appeal).
WITHDRAWAL_WINDOW = timedelta(days=7)


def end_violations(db: Session, district_id: int, now: datetime) -> tuple[int, int]:
    """End the open violations whose vehicle has left (at the stay's end), whose stay was
    re-derived away by late events (now), and the unregistered ones whose stay now has a plate
    (now); then cancel their tasks nobody took. Returns (ended, cancelled)."""
    still_open = and_(Violation.district_id == district_id, Violation.ended_at.is_(None))
    stay_ended = select(Stay.ended_at).where(Stay.id == Violation.stay_id).scalar_subquery()
    ended = _update(
        db,
        update(Violation)
        .where(still_open, exists().where(Stay.id == Violation.stay_id, Stay.ended_at.is_not(None)))
        .values(ended_at=stay_ended),
    )
    ended += _update(
        db,
        update(Violation)
        .where(still_open, ~exists().where(Stay.id == Violation.stay_id))
        .values(ended_at=now),
    )
    ended += _update(
        db,
        update(Violation)
        .where(
            still_open,
            Violation.rule == UNREGISTERED,
            exists().where(Stay.id == Violation.stay_id, Stay.plate.is_not(None)),
        )
        .values(ended_at=now),
    )
    cancelled = _update(
        db,
        update(Task)
        .where(
            Task.district_id == district_id,
            Task.status.in_(UNTAKEN),
            Task.violation_id.is_not(None),
            exists().where(Violation.id == Task.violation_id, Violation.ended_at.is_not(None)),
        )
        .values(status=CANCELLED, resolved_at=now, outcome="violation_ended"),
    )
    return ended, cancelled


def withdraw_violations(
    db: Session, district_id: int, now: datetime, window: timedelta = WITHDRAWAL_WINDOW
) -> tuple[int, int]:
    """Withdraw the violations that late events disproved: their stay now ends no later than
    the instant the rule was first broken, so it never broke it. Their untaken tasks are
    cancelled; a violation nobody acted on (no citation, no task taken) is deleted, the others
    are kept, ended at the stay's end (so `ended_at <= started_at` marks them) with
    `withdrawn_at` in their evidence. Only violations that began within `window` of `now`
    are looked at. Returns (withdrawn, tasks cancelled)."""
    disproved = db.execute(
        select(Violation.id, _acted_on().label("acted_on"))
        .join(Stay, Stay.id == Violation.stay_id)
        .where(
            Violation.district_id == district_id,
            Violation.started_at >= now - window,
            or_(Violation.ended_at.is_(None), Violation.ended_at > Violation.started_at),
            Stay.ended_at <= Violation.started_at,
        )
    ).all()
    if not disproved:
        return 0, 0
    cancelled = _update(
        db,
        update(Task)
        .where(Task.violation_id.in_([v.id for v in disproved]), Task.status.in_(UNTAKEN))
        .values(status=CANCELLED, resolved_at=now, outcome="violation_withdrawn"),
    )
    unused = [v.id for v in disproved if not v.acted_on]
    if unused:
        db.execute(
            delete(Violation).where(Violation.id.in_(unused)).execution_options(synchronize_session=False)
        )
    kept = db.scalars(select(Violation).where(Violation.id.in_([v.id for v in disproved if v.acted_on])))
    for violation in kept:  # rare: a warden or a citation got there first
        violation.ended_at = db.scalar(select(Stay.ended_at).where(Stay.id == violation.stay_id))
        violation.evidence = {**violation.evidence, "withdrawn_at": now.isoformat()}
    db.flush()
    return len(disproved), cancelled


def _acted_on() -> Any:
    """Whether anyone acted on the violation: cited it, or took one of its tasks."""
    return or_(
        exists().where(Citation.violation_id == Violation.id),
        exists().where(Task.violation_id == Violation.id, Task.status.in_((TAKEN, RESOLVED))),
    )


def _update(db: Session, statement: Any) -> int:
    result = db.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
