"""CDS Metrics: hourly aggregates of stays per space, zone and area (see docs/METRICS.md).

The rules, in one place:
- hours are local wall-clock hours of the district; the hour repeated when clocks go back is
  one hour of 7,200 s, the hour skipped when they go forward does not exist;
- a stay counts for `total_sessions`, `turnover` and `average_dwell_time` in the hour it
  started, and for occupancy in every hour it overlaps, by the seconds it spends in each;
- a bay-second counts only while an online sensing device watches the bay; a place whose
  unwatched bay-seconds are more than half of its bay-seconds in an hour reports -1;
- occupancy is a percentage of the watched bay-seconds; dwell is in minutes.

Everything here is a fold over rows from a few set-based queries; nothing queries per row.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from parking.errors import N_, InvalidInputError

METRICS = ("total_sessions", "turnover", "average_dwell_time", "occupancy_percent")
PLACE_TYPES = ("area", "zone", "space")
OFFLINE = -1.0
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Hour:
    """One local hour: its label (date, hour) and the UTC instants it covers."""

    date: date
    hour: int
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def floor_to_local_hour(at: datetime, zone: ZoneInfo) -> datetime:
    """The start of the local hour holding `at`, in UTC."""
    local = at.astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


MAX_WINDOW = timedelta(days=31, hours=1)  # a month of local days, a clock change included


class BadTimeRangeError(InvalidInputError):
    code = "bad_time_range"


class TimeRangeTooLongError(InvalidInputError):
    code = "time_range_too_long"


def metrics_window(
    start: datetime | None, end: datetime | None, now: datetime, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """[start, end) of a metrics query: by default the previous local day; one given, the 24
    hours from or to it. The end is cut at the start of the current local hour (only whole
    past hours are reported); at most MAX_WINDOW."""
    if start is None and end is None:
        today = now.astimezone(zone).date()
        start = datetime.combine(today - timedelta(days=1), time(), zone).astimezone(UTC)
        end = datetime.combine(today, time(), zone).astimezone(UTC)
    elif start is None:
        assert end is not None
        start = end - timedelta(days=1)
    elif end is None:
        end = start + timedelta(days=1)
    if end <= start:
        raise BadTimeRangeError(N_("end_time must be after start_time"), ["start_time", "end_time"])
    if end - start > MAX_WINDOW:
        raise TimeRangeTooLongError(N_("at most 31 days at a time"), ["start_time", "end_time"])
    return start, max(start, min(end, floor_to_local_hour(now, zone)))


def local_hours(start: datetime, end: datetime, zone: ZoneInfo) -> list[Hour]:
    """The local hours from the one holding `start` to the last one starting before `end`.
    Consecutive UTC hours with the same local label (clocks going back) make one hour."""
    hours: list[Hour] = []
    at = floor_to_local_hour(start, zone)
    while at < end:
        local = at.astimezone(zone)
        label = (local.date(), local.hour)
        nxt = at + timedelta(hours=1)
        if hours and (hours[-1].date, hours[-1].hour) == label:
            hours[-1] = Hour(label[0], label[1], hours[-1].start, nxt)
        else:
            hours.append(Hour(label[0], label[1], at, nxt))
        at = nxt
    return hours


@dataclass(frozen=True)
class BayPlace:
    """A bay, where it sits, and whether it is in service (has ever reported an event)."""

    bay_id: int
    uuid: str
    road_id: int
    road_uuid: str
    area_id: int | None
    area_uuid: str | None
    in_service: bool


class StayRow(NamedTuple):
    """A stay as the fold reads it (a tuple: hundreds of thousands are made per report)."""

    bay_id: int
    started_at: datetime
    ended_at: datetime | None


StayTuple = tuple[int, datetime, datetime | None]  # a StayRow, or the plain tuple of its fields


class Tallies:
    """Per bay and hour: occupied and unwatched seconds, sessions started and their dwell."""

    def __init__(self, bays: Sequence[BayPlace], hours: Sequence[Hour]) -> None:
        self.index = {bay.bay_id: i for i, bay in enumerate(bays)}
        self.width = len(hours)
        size = len(bays) * self.width
        self.occupied = array("d", [0.0]) * size
        self.unwatched = array("d", [0.0]) * size
        self.sessions = array("q", [0]) * size
        self.dwell = array("d", [0.0]) * size
        self.dwelled = array("q", [0]) * size


def _spread(
    interval: Interval, hours: Sequence[Hour], starts: Sequence[datetime]
) -> Iterator[tuple[int, float]]:
    """(hour index, seconds) of the interval in each hour it overlaps."""
    begin, finish = interval
    i = max(0, bisect.bisect_right(starts, begin) - 1)
    while i < len(hours) and hours[i].start < finish:
        seconds = (min(finish, hours[i].end) - max(begin, hours[i].start)).total_seconds()
        if seconds > 0:
            yield i, seconds
        i += 1


def _overlap(a: Interval, b: Interval) -> Interval | None:
    begin, finish = max(a[0], b[0]), min(a[1], b[1])
    return (begin, finish) if begin < finish else None


def tally(
    bays: Sequence[BayPlace],
    hours: Sequence[Hour],
    stays: Iterable[StayTuple],
    unwatched: Mapping[int, Sequence[Interval]],
    now: datetime,
) -> Tallies:
    """Fold the stays and the unwatched intervals of the bays into per bay-hour tallies.
    An open stay is occupied until `now`; occupied seconds while unwatched do not count."""
    out = Tallies(bays, hours)
    if not hours:
        return out
    starts = [h.start for h in hours]
    for bay_id, intervals in unwatched.items():
        row = out.index.get(bay_id)
        if row is None:
            continue
        for interval in intervals:
            for i, seconds in _spread(interval, hours, starts):
                out.unwatched[row * out.width + i] += seconds
    _fold_stays(out, hours, starts, stays, unwatched, now)
    return out


def _fold_stays(
    out: Tallies,
    hours: Sequence[Hour],
    starts: Sequence[datetime],
    stays: Iterable[StayTuple],
    unwatched: Mapping[int, Sequence[Interval]],
    now: datetime,
) -> None:
    """The stays' part of `tally`: `_spread` and `_overlap` written out in one loop (a
    month's stays are hundreds of thousands; the same arithmetic, in the same order)."""
    index, width, count = out.index, out.width, len(hours)
    occupied, sessions, dwell, dwelled = out.occupied, out.sessions, out.dwell, out.dwelled
    ends = [h.end for h in hours]
    first, last = starts[0], ends[-1]
    for bay_id, started_at, ended_at in stays:
        row = index.get(bay_id)
        if row is None:
            continue
        base = row * width
        # The hour the stay starts in (its sessions' hour), found once; a stay that began
        # before the window is occupied from its first hour.
        if started_at < first:
            begin, at, counted = first, 0, False
        elif started_at < last:
            begin, at, counted = started_at, bisect.bisect_right(starts, started_at) - 1, True
        else:
            begin, at, counted = started_at, count, False
        finish = ended_at if ended_at is not None else now if now > started_at else started_at
        if finish > last:
            finish = last
        if begin < finish:  # occupied within the window
            i = at
            while i < count and starts[i] < finish:
                hour_end, hour_start = ends[i], starts[i]
                seconds = (
                    (finish if finish < hour_end else hour_end)
                    - (begin if begin > hour_start else hour_start)
                ).total_seconds()
                if seconds > 0:
                    occupied[base + i] += seconds
                i += 1
            gaps = unwatched.get(bay_id)
            if gaps:
                for gap in gaps:
                    both = _overlap((begin, finish), gap)
                    for i, seconds in _spread(both, hours, starts) if both else ():
                        occupied[base + i] -= seconds
        if counted:
            sessions[base + at] += 1
            if ended_at is not None:
                dwell[base + at] += (ended_at - started_at).total_seconds()
                dwelled[base + at] += 1


@dataclass(frozen=True)
class Aggregate:
    curb_place_type: str
    curb_place_id: str
    metric_type: str
    date: date
    hour: int
    value: float


def place_values(bays: int, hour_seconds: float, sums: Sequence[float]) -> dict[str, float | None]:
    """The four metrics of a place-hour from its summed tallies
    (occupied s, unwatched s, sessions, dwell s, ended sessions); None when undefined."""
    occupied, unwatched, sessions, dwell, dwelled = sums
    total = bays * hour_seconds
    if bays == 0 or unwatched * 2 > total:
        return dict.fromkeys(METRICS, OFFLINE)
    watched = total - unwatched
    return {
        "total_sessions": sessions,
        "turnover": round(sessions / bays, 4),
        "average_dwell_time": round(dwell / dwelled / 60, 2) if dwelled else None,
        "occupancy_percent": round(100 * max(0.0, occupied) / watched, 2) if watched > 0 else OFFLINE,
    }


def aggregates(
    bays: Sequence[BayPlace],
    hours: Sequence[Hour],
    tallies: Tallies,
    place_types: Collection[str] = PLACE_TYPES,
    metrics: Collection[str] = METRICS,
) -> Iterator[Aggregate]:
    """Rows per place (areas, zones, spaces in that order), hour and metric. Bays out of
    service count in no zone or area, and their own space rows are -1."""
    groups: dict[tuple[str, str], list[int]] = {}
    for row, bay in enumerate(bays):
        groups.setdefault(("space", bay.uuid), []).append(row)
        if bay.in_service:
            groups.setdefault(("zone", bay.road_uuid), []).append(row)
            if bay.area_uuid is not None:
                groups.setdefault(("area", bay.area_uuid), []).append(row)
    for place_type in PLACE_TYPES:
        if place_type not in place_types:
            continue
        for (kind, place_id), rows in groups.items():
            if kind != place_type:
                continue
            in_service = sum(1 for r in rows if bays[r].in_service)
            yield from _place_rows(kind, place_id, rows, in_service, hours, tallies, metrics)


def _place_rows(
    kind: str,
    place_id: str,
    rows: Sequence[int],
    in_service: int,
    hours: Sequence[Hour],
    tallies: Tallies,
    metrics: Collection[str],
) -> Iterator[Aggregate]:
    width = tallies.width
    columns = (tallies.occupied, tallies.unwatched, tallies.sessions, tallies.dwell, tallies.dwelled)
    totals = []
    for column in columns:
        total = column[rows[0] * width : (rows[0] + 1) * width].tolist()
        for r in rows[1:]:
            total = [a + b for a, b in zip(total, column[r * width : (r + 1) * width], strict=True)]
        totals.append(total)
    for i, hour in enumerate(hours):
        values = place_values(in_service, hour.seconds, [float(total[i]) for total in totals])
        for metric in METRICS:
            value = values[metric]
            if metric in metrics and value is not None:
                yield Aggregate(kind, place_id, metric, hour.date, hour.hour, value)


# --- who watched each bay ----------------------------------------------------------------


def device_outages(
    transitions: Iterable[tuple[int, datetime, bool]], start: datetime, end: datetime
) -> dict[int, list[Interval]]:
    """Per device, its offline intervals within [start, end), from its (device, at, online)
    transitions in the event log. A device is online before its first transition."""
    out: dict[int, list[Interval]] = {}
    down_since: dict[int, datetime] = {}
    for device, at, online in sorted(transitions, key=lambda t: (t[0], t[1])):
        if not online:
            down_since.setdefault(device, at)
        elif device in down_since:
            _add_outage(out, device, (down_since.pop(device), at), start, end)
    for device, since in down_since.items():
        _add_outage(out, device, (since, end), start, end)
    return out


def _add_outage(
    out: dict[int, list[Interval]], device: int, gap: Interval, start: datetime, end: datetime
) -> None:
    clipped = _overlap(gap, (start, end))
    if clipped is not None:
        out.setdefault(device, []).append(clipped)


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        both = _overlap(a[i], b[j])
        if both is not None:
            out.append(both)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def unwatched_bays(
    bays: Sequence[BayPlace],
    window: Interval,
    feeds: Sequence[int],
    stakes: Mapping[int, Sequence[int]],
    outages: Mapping[int, Sequence[Interval]],
) -> dict[int, list[Interval]]:
    """Per bay, when no sensing device watched it: the intervals in which every data feed of
    the district and every stake covering the bay were offline (the whole window if none)."""
    cache: dict[frozenset[int], list[Interval]] = {}
    out: dict[int, list[Interval]] = {}
    for bay in bays:
        watchers = frozenset((*feeds, *stakes.get(bay.bay_id, ())))
        if watchers not in cache:
            gaps = [window]
            for device in watchers:
                gaps = _intersect(gaps, outages.get(device, ()))
            cache[watchers] = gaps
        if cache[watchers]:
            out[bay.bay_id] = cache[watchers]
    return out
