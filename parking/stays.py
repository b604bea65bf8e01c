"""Keeping stored stays equal to a fresh replay of each bay's events.

In-order events (all later than the bay's last event) continue the fold from the bay's
open stay. A late or out-of-order event re-derives the bay from the earliest stay it can
touch; stays it does not change keep their ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.orm import Session

from parking.models import Bay, Stay, TimelineAnomaly
from parking.timeline import Anomaly, DerivedStay, Timeline, TimelineEvent

# Loads a bay's timeline events at or after a time (the event log lives in `sensors`,
# which imports this package, so the caller hands the loader in).
_STAY = Stay.__table__
EventLoader = Callable[[Session, int, datetime | None], Sequence[TimelineEvent]]


@dataclass
class ApplyStats:
    bays: int = 0
    rederived_bays: int = 0
    anomalies: dict[str, int] = field(default_factory=dict)


def apply_timeline_events(
    db: Session,
    events_by_bay: Mapping[int, list[TimelineEvent]],
    load_events: EventLoader,
    now: datetime,
) -> ApplyStats:
    """Fold newly logged events into their bays' stays. The events are already in the log."""
    stats = ApplyStats(bays=len(events_by_bay))
    if not events_by_bay:
        return stats
    bays = db.scalars(
        select(Bay).where(Bay.id.in_(sorted(events_by_bay))).order_by(Bay.id).with_for_update()
    ).all()
    open_ids = [b.open_stay_id for b in bays if b.open_stay_id is not None]
    open_stays = {s.id: s for s in db.execute(select(_STAY).where(_STAY.c.id.in_(open_ids)))}

    for bay in bays:
        new = events_by_bay[bay.id]
        earliest = min(e.at for e in new)
        if bay.last_event_at is None or earliest > bay.last_event_at:
            row = open_stays.get(bay.open_stay_id) if bay.open_stay_id else None
            timeline = Timeline(open=_derived(row) if row else None).apply(new)
            _store(db, bay, timeline, replaced=[], now=now)
        else:
            stats.rederived_bays += 1
            timeline = _rederive(db, bay, earliest, load_events, now)
        latest = max(e.at for e in new)
        if bay.last_event_at is None or latest > bay.last_event_at:
            bay.last_event_at = latest
        _count(stats, timeline)
    return stats


def rebuild_bay(
    db: Session, bay: Bay, load_events: EventLoader, now: datetime
) -> tuple[list[DerivedStay], list[DerivedStay]]:
    """Re-derive a bay from its whole log. Returns the derived stays and the stored ones
    as they were, so the caller can report any difference."""
    before = list(
        db.execute(select(_STAY).where(_STAY.c.bay_id == bay.id).order_by(_STAY.c.started_at))
    )
    snapshot = [_derived(s) for s in before]
    events = load_events(db, bay.id, None)
    timeline = Timeline().apply(events)
    db.execute(delete(TimelineAnomaly).where(TimelineAnomaly.bay_id == bay.id))
    _store(db, bay, timeline, replaced=before, now=now)
    bay.last_event_at = max((e.at for e in events), default=None)
    return timeline.touched, snapshot


def _rederive(
    db: Session, bay: Bay, earliest: datetime, load_events: EventLoader, now: datetime
) -> Timeline:
    stay = _STAY.c
    affected = list(
        db.execute(
            select(_STAY)
            .where(stay.bay_id == bay.id, stay.ended_at.is_(None) | (stay.ended_at >= earliest))
            .order_by(stay.started_at)
        )
    )
    start = min([earliest, *(s.started_at for s in affected)])
    previous = db.execute(
        select(_STAY)
        .where(stay.bay_id == bay.id, stay.ended_at < earliest)
        .order_by(stay.ended_at.desc(), stay.started_at.desc())
        .limit(1)
    ).first()
    consumed = set(previous.event_ids) if previous else set()
    events = [e for e in load_events(db, bay.id, start) if e.event_id not in consumed]
    db.execute(
        delete(TimelineAnomaly).where(TimelineAnomaly.bay_id == bay.id, TimelineAnomaly.at >= start)
    )
    last_closed = _derived(previous) if previous else None
    timeline = Timeline(last_closed=last_closed).apply(events)
    _store(db, bay, timeline, replaced=affected, now=now)
    return timeline


def _store(
    db: Session, bay: Bay, timeline: Timeline, replaced: Iterable[Row[Any]], now: datetime
) -> None:
    """Write the stays a fold touched; stays in `replaced` that it did not re-derive go."""
    by_start = {s.start_event_id: s for s in replaced}
    inserts: list[tuple[DerivedStay, dict[str, object]]] = []
    updates: list[dict[str, object]] = []
    for derived in timeline.touched:
        values = _row_values(bay, derived, now)
        old = by_start.pop(derived.start_event_id, None)
        if derived.stay_id is None and old is not None:
            derived.stay_id = old.id
        if derived.stay_id is None:
            inserts.append((derived, values))
        else:
            updates.append({"id": derived.stay_id, **values})
    gone = [s.id for s in by_start.values()]
    if gone:
        db.execute(delete(Stay).where(Stay.id.in_(gone)))
    if updates:
        db.execute(update(Stay), updates)
    if inserts:
        ids = db.scalars(
            insert(Stay).returning(Stay.id, sort_by_parameter_order=True),
            [values for _, values in inserts],
        ).all()
        for (derived, _), stay_id in zip(inserts, ids, strict=True):
            derived.stay_id = stay_id
    if timeline.anomalies:
        db.execute(
            insert(TimelineAnomaly),
            [_anomaly_values(bay, a) for a in timeline.anomalies],
        )
    _set_state(bay, timeline)


def _set_state(bay: Bay, timeline: Timeline) -> None:
    if timeline.open is not None:
        bay.state, bay.state_since = "occupied", timeline.open.started_at
        bay.open_stay_id = timeline.open.stay_id
        return
    bay.open_stay_id = None
    if timeline.last_closed is not None:
        bay.state, bay.state_since = "vacant", timeline.last_closed.ended_at
    elif bay.state != "vacant":
        bay.state = "vacant"
        bay.state_since = min((a.at for a in timeline.anomalies), default=bay.state_since)


def _row_values(bay: Bay, derived: DerivedStay, now: datetime) -> dict[str, object]:
    return {
        "district_id": bay.district_id,
        "bay_id": bay.id,
        "road_id": bay.road_id,
        "plate": derived.plate,
        "plate_confidence": derived.plate_confidence,
        "plate_source": derived.plate_source,
        "started_at": derived.started_at,
        "ended_at": derived.ended_at,
        "ended_by": derived.ended_by,
        "start_event_id": derived.start_event_id,
        "end_event_id": derived.end_event_id,
        "event_ids": list(derived.event_ids),
        "sources": list(derived.sources),
        "updated_at": now,
    }


def _anomaly_values(bay: Bay, anomaly: Anomaly) -> dict[str, object]:
    return {
        "district_id": bay.district_id,
        "bay_id": bay.id,
        "event_id": anomaly.event_id,
        "kind": anomaly.kind,
        "at": anomaly.at,
    }


def _derived(stay: Row[Any]) -> DerivedStay:
    return DerivedStay(
        start_event_id=stay.start_event_id,
        started_at=stay.started_at,
        event_ids=list(stay.event_ids),
        sources=list(stay.sources),
        plate=stay.plate,
        plate_confidence=stay.plate_confidence,
        plate_source=stay.plate_source,
        ended_at=stay.ended_at,
        ended_by=stay.ended_by,
        end_event_id=stay.end_event_id,
        stay_id=stay.id,
    )


def _count(stats: ApplyStats, timeline: Timeline) -> None:
    for anomaly in timeline.anomalies:
        stats.anomalies[anomaly.kind] = stats.anomalies.get(anomaly.kind, 0) + 1
