"""Demand-responsive pricing advice (SFpark's rule) from a month of measured occupancy.

The rule, per road and per band of the road's tariff version in force now (docs/PRICING.md):
- the band's occupancy is the mean of the road's hourly CDS `occupancy_percent` figures
  (parking/metrics.py) over the month's local hours whose start falls in the band (its day
  types and windows); hours reported offline (-1) are left out; the mean is rounded to 2
  decimals before it is compared;
- at or above `raise_at` (80 %) every tier's per-minute rate goes up one step, from
  `lower_below` (60 %) up to below 80 % it stays, below 60 % it goes down one step; no
  measured hour, no change;
- a step is `step_percent` (25 %) of the tier's rate per minute, rounded half up to a whole
  multiple of the tariff's granule (the smallest rate whose vehicle-class shares are whole per
  minute), at least one granule; a step never leaves [min, max] per minute (clamped);
- at most one change a month: a road whose tariff code has a version taking effect after
  `now - hold` (or later, still pending) is held.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import StayFee, TariffVersion
from billing.tariff import Tariff
from billing.tariff_parts import DAY_TYPES
from billing.tariffs import TariffBook, TariffInPastError, publish_tariff
from parking.errors import ConflictError, NotFoundError
from parking.metrics import OFFLINE, BayPlace, Hour, Interval, aggregates, tally
from parking.metrics_queries import load_bays, load_stays
from parking.models import District, Road, Stay
from parking.stay_rules import started_within

RAISE, KEEP, LOWER, HOLD = "raise", "keep", "lower", "hold"
UnwatchedOf = Callable[[Sequence[BayPlace], Interval], Mapping[int, Sequence[Interval]]]


class NothingToPublishError(ConflictError):
    code = "nothing_to_publish"


class UnknownRoadError(NotFoundError):
    code = "unknown_road"


class TariffCodeTakenError(ConflictError):
    code = "tariff_code_taken"


@dataclass(frozen=True)
class PricingRule:
    """The settings of the rule; rates are minor units per minute."""

    min_per_minute: int = 0
    max_per_minute: int = 40
    step_percent: int = 25
    raise_at: float = 80.0
    lower_below: float = 60.0
    hold: timedelta = timedelta(days=30)


# -- the pure rule ------------------------------------------------------------------------


def granule(percents: Iterable[int]) -> int:
    """The smallest per-minute rate whose share for every vehicle class is whole."""
    out = 1
    for percent in percents:
        need = 100 // math.gcd(percent, 100)
        out = out * need // math.gcd(out, need)
    return out


def step_of(per_minute: int, unit: int, rule: PricingRule) -> int:
    """`step_percent` of the rate, rounded half up to a multiple of `unit`, at least `unit`."""
    units = (per_minute * rule.step_percent + 50 * unit) // (100 * unit)
    return max(unit, units * unit)


def action_for(occupancy: float | None, rule: PricingRule) -> tuple[str, str]:
    """(action, reason) for a band's measured occupancy."""
    if occupancy is None:
        return KEEP, "no_data"
    if occupancy >= rule.raise_at:
        return RAISE, "occupancy_high"
    if occupancy < rule.lower_below:
        return LOWER, "occupancy_low"
    return KEEP, "occupancy_in_target"


def advised_rate(per_minute: int, action: str, unit: int, rule: PricingRule) -> int:
    """The rate one step up or down, kept within the bounds (never pushed further out)."""
    low = -(-rule.min_per_minute // unit) * unit
    high = rule.max_per_minute // unit * unit
    step = step_of(per_minute, unit, rule)
    if action == RAISE:
        return max(per_minute, min(per_minute + step, high))
    if action == LOWER:
        return min(per_minute, max(per_minute - step, low))
    return per_minute


def mean_occupancy(values: Iterable[float]) -> tuple[float | None, int]:
    """(mean rounded to 2 decimals, hours) of hourly figures, offline hours left out."""
    measured = [v for v in values if v != OFFLINE]
    if not measured:
        return None, 0
    return round(sum(measured) / len(measured), 2), len(measured)


# -- advice for the roads -----------------------------------------------------------------


@dataclass(frozen=True)
class BandAdvice:
    band: str
    days: tuple[str, ...]
    windows: tuple[tuple[int, int], ...]
    occupancy_percent: float | None
    hours_measured: int
    current_rates: tuple[int, ...]  # per tier, per minute
    advised_rates: tuple[int, ...]
    action: str
    reason: str

    @property
    def current_rate(self) -> int:
        return self.current_rates[0]

    @property
    def advised_rate(self) -> int:
        return self.advised_rates[0]


@dataclass
class RoadAdvice:
    road: Road
    version: TariffVersion
    tariff: Tariff
    bands: list[BandAdvice] = field(default_factory=list)
    held_until: datetime | None = None

    @property
    def changes(self) -> bool:
        return any(b.advised_rates != b.current_rates for b in self.bands)

    def advised_document(self) -> dict[str, Any]:
        """The current document with each band's tier amounts at the advised rates."""
        document = copy.deepcopy(self.version.document)
        rates = {b.band: b.advised_rates for b in self.bands}
        for band in document["bands"]:
            for tier, rate in zip(band["tiers"], rates[band["name"]], strict=True):
                tier["amount"] = rate * tier["increment_minutes"]
        return document


def advise_road(
    road: Road,
    version: TariffVersion,
    tariff: Tariff,
    hourly: Mapping[Hour, float],
    held_until: datetime | None,
    rule: PricingRule,
) -> RoadAdvice:
    """Advice for one road from its hourly occupancy, by the band each hour starts in."""
    by_band: dict[str, list[float]] = {band.name: [] for band in tariff.bands}
    for hour, value in hourly.items():
        by_band[tariff.band_at(hour.start)].append(value)
    unit = granule(c.percent for c in tariff.vehicle_classes.values())
    advice = RoadAdvice(road, version, tariff, held_until=held_until)
    for band in tariff.bands:
        occupancy, hours = mean_occupancy(by_band[band.name])
        action, reason = action_for(occupancy, rule)
        if held_until is not None:
            action, reason = HOLD, "changed_within_hold"
        current = tuple(t.amount // t.increment_minutes for t in band.tiers)
        advised = tuple(advised_rate(r, action, unit, rule) for r in current)
        if action in (RAISE, LOWER) and advised == current:
            action, reason = KEEP, "at_bound"
        days = tuple(d for d in DAY_TYPES if d in band.days)
        advice.bands.append(
            BandAdvice(band.name, days, band.windows, occupancy, hours, current, advised, action, reason)
        )
    return advice


def held_until(book: TariffBook, code: str, now: datetime, rule: PricingRule) -> datetime | None:
    """Until when the road's tariff may not change again: the newest version's start plus the
    hold, when that is after `now` (a pending version holds too)."""
    versions = book.versions.get(code, [])
    if not versions:
        return None
    until = versions[-1].effective_from + rule.hold
    return until if until > now else None


def zone_occupancy(
    bays: Sequence[BayPlace],
    hours: Sequence[Hour],
    unwatched: Mapping[int, Sequence[Interval]],
    stays: Iterable[Any],
    now: datetime,
) -> dict[str, dict[Hour, float]]:
    """Per road (zone uuid), the hourly CDS `occupancy_percent` (-1 when offline)."""
    tallies = tally(bays, hours, stays, unwatched, now)
    by_label = {(h.date, h.hour): h for h in hours}
    out: dict[str, dict[Hour, float]] = {}
    for row in aggregates(bays, hours, tallies, ("zone",), ("occupancy_percent",)):
        out.setdefault(row.curb_place_id, {})[by_label[(row.date, row.hour)]] = row.value
    return out


def advise_district(
    db: Session,
    district: District,
    hours: Sequence[Hour],
    unwatched_of: UnwatchedOf,
    rule: PricingRule,
    now: datetime,
) -> list[RoadAdvice]:
    """Advice for every road of the district with a tariff in force now, from `hours`."""
    book = TariffBook.load(db, district)
    bays = load_bays(db, district.id)
    occupancy: dict[str, dict[Hour, float]] = {}
    if hours:
        window = (hours[0].start, hours[-1].end)
        stays = load_stays(db, district.id, *window)
        occupancy = zone_occupancy(bays, hours, unwatched_of(bays, window), stays, now)
    roads = db.scalars(select(Road).where(Road.district_id == district.id).order_by(Road.name))
    out: list[RoadAdvice] = []
    for road in roads:
        found = book.in_force(road.tariff_code, now)
        if found is None:
            continue
        hold = held_until(book, road.tariff_code, now, rule)
        out.append(advise_road(road, *found, occupancy.get(road.uuid, {}), hold, rule))
    return out


# -- what-if: last month's stays at the advised rates -------------------------------------


@dataclass(frozen=True)
class RoadReplay:
    road: Road
    stays: int
    charged: int  # the stored fees
    at_current: int  # the same stays re-priced by the tariff in force now
    at_advised: int  # and by the advised tariff

    @property
    def change(self) -> int:
        return self.at_advised - self.at_current


def replay_month(
    db: Session, district: District, advice: Sequence[RoadAdvice], start: datetime, end: datetime
) -> list[RoadReplay]:
    """Re-price the priced stays that started in [start, end) on each advised road, by its
    current and its advised tariff. Demand is assumed unchanged: same stays, same times."""
    roads = {a.road.id: a for a in advice}
    advised = {a.road.id: Tariff(a.advised_document(), district.time_zone) for a in advice}
    totals = {road_id: [0, 0, 0, 0] for road_id in roads}
    rows = db.execute(
        select(Stay.road_id, Stay.started_at, Stay.ended_at, StayFee.amount, StayFee.vehicle_class)
        .join(StayFee, StayFee.stay_id == Stay.id)
        .where(
            Stay.district_id == district.id,
            started_within(start, end),
            Stay.ended_at.is_not(None),
        )
    )
    for road_id, started_at, ended_at, amount, vehicle_class in rows:
        if road_id not in roads or ended_at is None:
            continue
        total = totals[road_id]
        total[0] += 1
        total[1] += amount
        total[2] += roads[road_id].tariff.price(started_at, ended_at, vehicle_class).amount
        total[3] += advised[road_id].price(started_at, ended_at, vehicle_class).amount
    return [RoadReplay(roads[r].road, *totals[r]) for r in roads]


# -- publishing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    road: Road
    version: TariffVersion
    forked_from: str | None  # the shared code the road left, when it got its own


def publish_advice(
    db: Session,
    district: District,
    advice: Sequence[RoadAdvice],
    effective_from: datetime,
    now: datetime,
    roads: Sequence[str] | None = None,
) -> list[Published]:
    """New tariff versions for the advised changes, in force from `effective_from`. Roads
    sharing a code that all get the same advised document get one new version of that code;
    any other road that changes gets its own code `<code>-<road uuid[:8]>` (a copy of the
    shared code's history, then the advised version) and is moved onto it now, which prices
    every stay as before until `effective_from`."""
    if effective_from < now:
        raise TariffInPastError("advice cannot take effect in the past", ["effective_from"])
    chosen = [a for a in advice if roads is None or a.road.uuid in roads]
    unknown = sorted(set(roads or ()) - {a.road.uuid for a in advice})
    if unknown:
        raise UnknownRoadError(f"no priced road {', '.join(unknown)} in {district.slug}", ["roads"])
    changing = [a for a in chosen if a.changes]
    if not changing:
        raise NothingToPublishError("no chosen road has an advised change to publish", ["roads"])
    sharing: dict[str, list[str]] = {}
    for road in db.scalars(select(Road).where(Road.district_id == district.id)):
        sharing.setdefault(road.tariff_code, []).append(road.uuid)
    out: list[Published] = []
    for code in sorted({a.road.tariff_code for a in changing}):
        group = [a for a in changing if a.road.tariff_code == code]
        documents = [a.advised_document() for a in group]
        if len(group) == len(sharing[code]) and all(d == documents[0] for d in documents):
            version = publish_tariff(db, district, code, documents[0], effective_from, now)
            out.extend(Published(a.road, version, None) for a in group)
            continue
        for item, document in zip(group, documents, strict=True):
            out.append(_fork(db, district, item, document, effective_from, now))
    return out


def _fork(
    db: Session,
    district: District,
    advice: RoadAdvice,
    document: Mapping[str, Any],
    effective_from: datetime,
    now: datetime,
) -> Published:
    parent = advice.road.tariff_code
    code = f"{parent[:31]}-{advice.road.uuid[:8]}"
    history = db.scalars(
        select(TariffVersion)
        .where(TariffVersion.district_id == district.id, TariffVersion.code == parent)
        .order_by(TariffVersion.version)
    ).all()
    taken = db.scalar(
        select(TariffVersion.id).where(TariffVersion.district_id == district.id, TariffVersion.code == code)
    )
    if taken is not None:
        raise TariffCodeTakenError(f"tariff code {code} already exists", ["roads"])
    for old in history:  # the road keeps its whole price history under its own code
        db.add(
            TariffVersion(
                district_id=district.id,
                code=code,
                version=old.version,
                effective_from=old.effective_from,
                document=copy.deepcopy(old.document),
                created_at=now,
            )
        )
    db.flush()
    version = publish_tariff(db, district, code, document, effective_from, now)
    advice.road.tariff_code = code
    db.flush()
    return Published(advice.road, version, parent)
