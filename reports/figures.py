"""Pure folds behind the report figures: percentiles, dwell bins, arrears ageing, payment
channels, device uptime and occupancy over hours. Stdlib only; the queries live elsewhere."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# Dwell bins in minutes: [from, to), the last one open-ended.
DWELL_BINS: tuple[tuple[int, int | None], ...] = (
    (0, 15),
    (15, 30),
    (30, 60),
    (60, 120),
    (120, 240),
    (240, None),
)
# Arrears ageing in whole days since the fee went into arrears: [from, to] inclusive.
AGEING_BINS: tuple[tuple[int, int | None], ...] = ((0, 7), (8, 30), (31, 90), (91, None))
CHANNELS = ("auto", "plate", "pos_cash", "pos_qr", "account")


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) by linear interpolation between the closest ranks
    (numpy's default; p=50 is the median). None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def bin_label(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def dwell_bins(dwell_seconds: Iterable[float]) -> list[tuple[int, int | None, int]]:
    """(from minute, to minute, stays) per bin; a stay of exactly 15 min falls in 15-30."""
    ordered = sorted(dwell_seconds)
    edges = [bisect.bisect_left(ordered, low * 60) for low, _ in DWELL_BINS] + [len(ordered)]
    return [(low, high, edges[i + 1] - edges[i]) for i, (low, high) in enumerate(DWELL_BINS)]


def ageing_bins(
    arrears: Iterable[tuple[datetime, int]], as_of: datetime
) -> list[tuple[int, int | None, int, int]]:
    """(from day, to day, fees, amount owed) per bin, from (arrears since, owed) rows; the age
    is whole days elapsed at `as_of` (a fee 7 days and 23 hours in arrears is 7 days old)."""
    counts = [0] * len(AGEING_BINS)
    owed = [0] * len(AGEING_BINS)
    for since, amount in arrears:
        days = max(0, (as_of - since) // timedelta(days=1))
        for i, (_, high) in enumerate(AGEING_BINS):
            if high is None or days <= high:
                counts[i] += 1
                owed[i] += amount
                break
    return [(low, high, n, a) for (low, high), n, a in zip(AGEING_BINS, counts, owed, strict=True)]


def channel_of(channel: str, method: str) -> str:
    """The report's channel: POS payments split into cash and QR (every non-cash method)."""
    if channel == "pos":
        return "pos_cash" if method == "cash" else "pos_qr"
    return channel


def channel_mix(rows: Iterable[tuple[str, str, int, int]]) -> list[tuple[str, int, int]]:
    """(channel, payments, amount) for every report channel (zero rows included, unknown
    channels after them), from (channel, method, payments, amount) rows."""
    totals: dict[str, list[int]] = {name: [0, 0] for name in CHANNELS}
    for channel, method, count, amount in rows:
        total = totals.setdefault(channel_of(channel, method), [0, 0])
        total[0] += count
        total[1] += amount
    return [(name, count, amount) for name, (count, amount) in totals.items()]


@dataclass(frozen=True)
class DeviceSpan:
    """A device of a kind, counted from `since` (its creation or the period start)."""

    device_id: int
    kind: str
    since: datetime


def uptime(
    devices: Sequence[DeviceSpan],
    outages: Mapping[int, Sequence[tuple[datetime, datetime]]],
    end: datetime,
) -> list[tuple[str, int, int, float, float | None]]:
    """(kind, devices, outages, offline seconds, uptime percent) per kind: online device-seconds
    over device-seconds from each device's `since` to `end`; None when there are none."""
    per_kind: dict[str, list[float]] = {}
    for device in devices:
        total = per_kind.setdefault(device.kind, [0, 0, 0.0, 0.0])
        span = max(0.0, (end - device.since).total_seconds())
        off = [
            (min(b, end) - max(a, device.since)).total_seconds() for a, b in outages.get(device.device_id, ())
        ]
        off = [s for s in off if s > 0]
        total[0] += 1
        total[1] += len(off)
        total[2] += sum(off)
        total[3] += span
    return [
        (kind, int(n), int(gaps), offline, round(100 * (1 - offline / span), 2) if span else None)
        for kind, (n, gaps, offline, span) in sorted(per_kind.items())
    ]


@dataclass(frozen=True)
class HourSums:
    """One local hour of a place: its label, length, and summed bay tallies."""

    day: date  # local date and hour, as CDS Metrics labels it
    hour: int
    seconds: float
    occupied: float
    unwatched: float
    sessions: int = 0  # stays that started in the hour
    dwell: float = 0.0  # summed seconds of those of them that ended
    dwelled: int = 0  # how many of them ended


def occupancy_percent(bays: int, hours: Iterable[HourSums]) -> float | None:
    """Watched-occupied bay-seconds over watched bay-seconds of the hours, leaving out the
    hours CDS Metrics reports as -1 (more than half unwatched); None if nothing is left."""
    occupied = watched = 0.0
    for hour in hours:
        total = bays * hour.seconds
        if bays == 0 or hour.unwatched * 2 > total:
            continue
        occupied += max(0.0, hour.occupied)
        watched += total - hour.unwatched
    return round(100 * occupied / watched, 2) if watched > 0 else None
