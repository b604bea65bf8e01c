"""The use cases of pricing advice over one local month (docs/PRICING.md): the advice from a
month's measured occupancy, and the what-if of that month's stays re-priced by it. The rule
itself is billing/pricing_advice.py; the web layer only parses the month and writes the answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from billing.pricing_advice import PricingRule, RoadAdvice, UnwatchedOf, advise_district, replay_month
from parking.errors import N_, InvalidInputError, Message
from parking.metrics import Hour, floor_to_local_hour, local_hours
from parking.models import District


class MonthInFutureError(InvalidInputError):
    code = "month_in_future"


def month_bounds(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """The UTC instants of the start of the local month (YYYY-MM) and of the next one."""
    zone = ZoneInfo(time_zone)
    first = date.fromisoformat(month + "-01")
    following = (first + timedelta(days=32)).replace(day=1)
    return _local_midnight(first, zone), _local_midnight(following, zone)


def measured_hours(start: datetime, end: datetime, now: datetime, zone: ZoneInfo) -> list[Hour]:
    """The local hours of [start, end) that are over by `now`."""
    return local_hours(start, min(end, floor_to_local_hour(now, zone)), zone)


def advice_for_month(
    db: Session,
    place: District,
    month: str | None,
    unwatched_of: UnwatchedOf,
    rule: PricingRule,
    now: datetime,
) -> tuple[str, list[RoadAdvice]]:
    """(the month, the advice per road) from the month's measured hours: `month` (YYYY-MM),
    or the last whole local month; MonthInFutureError for a month not yet begun."""
    zone = ZoneInfo(place.time_zone)
    if month is None:
        this_month = now.astimezone(zone).date().replace(day=1)
        month = (this_month - timedelta(days=1)).strftime("%Y-%m")
    start, end = month_bounds(month, place.time_zone)
    if start >= now:
        message = Message(
            N_("%(month)s has not begun in %(zone)s"), {"month": month, "zone": place.time_zone}
        )
        raise MonthInFutureError(message, ["month"])
    hours = measured_hours(start, end, now, zone)
    return month, advise_district(db, place, hours, unwatched_of, rule, now)


@dataclass(frozen=True)
class WhatIf:
    roads: list[dict[str, Any]]  # per road: its uuid, name and tariff code, and `money`'s figures
    total: dict[str, Any]


def what_if(db: Session, place: District, month: str, advice: Sequence[RoadAdvice]) -> WhatIf:
    """The month's priced stays on each advised road at the current and the advised tariff,
    demand assumed unchanged; and the district's total."""
    start, end = month_bounds(month, place.time_zone)
    roads = [
        {
            "road": r.road.uuid,
            "road_name": r.road.name,
            "tariff_code": r.road.tariff_code,
            **money(r.stays, r.charged, r.at_current, r.at_advised),
        }
        for r in replay_month(db, place, advice, start, end)
    ]
    keys = ("stays", "charged", "at_current_tariff", "at_advised_tariff")
    stays, charged, current, advised = (sum(r[k] for r in roads) for k in keys)
    return WhatIf(roads, money(stays, charged, current, advised))


def money(stays: int, charged: int, current: int, advised: int) -> dict[str, Any]:
    """The figures of a what-if: the change in minor units, and in percent of the current
    revenue (2 decimals; None when there is none)."""
    change = advised - current
    return {
        "stays": stays,
        "charged": charged,
        "at_current_tariff": current,
        "at_advised_tariff": advised,
        "change": change,
        "change_percent": round(100 * change / current, 2) if current else None,
    }


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)
