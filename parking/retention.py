"""Plate retention: the plate text (and its key) of a settled stay is erased once the stay
ended more than the retention ago, with every copy of that plate the stay left behind
(docs/PRIVACY.md). Counts, times, fees and payments stay: every report reads the same after.

A plate is kept while its owner still has business with the district: arrears on its key,
a violation still going on, or a citation still to be paid or decided. Every statement is
set-based (a city ends half a million stays a day).

`parking` imports no other package and names no other package's table: each package erases
the copies in its own tables and says what keeps a plate there (billing/retention.py,
enforcement/retention.py, sensors/retention.py). The shell hands them in as one
`RetentionPlan` (`api/scheduler/jobs.py` `PLATE_RETENTION`); this module erases the stays
and runs the plan's steps in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Delete, Select, Update, null, or_, select, update
from sqlalchemy.orm import Session

from parking.models import District, Stay

# (district id, a plate key column) -> the plate behind the key is still needed.
Keeps = Callable[[int, Any], ColumnElement[bool]]


@dataclass(frozen=True)
class RetentionStep:
    """One package's erasure of the copies of plates in one of its tables, run once the
    stays have lost theirs: (db, district id, cutoff, what keeps a plate) -> rows erased."""

    name: str
    erase: Callable[[Session, int, datetime, Keeps], int]


@dataclass(frozen=True)
class RetentionPlan:
    """What every package contributes: its reasons to keep a plate, whether a stay still owes
    (billing's fees), and its erasures, in the order they run."""

    keeps: Sequence[Keeps]
    unsettled: Callable[[Any], ColumnElement[bool]]  # a stay's id column -> it still owes
    steps: Sequence[RetentionStep]

    def kept(self, district_id: int, key: Any) -> ColumnElement[bool]:
        return or_(*(keeps(district_id, key) for keeps in self.keeps))


@dataclass
class RetentionResult:
    """How many rows of each table lost their plate in one run."""

    erased: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.erased.values())

    def summary(self) -> str:
        parts = ", ".join(f"{n} {name}" for name, n in self.erased.items())
        return f"{self.total} plates erased ({parts})"


def erase_old_plates(
    db: Session, district: District, now: datetime, days: int, plan: RetentionPlan
) -> RetentionResult:
    """Erase the plates of the district's settled stays that ended more than `days` ago,
    then, through the plan's steps, of what those stays left behind (their fee, payments,
    events, ended violations and decided citations), of plate checks older than that, and
    delete plate claims decided, or left pending, since before then. Plates still owing,
    still in violation or still cited are kept. Idempotent: a second run erases nothing."""
    if days < 0:
        raise ValueError("the plate retention is a number of days, 0 or more")
    cutoff = now - timedelta(days=days)
    result = RetentionResult()
    # The stays first; each copy then goes when the stay it came from has lost its plate.
    result.erased["stays"] = run(db, _erase_stays(district.id, cutoff, plan))
    for step in plan.steps:
        result.erased[step.name] = step.erase(db, district.id, cutoff, plan.kept)
    return result


def erased_stays(district_id: int, cutoff: datetime) -> Select[int]:
    """The ids of the district's stays that ended before the cutoff and lost their plate."""
    return select(Stay.id).where(
        Stay.district_id == district_id, Stay.plate_key.is_(None), Stay.ended_at < cutoff
    )


def _erase_stays(district_id: int, cutoff: datetime, plan: RetentionPlan) -> Update:
    """Ended before the cutoff, settled (paid, free, or never priced: no tariff), not kept.
    Confidence and source go too: a replay of the erased events derives none."""
    return (
        update(Stay)
        .where(
            Stay.district_id == district_id,
            Stay.plate_key.is_not(None),
            Stay.ended_at < cutoff,
            ~plan.unsettled(Stay.id),
            ~plan.kept(district_id, Stay.plate_key),
        )
        .values(plate=None, plate_key=None, plate_confidence=None, plate_source=None)
        .execution_options(synchronize_session=False)
    )


def erase_plates(target: Any, district_id: int) -> Update:
    """UPDATE `target` (a table with district_id, plate and plate_key) SET plate and
    plate_key to NULL, for its rows of the district that still have a key."""
    return (
        update(target)
        .where(target.c.district_id == district_id, target.c.plate_key.is_not(None))
        .values(plate=null(), plate_key=null())
    )


def run(db: Session, statement: Update | Delete) -> int:
    """Send a set-based erasure; how many rows it changed."""
    result = db.execute(statement.execution_options(preserve_rowcount=True))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
