"""Report periods: a local day, week (Monday to Sunday) or calendar month of a district, the
period before it, and the buckets its series is cut into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from parking.errors import InvalidInputError

PERIOD_KINDS = ("day", "week", "month")
# The series of a day is hourly; of a week or a month, daily.
GRANULARITY = {"day": "hour", "week": "day", "month": "day"}


class BadPeriodError(InvalidInputError):
    code = "bad_period"


@dataclass(frozen=True)
class Period:
    """[first, last] local dates of a report period, and its UTC bounds [start, end)."""

    kind: str
    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def granularity(self) -> str:
        return GRANULARITY[self.kind]

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period_of(kind: str, first: date, zone: ZoneInfo) -> Period:
    """The period of `kind` starting on `first`, which must be a Monday for a week and the
    first of a month for a month."""
    if kind not in PERIOD_KINDS:
        raise BadPeriodError("period must be day, week or month", ["period"])
    if kind == "week" and first.weekday() != 0:
        raise BadPeriodError("a week starts on a Monday", ["start"])
    if kind == "month" and first.day != 1:
        raise BadPeriodError("a month starts on its first day", ["start"])
    after = _next_start(kind, first)
    return Period(kind, first, after - timedelta(days=1), _utc(first, zone), _utc(after, zone))


def previous_period(period: Period, zone: ZoneInfo) -> Period:
    """The period of the same kind that ends where this one starts."""
    if period.kind == "day":
        first = period.first - timedelta(days=1)
    elif period.kind == "week":
        first = period.first - timedelta(days=7)
    else:
        before = period.first - timedelta(days=1)
        first = before.replace(day=1)
    return period_of(period.kind, first, zone)


def _next_start(kind: str, first: date) -> date:
    if kind == "day":
        return first + timedelta(days=1)
    if kind == "week":
        return first + timedelta(days=7)
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


class PeriodInFutureError(BadPeriodError):
    code = "period_in_future"


def require_started(period: Period, now: datetime) -> None:
    """A report is of a period that has begun (a running period reports up to now)."""
    if period.start > now:
        raise PeriodInFutureError("the period has not begun yet", ["start"])
