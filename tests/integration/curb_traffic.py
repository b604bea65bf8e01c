"""Seeded curb traffic full of the conflicts a timeline must settle, and how to deliver it.

`conflicting_traffic` writes each bay's life as a device feed would report it: arrivals with
and without plates, plate reads (some misread), departures, vehicles that leave unseen (the
next arrival ends their stay), a new arrival at the very instant of a departure, stray
departures on empty bays. `deliveries` deals it to concurrent writers so that one bay's
arrivals and departures go through different writers, out of order, some twice (by two
writers) and some late. `reference_stays` is the fold of the whole log, in memory.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from parking.clock import to_ms
from parking.inventory import BaySpec, add_road, ensure_district
from parking.timeline import Timeline, TimelineEvent
from sensors.cds import parse_event
from sensors.devices import create_device
from sensors.log import to_timeline_event

BAYS_PER_ROAD = 20


@dataclass(frozen=True)
class Curb:
    """A district of `bays` bays watched by one data feed, whose token every writer uses."""

    slug: str
    bay_names: dict[str, str]  # curb_space_id -> bay name
    feed_uuid: str
    feed_token: str

    @property
    def path(self) -> str:
        return f"/cds/{self.slug}/events/event"


def build_curb(db: Session, now: datetime, bays: int, slug: str = "crowd") -> Curb:
    district, _ = ensure_district(db, slug, now, name="Crowd", time_zone="Asia/Shanghai", currency="CNY")
    names: dict[str, str] = {}
    for r in range(-(-bays // BAYS_PER_ROAD)):
        count = min(BAYS_PER_ROAD, bays - r * BAYS_PER_ROAD)
        specs = [BaySpec(f"C{r:03d}-{n:02d}", 26.6 + r * 0.001, 106.6 + n * 0.00006) for n in range(count)]
        road = add_road(db, district, f"Road {r:03d}", specs, now)
        names.update({bay.uuid: bay.name for bay in road.bays})
    feed = create_device(db, district, "data_feed", now, name="FEED")
    return Curb(slug, names, feed.device.uuid, feed.token)


def conflicting_traffic(
    space_ids: Sequence[str], device_uuid: str, end: datetime, per_bay: int, seed: int
) -> list[dict[str, Any]]:
    """About `per_bay` events for each bay (a vehicle makes about three in 110 minutes), all
    before `end`, in time order."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for space in space_ids:
        made = _Bay(rng, space, device_uuid, end - timedelta(minutes=40 * per_bay))
        while len(made.events) < per_bay:
            made.visit()
        out += [e for e in made.events if e["event_time"] < to_ms(end)]
    out.sort(key=lambda e: (e["event_time"], e["event_id"]))
    return out


class _Bay:
    """One bay's reports, vehicle after vehicle."""

    def __init__(self, rng: random.Random, space: str, device_uuid: str, at: datetime) -> None:
        self.rng, self.space, self.device, self.at = rng, space, device_uuid, at
        self.events: list[dict[str, Any]] = []
        self.same_instant = False

    def visit(self) -> None:
        rng = self.rng
        if not self.same_instant:
            self.at += timedelta(milliseconds=rng.randint(1_000, 40 * 60_000))
            if rng.random() < 0.05:  # a departure nobody arrived for
                self._event("park_end", rng.choice(["camera", "data_feed"]))
                self.at += timedelta(milliseconds=rng.randint(1_000, 60_000))
        self.same_instant = False
        plate = f"贵A{rng.randrange(100_000):05d}"
        source = rng.choice(["camera", "camera", "data_feed", "in_person"])
        self._event("park_start", source, plate if rng.random() < 0.6 else None)
        stay_end = self.at + timedelta(milliseconds=rng.randint(60_000, 3 * 3600_000))
        for _ in range(rng.randint(0, 2)):
            read_at = self.at + (stay_end - self.at) * rng.random()
            misread = rng.random() < 0.2
            read = f"贵B{rng.randrange(100_000):05d}" if misread else plate
            self._event("vehicle_detected", "camera", read, rng.randint(30, 99), at=read_at)
        if rng.random() < 0.1:  # reported twice, by another source
            self._event("park_start", "in_person", plate, at=self.at + timedelta(seconds=30))
        self.at = stay_end
        if rng.random() < 0.8:
            self._event("park_end", source)
            self.same_instant = rng.random() < 0.15  # a feed that cuts a record here
        # else: the vehicle left unseen; the next arrival ends its stay

    def _event(
        self,
        kind: str,
        source: str,
        plate: str | None = None,
        confidence: int | None = None,
        at: datetime | None = None,
    ) -> None:
        ms = to_ms(at or self.at)
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "event_type": kind,
            "event_time": ms,
            "event_publication_time": ms,
            "curb_space_id": self.space,
            "data_source_type": source,
            "data_source_device_id": self.device,
        }
        if plate is not None:
            event["vehicle_license_plate"] = plate
        if confidence is not None:
            event["vehicle_license_plate_confidence"] = confidence
        self.events.append(event)


def deliveries(
    events: Sequence[dict[str, Any]],
    writers: int,
    seed: int,
    batch: int = 40,
    duplicate_share: float = 0.1,
    late_share: float = 0.05,
) -> list[list[list[dict[str, Any]]]]:
    """For each writer, its batches: events dealt at random (so one bay's arrivals and
    departures go through different writers), shuffled within windows of 25, a share also
    given to a second writer, and a share held back to the end (late)."""
    rng = random.Random(seed)
    late = set(rng.sample(range(len(events)), int(len(events) * late_share)))
    lanes: list[list[dict[str, Any]]] = [[] for _ in range(writers)]
    for i, event in enumerate(events):
        if i not in late:
            lanes[rng.randrange(writers)].append(event)
    for i in rng.sample(range(len(events)), int(len(events) * duplicate_share)):
        lane = lanes[rng.randrange(writers)]
        lane.insert(rng.randrange(len(lane) + 1), events[i])
    for lane in lanes:
        for start in range(0, len(lane), 25):
            window = lane[start : start + 25]
            rng.shuffle(window)
            lane[start : start + 25] = window
    for i in sorted(late):
        lanes[rng.randrange(writers)].append(events[i])
    return [[lane[i : i + batch] for i in range(0, len(lane), batch)] for lane in lanes]


def reference_stays(
    events: Sequence[dict[str, Any]], bay_names: dict[str, str]
) -> dict[tuple[str, str], Any]:
    """Each bay's stays folded from all its distinct events at once, keyed like `Snapshot`."""
    by_bay: dict[str, dict[str, TimelineEvent]] = defaultdict(dict)
    for item in events:
        e = parse_event(item)
        timeline_event = to_timeline_event(
            e.event_id, e.event_type, e.event_time, e.data_source_type, e.plate, e.plate_confidence
        )
        if timeline_event is not None and e.space_uuid is not None:
            by_bay[bay_names[e.space_uuid]][e.event_id] = timeline_event
    stays: dict[tuple[str, str], Any] = {}
    for name, bay_events in by_bay.items():
        for s in Timeline().apply(bay_events.values()).touched:
            stays[(name, s.start_event_id)] = (
                s.started_at,
                s.ended_at,
                s.ended_by,
                s.end_event_id,
                s.plate,
                s.plate_source,
                s.plate_confidence,
                tuple(s.event_ids),
                tuple(s.sources),
            )
    return stays
