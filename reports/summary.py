"""The bureau's summary report of a place: one period beside the one before it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from enforcement.models import RESOLVED, RULES, TEAMS
from parking.metrics import device_outages, floor_to_local_hour, local_hours
from parking.models import District
from reports import enforcement_figures as policing
from reports import money
from reports.devices import load_watch
from reports.figures import (
    HourSums,
    ageing_bins,
    channel_mix,
    dwell_bins,
    occupancy_percent,
    percentile,
    uptime,
)
from reports.occupancy import Bucket, Folded, by_hour_of_day, fold, hour_sums, load_place, peak_hours, series
from reports.periods import Period, previous_period
from reports.places import Place


@dataclass(frozen=True)
class Occupancy:
    mean_percent: float | None
    peak_hours: list[tuple[int, float]]
    by_hour_of_day: list[tuple[int, float | None]]
    series: list[Bucket]


@dataclass(frozen=True)
class Stays:
    count: int
    ended: int
    bays_in_service: int
    turnover_per_bay_per_day: float | None
    dwell_mean_minutes: float | None
    dwell_median_minutes: float | None
    dwell_bins: list[tuple[int, int | None, int]]


@dataclass(frozen=True)
class Revenue:
    fees: int
    billed: int
    paid: int
    outstanding: int
    collection_rate: float | None
    collected: int
    refunded: int
    channels: list[tuple[str, int, int]]
    arrears_ageing: list[tuple[int, int | None, int, int]]

    @property
    def net_collected(self) -> int:
        return self.collected - self.refunded

    def channel_shares(self) -> list[tuple[str, int, int, float | None]]:
        """(channel, payments, amount, its share of what was collected, 4 decimals; None when
        nothing was)."""
        total = self.collected
        return [(c, n, a, round(a / total, 4) if total else None) for c, n, a in self.channels]


@dataclass(frozen=True)
class Response:
    team: str
    created: int
    taken: int
    resolved: int
    take_median_s: float | None
    take_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None


@dataclass(frozen=True)
class Figures:
    period: Period
    occupancy: Occupancy
    stays: Stays
    revenue: Revenue
    violations: list[tuple[str, int]]
    citations: list[tuple[str, int, int, int]]
    responses: list[Response]
    devices: list[tuple[str, int, int, float, float | None]]


@dataclass(frozen=True)
class Report:
    district: District
    place: Place
    generated_at: datetime
    current: Figures
    previous: Figures


def summary_report(db: Session, district: District, place: Place, period: Period, now: datetime) -> Report:
    """Every figure of docs/REPORTS.md for `period` and the period before it. Both periods
    are read together: one fold of the stays and one query per kind of figure."""
    zone = ZoneInfo(district.time_zone)
    before = previous_period(period, zone)
    start, split, end = before.start, period.start, period.end
    watch = load_watch(db, district.id, place, end)
    bays, stays = load_place(db, district.id, place.metrics_place, start, end)
    # Only whole past hours, as CDS Metrics: a running period is reported up to the last one.
    folded = fold(bays, local_hours(start, min(end, floor_to_local_hour(now, zone)), zone), stays, watch, now)
    billed = money.billed(db, district.id, place, start, split, end)
    taken = money.payments(db, district.id, place, start, split, end)
    owing = money.arrears(db, district.id, place, min(end, now))
    violations = policing.violations(db, district.id, place, start, split, end)
    citations = policing.citations(db, district.id, place, start, split, end)
    tasks = policing.tasks(db, district.id, place, start, end)
    sums = hour_sums(folded, folded.rows_in_service)
    dwells = _dwells(folded, split)
    in_service = len(folded.rows_in_service)

    def figures(which: Period, tag: int) -> Figures:
        as_of = min(which.end, now)
        mine = sums[_hours_of(folded, which)]
        return Figures(
            which,
            _occupancy(mine, in_service, which),
            _stays(mine, in_service, dwells[tag], which),
            _revenue(billed[tag], taken[tag], ageing_bins(((s, o) for s, o in owing if s < as_of), as_of)),
            [(rule, violations[tag].get(rule, 0)) for rule in _keys(RULES, violations[tag])],
            [(rule, *citations[tag].get(rule, (0, 0, 0))) for rule in _keys(RULES, citations[tag])],
            _responses([t for t in tasks if which.start <= t[2] < which.end]),
            uptime(
                watch.spans(which.start, which.end),
                device_outages(watch.transitions, which.start, which.end),
                which.end,
            ),
        )

    return Report(district, place, now, figures(period, money.CURRENT), figures(before, money.PREVIOUS))


def _keys(known: Sequence[str], found: Mapping[str, object]) -> list[str]:
    return [*known, *sorted(k for k in found if k not in known)]


def _hours_of(folded: Folded, which: Period) -> slice:
    first = next((i for i, h in enumerate(folded.hours) if h.start >= which.start), len(folded.hours))
    last = next((i for i, h in enumerate(folded.hours) if h.start >= which.end), len(folded.hours))
    return slice(first, last)


def _occupancy(sums: Sequence[HourSums], bays: int, which: Period) -> Occupancy:
    profile = by_hour_of_day(bays, sums)
    return Occupancy(
        occupancy_percent(bays, sums),
        peak_hours(profile),
        profile,
        series(bays, sums, which.granularity == "hour"),
    )


def _stays(sums: Sequence[HourSums], bays: int, dwell: list[float], which: Period) -> Stays:
    """Counts and mean dwell from the tallies; the median and the bins from the dwell list
    (seconds of the ended stays that started in the period)."""
    dwell.sort()  # once: the median and the bins then read it in order
    count = sum(h.sessions for h in sums)
    ended = sum(h.dwelled for h in sums)
    median = percentile(dwell, 50)
    return Stays(
        count,
        ended,
        bays,
        round(count / bays / which.days, 4) if bays else None,
        round(sum(h.dwell for h in sums) / ended / 60, 2) if ended else None,
        None if median is None else round(median / 60, 2),
        dwell_bins(dwell),
    )


def _dwells(folded: Folded, split: datetime) -> dict[int, list[float]]:
    """Seconds of the ended stays that started in the folded hours, per period (PREVIOUS
    before `split`)."""
    start, end = folded.hours[0].start, folded.hours[-1].end
    ended = [(s, e) for _, s, e in folded.stays if e is not None and start <= s < end]
    return {
        money.CURRENT: [(e - s).total_seconds() for s, e in ended if s >= split],
        money.PREVIOUS: [(e - s).total_seconds() for s, e in ended if s < split],
    }


def _revenue(
    billed: money.Billed,
    taken: list[tuple[str, str, int, int, int]],
    ageing: list[tuple[int, int | None, int, int]],
) -> Revenue:
    return Revenue(
        billed.fees,
        billed.billed,
        billed.paid,
        billed.outstanding,
        round(billed.paid / billed.billed, 4) if billed.billed else None,
        sum(row[3] for row in taken),
        sum(row[4] for row in taken),
        channel_mix((channel, method, count, amount) for channel, method, count, amount, _ in taken),
        ageing,
    )


def _responses(tasks: Sequence[policing.TaskRow]) -> list[Response]:
    out = []
    teams = [*TEAMS, *sorted({t[0] for t in tasks} - set(TEAMS))]
    for team in teams:
        mine = [t for t in tasks if t[0] == team]
        take = [(t[3] - t[2]).total_seconds() for t in mine if t[3] is not None]
        resolve = [(t[4] - t[2]).total_seconds() for t in mine if t[1] == RESOLVED and t[4] is not None]
        out.append(
            Response(
                team,
                len(mine),
                len(take),
                len(resolve),
                _rounded(percentile(take, 50)),
                _rounded(percentile(take, 90)),
                _rounded(percentile(resolve, 50)),
                _rounded(percentile(resolve, 90)),
            )
        )
    return out


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
