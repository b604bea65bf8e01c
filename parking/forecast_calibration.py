"""Scoring the forecast on held-out time: fit on the instants a split calls training, then at
every held-out arrival instant (sampled every 5 minutes) and for each horizon h, predict
whether the road has a free bay from what was known h before: the training base rate, the
road's overall rate, the history of the arrival's cell alone, and the history blended with
the road's state h before (`parking.forecast_current`). Brier scores and reliability tables."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from parking.forecast import cell_at, estimate, free_at, sample_instants, unwatched_at
from parking.forecast_current import RoadNow, probability_free
from parking.forecast_history import History, dwell_curves, history_counts
from parking.stay_rules import is_going_at

HORIZONS = (timedelta(minutes=15), timedelta(minutes=30))
PREDICTORS = ("base rate (training)", "road rate", "history only", "history + current state")


@dataclass
class Reliability:
    """Predictions binned by tenths: per bin [count, sum of predictions, sum of outcomes]."""

    bins: list[list[float]] = field(default_factory=lambda: [[0, 0.0, 0.0] for _ in range(10)])

    def add(self, p: float, y: float) -> None:
        cell = self.bins[min(int(p * 10), 9)]
        cell[0] += 1
        cell[1] += p
        cell[2] += y

    def lines(self) -> list[str]:
        out = ["| predicted | samples | mean predicted | observed |", "|---|---|---|---|"]
        for i, (count, p_sum, y_sum) in enumerate(self.bins):
            if count:
                out.append(
                    f"| {i / 10:.1f}-{(i + 1) / 10:.1f} | {int(count):,} | {p_sum / count:.3f} | {y_sum / count:.3f} |"
                )
        return out


@dataclass
class Scores:
    """Brier score sums of every predictor at one horizon, and two reliability tables."""

    horizon: timedelta
    n: int = 0
    observed: float = 0.0
    sums: list[float] = field(default_factory=lambda: [0.0] * len(PREDICTORS))
    history: Reliability = field(default_factory=Reliability)
    current: Reliability = field(default_factory=Reliability)

    def add(self, predictions: Sequence[float], free: bool) -> None:
        y = 1.0 if free else 0.0
        self.n += 1
        self.observed += y
        for i, p in enumerate(predictions):
            self.sums[i] += (p - y) ** 2
        self.history.add(predictions[2], y)
        self.current.add(predictions[3], y)

    def brier(self, predictor: int) -> float:
        return self.sums[predictor] / max(self.n, 1)

    def lines(self) -> list[str]:
        minutes = int(self.horizon / timedelta(minutes=1))
        out = [
            f"#### in={minutes}: held-out arrivals {self.n:,}; observed rate of a free bay "
            f"{self.observed / max(self.n, 1):.3f}",
            "",
            "| predictor | Brier score | skill vs base rate |",
            "|---|---|---|",
        ]
        base = self.brier(0)
        for i, name in enumerate(PREDICTORS):
            skill = 1 - self.brier(i) / base if base else 0.0
            out.append(f"| {name} | {self.brier(i):.4f} | {skill:.3f} |")
        out += ["", "History only:", "", *self.history.lines()]
        out += ["", "History + current state:", "", *self.current.lines(), ""]
        return out


class BayIndex:
    """A road's stays by bay, to read which bays were taken at an instant and since when."""

    def __init__(self, stays: Sequence[tuple[int, datetime, datetime | None]]) -> None:
        by_bay: dict[int, list[tuple[datetime, datetime | None]]] = {}
        for bay, start, end in stays:
            by_bay.setdefault(bay, []).append((start, end))
        self.starts = {bay: sorted(s for s, _ in rows) for bay, rows in by_bay.items()}
        self.rows = {bay: sorted(rows, key=lambda r: r[0]) for bay, rows in by_bay.items()}

    def ages_at(self, at: datetime) -> list[tuple[int, timedelta]]:
        """(bay, age of its stay) for every bay a stay covered at `at`."""
        out = []
        for bay, starts in self.starts.items():
            i = bisect.bisect_right(starts, at) - 1
            if i >= 0:
                start, end = self.rows[bay][i]
                if is_going_at(start, end, at):
                    out.append((bay, at - start))
        return out


def road_now(history: History, road: int, index: BayIndex, at: datetime) -> RoadNow:
    """The road as the endpoint would have seen it at `at`: a bay in an unwatched gap is
    unknown, whatever its stays say."""
    unknown: set[int] = set()
    if any(a <= at < b for a, b in history.gaps.get(road, ())):
        unknown = {
            bay
            for bay, of in history.road_of.items()
            if of == road and any(a <= at < b for a, b in history.bay_gaps.get(bay, ()))
        }
    ages = [age for bay, age in index.ages_at(at) if bay not in unknown]
    return RoadNow(history.bays[road], ages, len(unknown))


def calibrate(
    history: History,
    zone: ZoneInfo,
    holidays: frozenset[date],
    is_training: Callable[[datetime], bool],
    horizons: Sequence[timedelta] = HORIZONS,
) -> list[Scores]:
    """Fit on the instants `is_training` accepts (the cells, and the dwell curves on stays
    that started then), score every held-out arrival instant at each horizon."""
    counts = history_counts(history, zone, holidays, keep=is_training)
    curves = dwell_curves(history, keep=is_training)
    n = sum(c[0] for cells in counts.values() for c in cells.values())
    base = sum(c[1] for cells in counts.values() for c in cells.values()) / max(n, 1)
    arrivals = [t for t in sample_instants(history.since, history.until) if not is_training(t)]
    cells = [cell_at(t, zone, holidays) for t in arrivals]
    scores = [Scores(h) for h in horizons]
    for road, road_counts in counts.items():
        model = estimate(road_counts)
        road_n = sum(c[0] for c in road_counts.values())
        road_rate = (sum(c[1] for c in road_counts.values()) + 1) / (road_n + 2)
        free = free_at(history.intervals(road), history.bays[road], arrivals)
        masked = unwatched_at(history.gaps.get(road, []), arrivals)
        index = BayIndex(history.stays.get(road, []))
        curve = curves[road][0]
        for arrival, cell, is_free, is_masked in zip(arrivals, cells, free, masked, strict=True):
            if is_masked:
                continue
            for score in scores:
                seen_at = arrival - score.horizon
                if seen_at < history.since:
                    continue
                now = road_now(history, road, index, seen_at)
                blended = (
                    probability_free(now, model[cell], curve, score.horizon) if now.known else model[cell]
                )
                score.add((base, road_rate, model[cell], blended), is_free)
    return scores
