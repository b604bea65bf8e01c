"""Re-deriving every timeline from the event log (the archive and the hot log), and saying
where storage differed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.models import Bay, District
from parking.stays import rebuild_bay
from parking.timeline import DerivedStay, TimelineEvent
from sensors.archive import archived_timeline_events
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
    archive: Path | None = None,
) -> RebuildReport:
    """Rebuild every bay (of one district, or all) and compare with what was stored. With
    `archive`, each district's archived events are folded in with its hot log's, in event
    order, each event_id once."""
    query = select(Bay.id, Bay.name, District.slug).join(District, District.id == Bay.district_id)
    if slug is not None:
        query = query.where(District.slug == slug)
    report = RebuildReport()
    archived: dict[str, dict[int, list[TimelineEvent]]] = {}
    for bay_id, name, district in db.execute(query.order_by(Bay.id)).all():
        if archive is not None and district not in archived:
            archived[district] = archived_timeline_events(archive, district)
        load = _with_archived(archived.get(district, {}))
        derived, stored = rebuild_bay(db, bay_id, load(db, {bay_id: None})[bay_id], now)
        report.bays += 1
        report.stays += len(derived)
        report.differences.extend(_compare(name, derived, stored))
        on_bay(1)
    return report


def _with_archived(
    archived: Mapping[int, list[TimelineEvent]],
) -> Callable[[Session, Mapping[int, datetime | None]], dict[int, list[TimelineEvent]]]:
    """The hot log's loader, with the archived events of each bay (at or after its time)
    added, but for those the hot log holds too (the timeline sorts them into event order)."""

    def load(db: Session, since_by_bay: Mapping[int, datetime | None]) -> dict[int, list[TimelineEvent]]:
        hot = load_timeline_events(db, since_by_bay)
        for bay_id, since in since_by_bay.items():
            old = archived.get(bay_id)
            if old:
                known = {e.event_id for e in hot[bay_id]}
                hot[bay_id].extend(
                    e for e in old if e.event_id not in known and (since is None or e.at >= since)
                )
        return hot

    return load


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
