"""Re-deriving every timeline from the event log, and saying where storage differed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.models import Bay, District
from parking.stays import rebuild_bay
from parking.timeline import DerivedStay
from sensors.log import load_timeline_events


@dataclass
class RebuildReport:
    bays: int = 0
    stays: int = 0
    differences: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = f"rebuilt {self.bays} bays, {self.stays} stays: "
        if not self.differences:
            return [head + "stored stays equal a fresh replay of the event log"]
        return [head + f"{len(self.differences)} differences", *self.differences]


def rebuild_districts(
    db: Session,
    slug: str | None,
    now: datetime,
    on_bay: Callable[[int], object] = lambda _: None,
) -> RebuildReport:
    """Rebuild every bay (of one district, or all) and compare with what was stored."""
    query = select(Bay.id, Bay.name).order_by(Bay.id)
    if slug is not None:
        query = query.join(District, District.id == Bay.district_id).where(District.slug == slug)
    report = RebuildReport()
    for bay_id, name in db.execute(query).all():
        derived, stored = rebuild_bay(db, bay_id, load_timeline_events, now)
        report.bays += 1
        report.stays += len(derived)
        report.differences.extend(_compare(name, derived, stored))
        on_bay(1)
    return report


def _fingerprint(stay: DerivedStay) -> tuple[object, ...]:
    return (
        stay.started_at,
        stay.ended_at,
        stay.ended_by,
        stay.plate,
        stay.plate_source,
        tuple(sorted(stay.event_ids)),
    )


def _compare(bay: str, derived: list[DerivedStay], stored: list[DerivedStay]) -> list[str]:
    fresh = {s.start_event_id: s for s in derived}
    old = {s.start_event_id: s for s in stored}
    out = []
    for key in sorted(old.keys() - fresh.keys()):
        out.append(f"bay {bay}: stored stay from {old[key].started_at.isoformat()} is not in the replay")
    for key in sorted(fresh.keys() - old.keys()):
        out.append(f"bay {bay}: replay has a stay from {fresh[key].started_at.isoformat()} not stored")
    for key in sorted(fresh.keys() & old.keys()):
        if _fingerprint(fresh[key]) != _fingerprint(old[key]):
            out.append(f"bay {bay}: stay from {old[key].started_at.isoformat()} differs from the replay")
    return out
