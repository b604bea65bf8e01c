"""Occupancy and stays of a place, folded by `parking.metrics` exactly as CDS Metrics folds
them, then summed over the place's bays per local hour."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import add
from typing import cast

from sqlalchemy.orm import Session

from parking.metrics import BayPlace, Hour, StayTuple, Tallies, tally, unwatched_bays
from parking.metrics_queries import load_bays, load_stay_tuples
from reports.devices import DeviceWatch
from reports.figures import HourSums, occupancy_percent


@dataclass(frozen=True)
class Folded:
    """The bays of a place, the local hours of the window, their tallies and the stays."""

    bays: list[BayPlace]
    hours: list[Hour]
    tallies: Tallies
    stays: list[StayTuple]  # (bay id, started at, ended at)

    @property
    def rows_in_service(self) -> list[int]:
        return [row for row, bay in enumerate(self.bays) if bay.in_service]


def core(db: Session) -> Session:
    """The session's connection, to hand to `parking.metrics` loaders: they only `execute` a
    Core select, and a connection runs it without the ORM's per-row work (half the time for
    a month's 170,000 stays). Same transaction, same rows."""
    return cast(Session, db.connection())


def load_place(
    db: Session, district_id: int, place: tuple[str, str] | None, start: datetime, end: datetime
) -> tuple[list[BayPlace], list[StayTuple]]:
    """The bays of the place and the stays overlapping [start, end), as CDS Metrics loads them."""
    connection = core(db)
    return load_bays(connection, district_id, place), list(
        load_stay_tuples(db, district_id, start, end, place)
    )


def fold(
    bays: list[BayPlace], hours: list[Hour], stays: list[StayTuple], watch: DeviceWatch, now: datetime
) -> Folded:
    """Tally the stays and the unwatched time of every bay over the hours (one pass)."""
    window = (hours[0].start, hours[-1].end)
    unwatched = unwatched_bays(bays, window, watch.feeds, watch.stakes, watch.sensing_outages(*window))
    return Folded(bays, hours, tally(bays, hours, stays, unwatched, now), stays)


def hour_sums(
    folded: Folded, rows: Sequence[int], sessions_of: Sequence[int] | None = None
) -> list[HourSums]:
    """Per hour, the occupied and unwatched seconds summed over the bay rows `rows`, and the
    stays started (with their dwell) summed over `sessions_of` (default: every bay of the
    place, in service or not, as CDS counts sessions)."""
    tallies = folded.tallies
    every = range(len(folded.bays))
    occupied, unwatched = (
        _column_sums(c, rows, tallies.width, len(every)) for c in (tallies.occupied, tallies.unwatched)
    )
    sessions, dwell, dwelled = (
        _column_sums(c, sessions_of or every, tallies.width, len(every))
        for c in (tallies.sessions, tallies.dwell, tallies.dwelled)
    )
    return [
        HourSums(
            hour.date,
            hour.hour,
            hour.seconds,
            occupied[i],
            unwatched[i],
            int(sessions[i]),
            dwell[i],
            int(dwelled[i]),
        )
        for i, hour in enumerate(folded.hours)
    ]


def _column_sums(column: Sequence[float], rows: Sequence[int], width: int, bays: int) -> list[float]:
    """Per hour, the column (bays x hours, row-major) summed over the rows."""
    if len(rows) == bays:  # every bay: one strided slice per hour, summed in C
        sums = [float(sum(column[i::width])) for i in range(width)]
    else:
        sums = [0.0] * width
        for row in rows:
            sums = list(map(add, sums, column[row * width : (row + 1) * width]))
    return sums


@dataclass(frozen=True)
class Bucket:
    """One point of a series: a local hour (day reports) or a local day."""

    label: str
    occupancy_percent: float | None
    stays: int


def series(bays: int, hours: Sequence[HourSums], by_hour: bool) -> list[Bucket]:
    """Occupancy and stays started per bucket (a local hour, or a local day)."""
    groups: dict[str, list[HourSums]] = {}
    for hour in hours:
        label = f"{hour.day.isoformat()}T{hour.hour:02d}:00" if by_hour else hour.day.isoformat()
        groups.setdefault(label, []).append(hour)
    return [
        Bucket(label, occupancy_percent(bays, group), sum(h.sessions for h in group))
        for label, group in groups.items()
    ]


def by_hour_of_day(bays: int, hours: Sequence[HourSums]) -> list[tuple[int, float | None]]:
    """Occupancy per local hour of day (0..23) over the period's days."""
    return [(h, occupancy_percent(bays, (x for x in hours if x.hour == h))) for h in range(24)]


def peak_hours(profile: Sequence[tuple[int, float | None]], count: int = 3) -> list[tuple[int, float]]:
    """The `count` hours of day with the highest occupancy (ties: the earlier hour first)."""
    known = [(hour, value) for hour, value in profile if value is not None]
    return sorted(known, key=lambda hv: (-hv[1], hv[0]))[:count]
