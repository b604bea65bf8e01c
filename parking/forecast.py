"""Will a road have a free bay when I get there? Learned from the road's own stays.

The history is sampled every `SAMPLE_EVERY`: at each instant a road either had at least one
bay without a stay, or had every bay taken. Samples are counted per road, day class
(`weekday`, `saturday`, `sunday_holiday`) and 15-minute slot of the local day. Each cell's
probability is a Beta posterior mean: its own samples, plus a prior worth `PRIOR_SAMPLES`
samples centred on the neighbouring slots of the same day class, which are in turn pulled
toward the road's rate for that day class and that toward the road's overall rate. So a cell
with much history says what it saw, and a thin one borrows from what surrounds it.

Only watched time counts: an instant at which any bay of the road had no online sensing
device watching it (the outages the caller passes, from the device log) is left out of the
road's samples, as if it had not been observed; a stay that overlaps such a gap is left out
of the road's dwell curve (its end may be the moment the device came back).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

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
BayStay = tuple[int, datetime, datetime | None]  # (bay, started_at, ended_at)
Gap = tuple[datetime, datetime]  # [start, end) when a bay was unwatched


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


def merge_gaps(gaps: Iterable[Gap]) -> list[Gap]:
    """Gaps sorted and merged where they overlap or touch."""
    out: list[Gap] = []
    for start, end in sorted(gaps):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif start < end:
            out.append((start, end))
    return out


def unwatched_at(gaps: Sequence[Gap], instants: Sequence[datetime]) -> list[bool]:
    """For each instant, whether it falls in one of the merged `gaps`."""
    starts = [start for start, _ in gaps]
    out = []
    for at in instants:
        i = bisect.bisect_right(starts, at) - 1
        out.append(i >= 0 and at < gaps[i][1])
    return out


def count_cells(cells: Sequence[Cell], free: Sequence[bool], unwatched: Sequence[bool] = ()) -> Counts:
    """Samples and free samples per cell, leaving out the unwatched instants."""
    counts: Counts = {}
    skip = unwatched or [False] * len(cells)
    for cell, is_free, masked in zip(cells, free, skip, strict=True):
        if masked:
            continue
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
