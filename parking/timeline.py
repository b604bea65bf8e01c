"""The bay timeline: a pure fold of one bay's events, in event-time order, into stays.

The rules (docs/TIMELINE.md says why):
- Order: by event time; at one instant ends before starts before plate reads, then event id.
- park_start on a vacant bay opens a stay, unless the last stay ended by a park_end at this
  very instant with a compatible plate: a feed that cuts a record at a boundary, so the
  stay goes on (`boundary_merge`).
- park_start on an occupied bay is the same vehicle when the plates are compatible or the
  start was entered in person (`start_on_occupied_same_vehicle`); otherwise the first
  vehicle left unseen: its stay ends at this instant and a new one opens
  (`start_on_occupied_new_vehicle`). A stay nobody read a plate of is no evidence for a
  plated start PLATELESS_JOIN_LIMIT or more after it began: that is a new vehicle too
  (`start_after_long_plateless_stay`), so one late plateless start cannot stretch a plated
  stay back over days.
- park_end closes the open stay; on a vacant bay it is ignored (`end_on_vacant`).
- a plate read joins the open stay and replaces its plate when trusted at least as much;
  on a vacant bay it is ignored (`plate_read_on_vacant`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from parking.plates import plate_score

PARK_START = "park_start"
PARK_END = "park_end"
PLATE_READ = "plate_read"
_RANK = {PARK_END: 0, PARK_START: 1, PLATE_READ: 2}
TIMELINE_KINDS = frozenset(_RANK)
# A plateless stay and a plated start this far apart are two vehicles (docs/TIMELINE.md).
PLATELESS_JOIN_LIMIT = timedelta(hours=12)


@dataclass(frozen=True)
class TimelineEvent:
    event_id: str
    kind: str
    at: datetime
    source: str
    plate: str | None = None
    plate_confidence: int | None = None

    @property
    def key(self) -> tuple[datetime, int, str]:
        return (self.at, _RANK[self.kind], self.event_id)


@dataclass
class DerivedStay:
    start_event_id: str
    started_at: datetime
    event_ids: list[str]
    sources: list[str]
    plate: str | None = None
    plate_confidence: int | None = None
    plate_source: str | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_event_id: str | None = None
    stay_id: int | None = None

    @property
    def plate_score(self) -> int:
        if self.plate is None or self.plate_source is None:
            return -1
        return plate_score(self.plate_source, self.plate_confidence)


@dataclass(frozen=True)
class Anomaly:
    event_id: str
    kind: str
    at: datetime


@dataclass
class Timeline:
    """Where a bay's fold stands: its open stay, its last closed one, and what changed."""

    open: DerivedStay | None = None
    last_closed: DerivedStay | None = None
    touched: list[DerivedStay] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    _touched_ids: set[int] = field(default_factory=set, repr=False)

    def apply(self, events: Iterable[TimelineEvent]) -> Timeline:
        for event in sorted(events, key=lambda e: e.key):
            if event.kind == PARK_START:
                self._start(event)
            elif event.kind == PARK_END:
                self._end(event)
            else:
                self._plate_read(event)
        return self

    def _start(self, event: TimelineEvent) -> None:
        if self.open is None:
            last = self.last_closed
            if (
                last is not None
                and last.ended_by == "event"
                and last.ended_at == event.at
                and _plates_compatible(last.plate, event.plate)
            ):
                last.ended_at = last.ended_by = last.end_event_id = None
                self.open, self.last_closed = last, None
                self._join(last, event)
                self._note(event, "boundary_merge")
            else:
                self._open(event)
        elif _long_plateless(self.open, event):
            self._close(event.at, "implicit", None)
            self._open(event)
            self._note(event, "start_after_long_plateless_stay")
        elif event.source == "in_person" or _plates_compatible(self.open.plate, event.plate):
            self._join(self.open, event)
            self._note(event, "start_on_occupied_same_vehicle")
        else:
            self._close(event.at, "implicit", None)
            self._open(event)
            self._note(event, "start_on_occupied_new_vehicle")

    def _end(self, event: TimelineEvent) -> None:
        if self.open is None:
            self._note(event, "end_on_vacant")
            return
        stay = self.open
        self._join(stay, event, take_plate=False)
        self._close(event.at, "event", event.event_id)

    def _plate_read(self, event: TimelineEvent) -> None:
        if self.open is None:
            self._note(event, "plate_read_on_vacant")
        else:
            self._join(self.open, event)

    def _open(self, event: TimelineEvent) -> None:
        stay = DerivedStay(event.event_id, event.at, event_ids=[], sources=[])
        self.open = stay
        self._join(stay, event)

    def _close(self, at: datetime, ended_by: str, end_event_id: str | None) -> None:
        stay = self.open
        assert stay is not None
        stay.ended_at, stay.ended_by, stay.end_event_id = at, ended_by, end_event_id
        self.open, self.last_closed = None, stay
        self._touch(stay)  # an implicit end changes a stay that no event of this fold joined

    def _join(self, stay: DerivedStay, event: TimelineEvent, take_plate: bool = True) -> None:
        stay.event_ids.append(event.event_id)
        if event.source not in stay.sources:
            stay.sources.append(event.source)
            stay.sources.sort()
        trusted = event.plate is not None and (
            plate_score(event.source, event.plate_confidence) >= stay.plate_score
        )
        if take_plate and trusted:
            stay.plate = event.plate
            stay.plate_confidence = event.plate_confidence
            stay.plate_source = event.source
        self._touch(stay)

    def _touch(self, stay: DerivedStay) -> None:
        if id(stay) not in self._touched_ids:
            self._touched_ids.add(id(stay))
            self.touched.append(stay)

    def _note(self, event: TimelineEvent, kind: str) -> None:
        self.anomalies.append(Anomaly(event.event_id, kind, event.at))


def _long_plateless(stay: DerivedStay, start: TimelineEvent) -> bool:
    """A plated start from a camera or feed long after a stay with no plate began: nothing
    says it is the same vehicle (an in-person start is itself the evidence)."""
    return (
        stay.plate is None
        and start.plate is not None
        and start.source != "in_person"
        and start.at - stay.started_at >= PLATELESS_JOIN_LIMIT
    )


def _plates_compatible(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b
