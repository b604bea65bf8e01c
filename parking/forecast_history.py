"""The forecast's history and its store: a district's stays per road over a window (with the
gaps when bays were unwatched), the `forecast` job's fit of every road's cells and dwell
curve, and the reads the endpoint makes of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from parking.db import insert_rows
from parking.dwell import DWELL_PRIOR_MEAN, blend, exponential_curve, life_table
from parking.forecast import (
    HISTORY,
    BayStay,
    Counts,
    Gap,
    Interval,
    cell_at,
    count_cells,
    estimate,
    free_at,
    merge_gaps,
    sample_instants,
    unwatched_at,
)
from parking.forecast_models import RoadDwell, RoadForecast
from parking.models import Bay, Stay
from parking.stay_rules import overlapping

DISTRICT_PRIOR_STAYS = 5.0  # the district's dwell curve leans on an exponential this much


@dataclass(frozen=True)
class History:
    """A district's stays per road over a window, each road's number of bays and, per road,
    the merged gaps when one of its bays was unwatched (per bay in `bay_gaps`)."""

    since: datetime
    until: datetime
    stays: dict[int, list[BayStay]]
    bays: dict[int, int]
    gaps: dict[int, list[Gap]] = field(default_factory=dict)
    bay_gaps: Mapping[int, Sequence[Gap]] = field(default_factory=dict)
    road_of: Mapping[int, int] = field(default_factory=dict)  # bay -> road

    def intervals(self, road: int) -> list[Interval]:
        return [(start, end) for _, start, end in self.stays.get(road, [])]


def load_history(
    db: Session,
    district_id: int,
    since: datetime,
    until: datetime,
    unwatched: Mapping[int, Sequence[Gap]] | None = None,
) -> History:
    """Stays overlapping [since, until); the window starts no earlier than the first stay,
    so days before the district had any data do not count as days of free bays.
    `unwatched` gives, per bay, when no sensing device watched it."""
    first = db.scalar(
        select(func.min(Stay.started_at)).where(Stay.district_id == district_id, Stay.started_at < until)
    )
    since = max(since, first) if first is not None else until
    road_of = {
        bay: road
        for bay, road in db.execute(select(Bay.id, Bay.road_id).where(Bay.district_id == district_id))
    }
    bays: dict[int, int] = {}
    for road in road_of.values():
        bays[road] = bays.get(road, 0) + 1
    stays: dict[int, list[BayStay]] = {road: [] for road in bays}
    rows = db.execute(
        select(Stay.road_id, Stay.bay_id, Stay.started_at, Stay.ended_at).where(
            Stay.district_id == district_id,
            overlapping(since, until),
        )
    )
    for road_id, bay_id, started_at, ended_at in rows:
        stays.setdefault(road_id, []).append((bay_id, started_at, ended_at))
    bay_gaps = {bay: merge_gaps(g) for bay, g in (unwatched or {}).items() if bay in road_of}
    per_road: dict[int, list[Gap]] = {}
    for bay, bay_gap in bay_gaps.items():
        per_road.setdefault(road_of[bay], []).extend(bay_gap)
    road_gaps = {road: merge_gaps(g) for road, g in per_road.items()}
    return History(since, until, stays, bays, road_gaps, bay_gaps, road_of)


def history_counts(
    history: History,
    zone: ZoneInfo,
    holidays: frozenset[date],
    keep: Callable[[datetime], bool] | None = None,
) -> dict[int, Counts]:
    """Per road, the watched samples of its history per cell (only instants `keep` accepts)."""
    instants = sample_instants(history.since, history.until)
    if keep is not None:
        instants = [t for t in instants if keep(t)]
    cells = [cell_at(t, zone, holidays) for t in instants]
    return {
        road: count_cells(
            cells,
            free_at(history.intervals(road), bays, instants),
            unwatched_at(history.gaps.get(road, []), instants),
        )
        for road, bays in history.bays.items()
        if bays
    }


def dwell_curves(
    history: History, keep: Callable[[datetime], bool] | None = None
) -> dict[int, tuple[list[float], int]]:
    """Per road, its dwell curve (blended with the district's) and the stays it learned
    from: stays that started in the window (and that `keep` accepts) and met no gap of
    their bay; one still open at the window's end is censored there."""
    own: dict[int, tuple[list[float], int]] = {}
    everyone = []
    for road, stays in history.stays.items():
        durations = []
        for bay, start, end in stays:
            stop = history.until if end is None else min(end, history.until)
            if start < history.since or (keep is not None and not keep(start)):
                continue
            if any(a < stop and start < b for a, b in history.bay_gaps.get(bay, ())):
                continue
            durations.append((stop - start, end is not None and end <= history.until))
        everyone += durations
        own[road] = life_table(durations)
    district_curve, seen = life_table(everyone)
    prior = blend(district_curve, seen, exponential_curve(DWELL_PRIOR_MEAN), DISTRICT_PRIOR_STAYS)
    return {
        road: (blend(*own[road], prior), own[road][1]) if road in own else (prior, 0) for road in history.bays
    }


@dataclass(frozen=True)
class FitResult:
    roads: int
    samples: int
    unwatched: int
    since: datetime
    until: datetime

    def summary(self) -> str:
        days = (self.until - self.since) / timedelta(days=1)
        return (
            f"{self.roads} roads fitted on {days:.1f} days ({self.samples} samples, "
            f"{self.unwatched} left out as unwatched)"
        )


def fit_forecasts(
    db: Session,
    district_id: int,
    zone: ZoneInfo,
    holidays: frozenset[date],
    now: datetime,
    unwatched: Mapping[int, Sequence[Gap]] | None = None,
) -> FitResult:
    """Refit every road of a district on the last `HISTORY` (leaving out, per bay, the
    `unwatched` gaps) and replace its stored model and dwell curves."""
    history = load_history(db, district_id, now - HISTORY, now, unwatched)
    counts = history_counts(history, zone, holidays)
    db.execute(delete(RoadForecast).where(RoadForecast.district_id == district_id))
    db.execute(delete(RoadDwell).where(RoadDwell.district_id == district_id))
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
    curves = dwell_curves(history)
    db.add_all(
        RoadDwell(road_id=road, district_id=district_id, stays=seen, survival=curve, fitted_at=now)
        for road, (curve, seen) in curves.items()
        if road in counts
    )
    db.flush()
    samples = sum(c[0] for cells in counts.values() for c in cells.values())
    every = len(sample_instants(history.since, history.until)) * len(counts)
    return FitResult(len(counts), samples, every - samples, history.since, history.until)


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
    """The stored (history-only) forecast for a road at an arrival time; None before the
    first fit."""
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


def dwell_curve(db: Session, road_id: int) -> list[float] | None:
    """The road's fitted dwell survival curve; None before the first fit."""
    return db.scalar(select(RoadDwell.survival).where(RoadDwell.road_id == road_id))


def open_stay_ages(db: Session, road_id: int, now: datetime) -> dict[int, timedelta]:
    """Per bay of the road whose newest stay is still open, how long it has lasted at `now`
    (one index probe per bay: only a bay's newest stay can be open)."""
    newest = select(func.max(Stay.started_at)).where(Stay.bay_id == Bay.id).correlate(Bay).scalar_subquery()
    rows = db.execute(
        select(Stay.bay_id, Stay.started_at)
        .join(Bay, Bay.id == Stay.bay_id)
        .where(Bay.road_id == road_id, Stay.started_at == newest, Stay.ended_at.is_(None))
    )
    return {bay: max(now - started_at, timedelta(0)) for bay, started_at in rows}
