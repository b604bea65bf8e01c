"""Keeping stored stays equal to a fresh replay of each bay's events.

In-order events (all later than the bay's last event) continue the fold from the bay's
open stay. A late or out-of-order event re-derives the bay from the earliest stay it can
touch; stays it does not change keep their ids. Writes for a whole batch of bays are
gathered and sent as a few set-based statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, and_, delete, or_, select
from sqlalchemy.orm import Session

from parking.bay_write import MUTABLE, insert_stay_and_bay, update_stay_and_bay
from parking.db import insert_rows, keyed_read, update_rows
from parking.models import Bay, Stay, TimelineAnomaly, new_uuid
from parking.plates import plate_key_or_none
from parking.stay_rules import is_reaching, reaching
from parking.timeline import DerivedStay, Timeline, TimelineEvent

_STAY = cast(Table, Stay.__table__)
_BAY = cast(Table, Bay.__table__)
_ANOMALY = cast(Table, TimelineAnomaly.__table__)
# The columns of a bay that its fold reads and writes from.
FOLD_BAY_COLUMNS = tuple(
    _BAY.c[name]
    for name in ("id", "district_id", "road_id", "open_stay_id", "last_event_at", "state", "state_since")
)


def locking_bays(statement: Select[Any]) -> Select[Any]:
    """A read of bay rows (`FOLD_BAY_COLUMNS` among its columns, other tables joined as the
    caller needs) that takes the fold's lock on each bay it returns: in bay id order,
    FOR NO KEY UPDATE of the bay rows alone (see fold_new_events). A caller that reads the
    bays of a batch anyway hands the rows to `fold_new_events` as `locked`, sparing its read."""
    return statement.order_by(_BAY.c.id).with_for_update(key_share=True, of=_BAY)


# Built once (a single pushed event runs them too: building costs more than running them).
_LOCK_BAYS = keyed_read(locking_bays(select(*FOLD_BAY_COLUMNS)), _BAY.c.id)
_STAYS_BY_ID = keyed_read(select(_STAY), _STAY.c.id)
_Row = Any  # a Core row of the bay or stay table


@dataclass
class ApplyStats:
    bays: int = 0
    rederived_bays: int = 0
    anomalies: dict[str, int] = field(default_factory=dict)


@dataclass
class Folding:
    """New events folded into their bays, the writes not yet sent. Bays whose new events came
    late need their logged events from `needs` on (each bay's own time) before `finish_folding`:
    the event log belongs to `sensors`, which reads it and hands the events in, so the stays
    never call back into the package that logs them."""

    stats: ApplyStats
    writes: _Writes
    folds: list[Timeline]
    late: list[tuple[_Row, datetime, list[_Row]]]  # (bay, latest event, stays the re-fold replaces)
    needs: dict[int, datetime | None]


def fold_new_events(
    db: Session,
    events_by_bay: Mapping[int, list[TimelineEvent]],
    now: datetime,
    locked: Mapping[int, _Row] | None = None,
) -> Folding:
    """Fold newly logged events into their bays' stays, in order where they come after the
    bay's last event; for the bays where they do not, work out from when the bay must be
    folded again (`Folding.needs`). The events are already in the log.

    `locked`: the bays' rows by id, already read by a `locking_bays` read in this
    transaction (every bay of `events_by_bay` among them); otherwise the fold reads and locks
    them itself."""
    stats = ApplyStats(bays=len(events_by_bay))
    if not events_by_bay:
        return Folding(stats, _Writes(now), [], [], {})
    # One writer per bay, locked in id order. FOR NO KEY UPDATE, not FOR UPDATE: the events
    # another writer has just logged hold KEY SHARE locks on their bays (foreign key checks),
    # and FOR UPDATE would wait on those while that writer waits for ours (docs/TIMELINE.md).
    if locked is None:
        bays = _LOCK_BAYS.rows(db, sorted(events_by_bay))
    else:
        bays = [locked[bay_id] for bay_id in sorted(events_by_bay)]
    open_ids = [b.open_stay_id for b in bays if b.open_stay_id is not None]
    open_stays = {s.id: s for s in _STAYS_BY_ID.rows(db, open_ids)}
    writes = _Writes(now)
    late: list[tuple[_Row, datetime, datetime]] = []
    folds: list[Timeline] = []
    for bay in bays:
        new = events_by_bay[bay.id]
        earliest = min(e.at for e in new)
        latest = max(e.at for e in new)
        if bay.last_event_at is not None and latest < bay.last_event_at:
            latest = bay.last_event_at
        if bay.last_event_at is None or earliest > bay.last_event_at:
            row = open_stays.get(bay.open_stay_id) if bay.open_stay_id else None
            folds.append(Timeline(open=_derived(row) if row else None).apply(new))
            writes.add(bay, folds[-1], replaced=[], last_event_at=latest)
        else:
            late.append((bay, earliest, latest))
    stats.rederived_bays = len(late)
    starts, affected = _late_starts(db, late)
    return Folding(stats, writes, folds, [(bay, latest, affected[bay.id]) for bay, _, latest in late], starts)


def finish_folding(
    db: Session, folding: Folding, logged: Mapping[int, Sequence[TimelineEvent]]
) -> ApplyStats:
    """Fold the late bays again from their logged events (`logged`: each bay's events from
    `folding.needs` on), then send every write of the batch."""
    if folding.needs:
        db.execute(
            delete(_ANOMALY).where(
                or_(*(and_(_ANOMALY.c.bay_id == b, _ANOMALY.c.at >= s) for b, s in folding.needs.items()))
            )
        )
    for bay, latest, replaced in folding.late:
        folding.folds.append(Timeline().apply(logged.get(bay.id, [])))
        folding.writes.add(bay, folding.folds[-1], replaced=replaced, last_event_at=latest)
    stats = folding.stats
    for timeline in folding.folds:
        for anomaly in timeline.anomalies:
            stats.anomalies[anomaly.kind] = stats.anomalies.get(anomaly.kind, 0) + 1
    folding.writes.flush(db)
    return stats


def rebuild_bay(
    db: Session, bay_id: int, events: Sequence[TimelineEvent], now: datetime
) -> tuple[list[DerivedStay], list[DerivedStay]]:
    """Re-derive a bay from its whole log (`events`, in the log's order). Returns the derived
    stays and the stored ones as they were, so the caller can report any difference."""
    bay = db.execute(select(*FOLD_BAY_COLUMNS).where(_BAY.c.id == bay_id)).one()
    before = list(db.execute(select(_STAY).where(_STAY.c.bay_id == bay_id).order_by(_STAY.c.started_at)))
    timeline = Timeline().apply(events)
    db.execute(delete(_ANOMALY).where(_ANOMALY.c.bay_id == bay_id))
    writes = _Writes(now)
    writes.add(
        bay,
        timeline,
        replaced=before,
        last_event_at=max((e.at for e in events), default=None),
        from_scratch=True,
    )
    writes.flush(db)
    return timeline.touched, [_derived(s) for s in before]


def _late_starts(
    db: Session, late: list[tuple[_Row, datetime, datetime]]
) -> tuple[dict[int, datetime | None], dict[int, list[_Row]]]:
    """For each late bay, the time to fold it again from: the earliest time such that every
    stay still going at or after it begins at or after it, and the stays from then on (which
    the re-fold replaces). Before that time the bay was vacant and no stay can be reopened (a
    boundary merge needs an end at the very instant of a later start), so the fold starts
    empty and meets every event from then on. One query for the stays of every late bay."""
    if not late:
        return {}, {}
    stay = _STAY.c
    lower = min(earliest for _, earliest, _ in late)
    by_bay: dict[int, list[_Row]] = {bay.id: [] for bay, _, _ in late}
    rows = db.execute(select(_STAY).where(stay.bay_id.in_(by_bay), reaching(lower)).order_by(stay.started_at))
    for row in rows:
        by_bay[row.bay_id].append(row)
    starts: dict[int, datetime | None] = {}
    affected: dict[int, list[_Row]] = {}
    for bay, earliest, _ in late:
        bound = lower
        start, going = _start_of(by_bay[bay.id], earliest)
        while start < bound:  # the chain reaches before what was read: read this bay again
            bound = start
            start, going = _start_of(_stays_from(db, bay.id, bound), earliest)
        starts[bay.id], affected[bay.id] = start, going
    return starts, affected


def _start_of(stays: list[_Row], earliest: datetime) -> tuple[datetime, list[_Row]]:
    """Move `earliest` back to the start of every stay still going at or after it, until none
    is left; returns that time and the stays from it on."""
    start = earliest
    while True:
        going = [s for s in stays if is_reaching(s.ended_at, start)]
        moved = min([start, *(s.started_at for s in going)])
        if moved == start:
            return start, going
        start = moved


def _stays_from(db: Session, bay_id: int, start: datetime) -> list[_Row]:
    stay = _STAY.c
    query = select(_STAY).where(stay.bay_id == bay_id, reaching(start))
    return list(db.execute(query.order_by(stay.started_at)))


class _Writes:
    """Stay, anomaly and bay writes of many bays, sent as a handful of statements."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.inserts: list[tuple[DerivedStay, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        self.deletes: list[int] = []
        self.anomalies: list[dict[str, Any]] = []
        self.bays: list[tuple[_Row, Timeline, datetime | None, bool]] = []

    def add(
        self,
        bay: _Row,
        timeline: Timeline,
        replaced: Iterable[_Row],
        last_event_at: datetime | None,
        from_scratch: bool = False,
    ) -> None:
        """Stays the fold touched are written; `replaced` stays it did not re-derive go."""
        by_start = {s.start_event_id: s for s in replaced}
        for derived in timeline.touched:
            values = self._values(bay, derived)
            old = by_start.pop(derived.start_event_id, None)
            if derived.stay_id is None and old is not None:
                derived.stay_id = old.id
            if derived.stay_id is None:
                self.inserts.append((derived, {"uuid": new_uuid(), **values}))
            else:  # the bay, the start event and so the start time never change
                self.updates.append({"id": derived.stay_id, **{k: values[k] for k in MUTABLE}})
        self.deletes.extend(s.id for s in by_start.values())
        self.anomalies.extend(
            {
                "district_id": bay.district_id,
                "bay_id": bay.id,
                "event_id": a.event_id,
                "kind": a.kind,
                "at": a.at,
            }
            for a in timeline.anomalies
        )
        self.bays.append((bay, timeline, last_event_at, from_scratch))

    def flush(self, db: Session) -> None:
        if self._one_stay_with_its_bay(db):
            return
        if self.deletes:
            db.execute(delete(_STAY).where(_STAY.c.id.in_(self.deletes)))
        update_rows(db, _STAY, self.updates)
        if self.inserts:
            keys = {(v["bay_id"], v["start_event_id"]): d for d, v in self.inserts}
            rows = insert_rows(
                db,
                _STAY,
                [values for _, values in self.inserts],
                returning=("id", "bay_id", "start_event_id"),
            )
            for row in rows:  # matched by the unique key
                keys[(row.bay_id, row.start_event_id)].stay_id = row.id
        insert_rows(db, _ANOMALY, self.anomalies)
        update_rows(db, _BAY, [_bay_state(*bay) for bay in self.bays])

    def _one_stay_with_its_bay(self, db: Session) -> bool:
        """On PostgreSQL, one bay and one stay (a single pushed event) in one statement
        (parking/bay_write.py). False, with nothing written, for other writes and on SQLite."""
        one_stay = len(self.inserts) + len(self.updates) == 1
        if len(self.bays) != 1 or not one_stay or self.deletes or self.anomalies:
            return False
        if db.get_bind().dialect.name != "postgresql":
            return False
        bay_row, timeline, last_event_at, from_scratch = self.bays[0]
        bay = _bay_state(bay_row, timeline, last_event_at, from_scratch)
        if self.updates:
            update_stay_and_bay(db, self.updates[0], bay)
        else:
            derived, values = self.inserts[0]
            derived.stay_id = insert_stay_and_bay(db, values, bay, opened=timeline.open is derived)
        return True

    def _values(self, bay: _Row, derived: DerivedStay) -> dict[str, Any]:
        return {
            "district_id": bay.district_id,
            "bay_id": bay.id,
            "road_id": bay.road_id,
            "plate": derived.plate,
            "plate_key": plate_key_or_none(derived.plate),
            "plate_confidence": derived.plate_confidence,
            "plate_source": derived.plate_source,
            "started_at": derived.started_at,
            "ended_at": derived.ended_at,
            "ended_by": derived.ended_by,
            "start_event_id": derived.start_event_id,
            "end_event_id": derived.end_event_id,
            "event_ids": list(derived.event_ids),
            "sources": list(derived.sources),
            "updated_at": self.now,
        }


def _bay_state(
    bay: _Row, timeline: Timeline, last_event_at: datetime | None, from_scratch: bool
) -> dict[str, Any]:
    """Where the bay stands after its fold: occupied by its open stay, or vacant since the
    last stay ended (or since its first event, when it has had no stay)."""
    state: dict[str, Any] = {"id": bay.id, "last_event_at": last_event_at}
    if timeline.open is not None:
        state.update(
            state="occupied", state_since=timeline.open.started_at, open_stay_id=timeline.open.stay_id
        )
    elif timeline.last_closed is not None:
        state.update(state="vacant", state_since=timeline.last_closed.ended_at, open_stay_id=None)
    elif bay.state == "vacant" and not from_scratch:  # stray events: still vacant, since the
        since = min([bay.state_since, *(a.at for a in timeline.anomalies)])  # earliest seen
        state.update(state="vacant", state_since=since, open_stay_id=None)
    elif last_event_at is not None:  # no stay yet: vacant since its first event
        first = min((a.at for a in timeline.anomalies), default=last_event_at)
        state.update(state="vacant", state_since=first, open_stay_id=None)
    else:
        state.update(state="unknown", state_since=None, open_stay_id=None)
    return state


def _derived(stay: _Row) -> DerivedStay:
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
