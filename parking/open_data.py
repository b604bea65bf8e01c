"""Open data: road-level hourly occupancy for anyone, blurred so no vehicle can be followed.

The rule (docs/OPEN_DATA.md):
- only roads (CDS zones) and local hours; never a bay, a stay, a plate or an event;
- an hour is published only once it has been over for `delay` (an hour by default);
- the occupancy of a road-hour is the CDS `occupancy_percent` (parking/metrics.py), rounded
  half up to a multiple of `round_to` percent (5);
- a road-hour in which fewer than `min_stays` (k = 5) stays were present (overlapped the hour)
  is suppressed: no figure at all; an hour the sensors mostly missed is `offline`.
Stay counts are used for the suppression test only and are never published.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from parking.metrics import OFFLINE, BayPlace, Hour, Interval, StayRow, aggregates, tally

OK, SUPPRESSED, OFFLINE_STATUS = "ok", "suppressed", "offline"


@dataclass(frozen=True)
class BlurRule:
    min_stays: int = 5
    round_to: int = 5
    delay: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class RoadHour:
    road_uuid: str
    hour: Hour
    occupancy_percent: int | None
    status: str


def published_hours(hours: Sequence[Hour], now: datetime, rule: BlurRule) -> list[Hour]:
    """The hours over for at least the delay."""
    return [h for h in hours if h.end + rule.delay <= now]


def round_percent(value: float, step: int) -> int:
    """Half up to a multiple of `step` (47.5 -> 50 with step 5)."""
    return int((value + step / 2) // step * step)


def blur(value: float, present: int, rule: BlurRule) -> tuple[int | None, str]:
    """(published occupancy, status) of a road-hour from its CDS figure and stays present."""
    if value == OFFLINE:
        return None, OFFLINE_STATUS
    if present < rule.min_stays:
        return None, SUPPRESSED
    return min(100, round_percent(value, rule.round_to)), OK


def stays_present(
    bays: Sequence[BayPlace], hours: Sequence[Hour], stays: Iterable[StayRow], now: datetime
) -> dict[tuple[str, int], int]:
    """Per (road uuid, hour index): how many stays overlapped the hour (open ones until now)."""
    road_of = {bay.bay_id: bay.road_uuid for bay in bays}
    starts = [h.start for h in hours]
    counts: dict[tuple[str, int], int] = {}
    for stay in stays:
        road = road_of.get(stay.bay_id)
        if road is None or not hours:
            continue
        end = stay.ended_at or max(now, stay.started_at)
        i = max(0, bisect.bisect_right(starts, stay.started_at) - 1)
        while i < len(hours) and hours[i].start < end:
            if hours[i].end > stay.started_at and end > hours[i].start:
                counts[(road, i)] = counts.get((road, i), 0) + 1
            i += 1
    return counts


def road_hours(
    bays: Sequence[BayPlace],
    hours: Sequence[Hour],
    stays: Sequence[StayRow],
    unwatched: Mapping[int, Sequence[Interval]],
    now: datetime,
    rule: BlurRule,
) -> list[RoadHour]:
    """The blurred road-hours of `hours` (give only published ones), roads in bay order."""
    tallies = tally(bays, hours, stays, unwatched, now)
    present = stays_present(bays, hours, stays, now)
    index = {(h.date, h.hour): i for i, h in enumerate(hours)}
    out: list[RoadHour] = []
    for row in aggregates(bays, hours, tallies, ("zone",), ("occupancy_percent",)):
        i = index[(row.date, row.hour)]
        value, status = blur(row.value, present.get((row.curb_place_id, i), 0), rule)
        out.append(RoadHour(row.curb_place_id, hours[i], value, status))
    return out
