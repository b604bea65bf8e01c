"""When a stay breaks a tariff's window-specific maximum stays (`Tariff.stay_limits`),
without the database.

The rule, read from the City of Melbourne's own flags (docs/ENFORCEMENT.md, "Signs with
several windows"): the signs in force, laid end to end, form restricted periods (a 1P window
followed at once by a 2P one is one period). A stay's clock starts when it is first parked
inside a period (arrival, or the period's start for a vehicle already there), and the limit
is the one of the sign in force at that instant, for the rest of that period: a driver who
parked under a 1P sign has one hour, even when a 2P sign takes over before it is up. The
stay overstays once it is still parked, inside the period, more than that limit plus the
tariff's grace after its clock started. A new period (after unrestricted time) starts the
clock again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from billing.tariff import Tariff
from billing.tariff_parts import WEEKDAYS, StayLimit

# A stay is looked at over at most this many local days (longer stays are found by the days
# they reach within the sweep's look-back).
_MAX_DAYS = 15


@dataclass(frozen=True)
class Breach:
    at: datetime  # when the stay began to overstay (UTC)
    limit: StayLimit
    clock_started_at: datetime


@dataclass(frozen=True)
class _Piece:
    starts_at: datetime
    ends_at: datetime
    limit: StayLimit


def limits_on(tariff: Tariff, day: date) -> list[StayLimit]:
    """The stay limits that apply on a local date: on one of the tariff's holidays, those
    whose days include `holiday`; otherwise those of its weekday."""
    kind = "holiday" if day in tariff.holidays else WEEKDAYS[day.weekday()]
    return [limit for limit in tariff.stay_limits if kind in limit.days]


def first_breach(tariff: Tariff, started_at: datetime, until: datetime) -> Breach | None:
    """The first instant at which a stay parked from `started_at` to `until` (its end, or
    now while it lasts) overstays a window's limit, or None."""
    grace = timedelta(minutes=tariff.grace_minutes)
    for period in _periods(tariff, started_at, until):
        clock = max(started_at, period[0].starts_at)
        period_end = max(p.ends_at for p in period)
        in_force = [p.limit for p in period if p.starts_at <= clock < p.ends_at]
        if not in_force:
            continue
        limit = min(in_force, key=lambda lim: lim.max_stay_minutes)  # the strictest sign
        breach = clock + timedelta(minutes=limit.max_stay_minutes) + grace
        if min(until, period_end) > breach:
            return Breach(at=breach, limit=limit, clock_started_at=clock)
    return None


def shortest_limit(tariff: Tariff) -> timedelta | None:
    """No stay shorter than this (the least maximum stay plus the grace) can overstay."""
    if not tariff.stay_limits:
        return None
    least = min(limit.max_stay_minutes for limit in tariff.stay_limits)
    return timedelta(minutes=least + tariff.grace_minutes)


def _periods(tariff: Tariff, started_at: datetime, until: datetime) -> list[list[_Piece]]:
    """The restricted periods that overlap [started_at, until), each as its pieces in order."""
    first = started_at.astimezone(tariff.zone).date()
    last = min(until.astimezone(tariff.zone).date(), first + timedelta(days=_MAX_DAYS))
    pieces: list[_Piece] = []
    day = first
    while day <= last:
        for limit in limits_on(tariff, day):
            for a, b in limit.windows:
                pieces.append(_Piece(_local(tariff, day, a), _local(tariff, day, b), limit))
        day += timedelta(days=1)
    pieces.sort(key=lambda p: (p.starts_at, p.ends_at))
    periods: list[list[_Piece]] = []
    for piece in pieces:
        if periods and piece.starts_at <= max(p.ends_at for p in periods[-1]):
            periods[-1].append(piece)
        else:
            periods.append([piece])
    return [
        period
        for period in periods
        if period[0].starts_at < until and max(p.ends_at for p in period) > started_at
    ]


def _local(tariff: Tariff, day: date, minute: int) -> datetime:
    if minute >= 24 * 60:
        day, minute = day + timedelta(days=1), minute - 24 * 60
    return datetime.combine(day, time(minute // 60, minute % 60), tariff.zone).astimezone(UTC)
