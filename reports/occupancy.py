"""Occupancy and stays of a place, folded by `parking.metrics` exactly as CDS Metrics folds
them, then summed over the place's bays per local hour."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import add

from parking.metrics import BayPlace, Hour, StayRow, Tallies, tally, unwatched_bays
from reports.devices import DeviceWatch
from reports.figures import HourSums, occupancy_percent


@dataclass(frozen=True)
class Folded:
    """The bays of a place, the local hours of the window, their tallies and the stays."""

    bays: list[BayPlace]
    hours: list[Hour]
    tallies: Tallies
    stays: list[StayRow]

    @property
    def rows_in_service(self) -> list[int]:
        return [row for row, bay in enumerate(self.bays) if bay.in_service]


def fold(
    bays: list[BayPlace], hours: list[Hour], stays: list[StayRow], watch: DeviceWatch, now: datetime
) -> Folded:
    """Tally the stays and the unwatched time of every bay over the hours (one pass)."""
    window = (hours[0].start, hours[-1].end)
    unwatched = unwatched_bays(bays, window, watch.feeds, watch.stakes, watch.sensing_outages(*window))
    return Folded(bays, hours, tally(bays, hours, stays, unwatched, now), stays)


def hour_sums(folded: Folded, rows: Sequence[int]) -> list[HourSums]:
    """Per hour, the occupied and unwatched seconds summed over the given bay rows."""
    tallies, width = folded.tallies, folded.tallies.width
    occupied = [0.0] * width
    unwatched = [0.0] * width
    for row in rows:
        span = slice(row * width, (row + 1) * width)
        occupied = list(map(add, occupied, tallies.occupied[span]))
        unwatched = list(map(add, unwatched, tallies.unwatched[span]))
    return [
        HourSums(hour.date, hour.hour, hour.seconds, occupied[i], unwatched[i])
        for i, hour in enumerate(folded.hours)
    ]


@dataclass(frozen=True)
class Bucket:
    """One point of a series: a local hour (day reports) or a local day."""

    label: str
    occupancy_percent: float | None
    stays: int


def series(
    bays: int,
    hours: Sequence[HourSums],
    starts: Sequence[datetime],
    end: datetime,
    folded: Folded,
    by_hour: bool,
) -> list[Bucket]:
    """Occupancy and stays started per bucket; `starts` are the UTC starts of `hours`, which
    end at `end`."""
    groups: dict[str, list[int]] = {}
    for i, hour in enumerate(hours):
        label = f"{hour.day.isoformat()}T{hour.hour:02d}:00" if by_hour else hour.day.isoformat()
        groups.setdefault(label, []).append(i)
    started = [0] * len(hours)
    for stay in folded.stays:
        if starts[0] <= stay.started_at < end:
            started[bisect.bisect_right(starts, stay.started_at) - 1] += 1
    return [
        Bucket(label, occupancy_percent(bays, (hours[i] for i in idx)), sum(started[i] for i in idx))
        for label, idx in groups.items()
    ]


def by_hour_of_day(bays: int, hours: Sequence[HourSums]) -> list[tuple[int, float | None]]:
    """Occupancy per local hour of day (0..23) over the period's days."""
    return [(h, occupancy_percent(bays, (x for x in hours if x.hour == h))) for h in range(24)]


def peak_hours(profile: Sequence[tuple[int, float | None]], count: int = 3) -> list[tuple[int, float]]:
    """The `count` hours of day with the highest occupancy (ties: the earlier hour first)."""
    known = [(hour, value) for hour, value in profile if value is not None]
    return sorted(known, key=lambda hv: (-hv[1], hv[0]))[:count]
