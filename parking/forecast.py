"""Will a road have a free bay when I get there? Learned from the road's own stays.

The history is sampled every `SAMPLE_EVERY`: at each instant a road either had at least one
bay without a stay, or had every bay taken. Samples are counted per road, day class
(`weekday`, `saturday`, `sunday_holiday`) and 15-minute slot of the local day. Each cell's
probability is a Beta posterior mean: its own samples, plus a prior worth `PRIOR_SAMPLES`
samples centred on the neighbouring slots of the same day class, which are in turn pulled
toward the road's rate for that day class and that toward the road's overall rate. So a cell
with much history says what it saw, and a thin one borrows from what surrounds it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from parking.db import insert_rows
from parking.forecast_models import RoadForecast
from parking.models import Bay, Stay

SLOT = timedelta(minutes=15)
SLOTS_PER_DAY = 96
SAMPLE_EVERY = timedelta(minutes=5)
HISTORY = timedelta(days=28)
DAY_CLASSES = ("weekday", "saturday", "sunday_holiday")
# Weights of a cell's prior, in samples: toward its neighbours, the day class, the road.
PRIOR_SAMPLES = 6.0
NEIGHBOUR_PRIOR_SAMPLES = 6.0
CLASS_PRIOR_SAMPLES = 24.0
NEIGHBOUR_WEIGHTS = ((1, 0.5), (2, 0.25))

Cell = tuple[str, int]  # (day class, slot)
Counts = dict[Cell, list[int]]  # cell -> [samples, samples with a free bay]
Interval = tuple[datetime, datetime | None]


def day_class(day: date, holidays: frozenset[date]) -> str:
    """`sunday_holiday` for Sundays and public holidays, `saturday`, else `weekday`."""
    if day.weekday() == 6 or day in holidays:
        return "sunday_holiday"
    return "saturday" if day.weekday() == 5 else "weekday"


def cell_at(at: datetime, zone: ZoneInfo, holidays: frozenset[date]) -> Cell:
    """The day class and 15-minute slot of the local time at `at`."""
    local = at.astimezone(zone)
    return day_class(local.date(), holidays), (local.hour * 60 + local.minute) // 15


def sample_instants(since: datetime, until: datetime, every: timedelta = SAMPLE_EVERY) -> list[datetime]:
    """Instants in [since, until) on a grid of `every` from the epoch."""
    step = int(every.total_seconds())
    first = -(-int(since.timestamp()) // step) * step
    return [datetime.fromtimestamp(t, UTC) for t in range(first, int(until.timestamp()), step)]


def free_at(stays: Iterable[Interval], bays: int, instants: Sequence[datetime]) -> list[bool]:
    """For each instant, whether fewer than `bays` stays covered it ([start, end), an open
    stay runs on): one sort and two binary searches per instant."""
    starts: list[float] = []
    ends: list[float] = []
    for start, end in stays:
        starts.append(start.timestamp())
        ends.append(end.timestamp() if end is not None else float("inf"))
    starts.sort()
    ends.sort()
    out = []
    for at in instants:
        t = at.timestamp()
        out.append(bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t) < bays)
    return out


def count_cells(cells: Sequence[Cell], free: Sequence[bool]) -> Counts:
    """Samples and free samples per cell."""
    counts: Counts = {}
    for cell, is_free in zip(cells, free, strict=True):
        tally = counts.setdefault(cell, [0, 0])
        tally[0] += 1
        tally[1] += is_free
    return counts


def estimate(counts: Mapping[Cell, Sequence[int]]) -> dict[Cell, float]:
    """Every cell's smoothed probability of a free bay (all day classes, all slots)."""
    total = sum(c[0] for c in counts.values())
    free = sum(c[1] for c in counts.values())
    road_rate = (free + 1) / (total + 2)
    out: dict[Cell, float] = {}
    for klass in DAY_CLASSES:
        n = [counts.get((klass, s), (0, 0))[0] for s in range(SLOTS_PER_DAY)]
        k = [counts.get((klass, s), (0, 0))[1] for s in range(SLOTS_PER_DAY)]
        class_rate = (sum(k) + CLASS_PRIOR_SAMPLES * road_rate) / (sum(n) + CLASS_PRIOR_SAMPLES)
        for s in range(SLOTS_PER_DAY):
            near_n = near_k = 0.0
            for offset, weight in NEIGHBOUR_WEIGHTS:
                for other in ((s - offset) % SLOTS_PER_DAY, (s + offset) % SLOTS_PER_DAY):
                    near_n += weight * n[other]
                    near_k += weight * k[other]
            prior = (near_k + NEIGHBOUR_PRIOR_SAMPLES * class_rate) / (near_n + NEIGHBOUR_PRIOR_SAMPLES)
            out[(klass, s)] = (k[s] + PRIOR_SAMPLES * prior) / (n[s] + PRIOR_SAMPLES)
    return out


# -- loading and storing --------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """A district's stays per road over a window, and each road's number of bays."""

    since: datetime
    until: datetime
    stays: dict[int, list[Interval]]
    bays: dict[int, int]


def load_history(db: Session, district_id: int, since: datetime, until: datetime) -> History:
    """Stays overlapping [since, until); the window starts no earlier than the first stay,
    so days before the district had any data do not count as days of free bays."""
    first = db.scalar(
        select(func.min(Stay.started_at)).where(Stay.district_id == district_id, Stay.started_at < until)
    )
    since = max(since, first) if first is not None else until
    bays: dict[int, int] = {
        road: n
        for road, n in db.execute(
            select(Bay.road_id, func.count()).where(Bay.district_id == district_id).group_by(Bay.road_id)
        )
    }
    stays: dict[int, list[Interval]] = {road: [] for road in bays}
    rows = db.execute(
        select(Stay.road_id, Stay.started_at, Stay.ended_at).where(
            Stay.district_id == district_id,
            Stay.started_at < until,
            or_(Stay.ended_at.is_(None), Stay.ended_at > since),
        )
    )
    for road_id, started_at, ended_at in rows:
        stays.setdefault(road_id, []).append((started_at, ended_at))
    return History(since, until, stays, bays)


def history_counts(
    history: History,
    zone: ZoneInfo,
    holidays: frozenset[date],
    keep: Callable[[datetime], bool] | None = None,
) -> dict[int, Counts]:
    """Per road, the samples of its history per cell (only instants `keep` accepts)."""
    instants = sample_instants(history.since, history.until)
    if keep is not None:
        instants = [t for t in instants if keep(t)]
    cells = [cell_at(t, zone, holidays) for t in instants]
    return {
        road: count_cells(cells, free_at(history.stays.get(road, []), bays, instants))
        for road, bays in history.bays.items()
        if bays
    }


@dataclass(frozen=True)
class FitResult:
    roads: int
    samples: int
    since: datetime
    until: datetime

    def summary(self) -> str:
        days = (self.until - self.since) / timedelta(days=1)
        return f"{self.roads} roads fitted on {days:.1f} days ({self.samples} samples)"


def fit_forecasts(
    db: Session, district_id: int, zone: ZoneInfo, holidays: frozenset[date], now: datetime
) -> FitResult:
    """Refit every road of a district on the last `HISTORY` and replace its stored model."""
    history = load_history(db, district_id, now - HISTORY, now)
    counts = history_counts(history, zone, holidays)
    db.execute(delete(RoadForecast).where(RoadForecast.district_id == district_id))
    rows = [
        {
            "road_id": road,
            "day_class": klass,
            "slot": slot,
            "district_id": district_id,
            "probability": probability,
            "samples": cells.get((klass, slot), [0, 0])[0],
            "free_samples": cells.get((klass, slot), [0, 0])[1],
            "fitted_at": now,
        }
        for road, cells in counts.items()
        for (klass, slot), probability in estimate(cells).items()
    ]
    insert_rows(db, RoadForecast.__table__, rows)  # type: ignore[arg-type]
    samples = sum(c[0] for cells in counts.values() for c in cells.values())
    return FitResult(len(counts), samples, history.since, history.until)


@dataclass(frozen=True)
class Forecast:
    day_class: str
    slot: int
    probability: float
    samples: int
    road_rate: float
    fitted_at: datetime


def forecast_at(
    db: Session, road_id: int, at: datetime, zone: ZoneInfo, holidays: frozenset[date]
) -> Forecast | None:
    """The stored forecast for a road at an arrival time; None before the first fit."""
    klass, slot = cell_at(at, zone, holidays)
    cell = db.get(RoadForecast, (road_id, klass, slot))
    if cell is None:
        return None
    total, free = db.execute(
        select(func.sum(RoadForecast.samples), func.sum(RoadForecast.free_samples)).where(
            RoadForecast.road_id == road_id
        )
    ).one()
    road_rate = ((free or 0) + 1) / ((total or 0) + 2)
    return Forecast(klass, slot, cell.probability, cell.samples, road_rate, cell.fitted_at)
