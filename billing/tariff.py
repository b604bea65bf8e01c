"""Tariffs as data, and the fee of a stay.

A tariff document (JSON, versioned in `TariffVersion`) describes, for one kind of road:

- `bands`: named local-time bands. Each applies on some day types (`mon`..`sun`, and
  `holiday` for the dates listed in `holidays`) during some local windows `["HH:MM", "HH:MM"]`
  (`24:00` ends a day; a window never crosses midnight: a night band has two windows). On
  every day type the windows of the bands cover the whole day exactly once.
- each band's `tiers`: by time elapsed since arrival, a price per increment: the first tier
  applies until `until_minute`, the next one after it, the last one for ever.
- `free_minutes` at the start of every stay, `cap_per_day` (per local calendar day) and
  `cap_per_stay`, `max_stay_minutes` and `grace_minutes` (enforcement), `vehicle_classes`
  (a percentage of the fee and optionally their own free minutes), and `restrictions`:
  no-parking or no-stopping windows (a peak-hour clearway).
- `stay_limits` (optional): maximum stays of their own in some local windows, as a city's
  signs state them (`1P MTR M-SAT 7:30-18:30`): each with `days` and `windows` as a band's,
  `max_stay_minutes`, and what the sign says besides: `metered`, `loading_zone`,
  `disabled_only`, `disability_extension_minutes`, the `sign` text itself. On a date of
  `holidays` only the limits whose days include `holiday` apply. `grace_minutes` applies
  to them too. Which limit a stay crossing windows keeps is enforcement's rule
  (enforcement/window_limits.py, docs/ENFORCEMENT.md).

The fee is a parking meter: from the end of the free minutes, increments are bought one after
another until the stay has ended; each increment is priced by the band and tier in force at
the instant it begins, and a started increment is paid in full. Amounts of increments that
begin on the same local day are capped by `cap_per_day`, the stay by `cap_per_stay`, then the
vehicle class percentage applies (rounded half up). So the fee never decreases as a stay gets
longer and never exceeds the caps. Durations are real elapsed time; band edges are local wall
times (on a daylight-saving change an edge that does not exist is moved to the transition).
All arithmetic is in integer milliseconds and integer minor units of the district's currency.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from billing.tariff_document import parse_document
from billing.tariff_parts import (
    DAY_MINUTES,
    MINUTE_MS,
    WEEKDAYS,
    Band,
    Restriction,
    StayLimit,
    Tier,
    VehicleClass,
)


@dataclass(frozen=True)
class FeeLine:
    band: str
    tier: int
    starts_ms: int
    local_date: date
    increments: int
    increment_minutes: int
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.increments * self.unit_amount


@dataclass(frozen=True)
class Fee:
    amount: int
    gross: int  # before caps and the vehicle class
    lines: tuple[FeeLine, ...]
    day_caps: tuple[tuple[date, int, int], ...]  # (local date, charged, capped to)
    stay_cap_applied: bool
    vehicle_class: str | None
    percent: int
    free_minutes: int

    def breakdown(self) -> dict[str, Any]:
        """The stored, JSON-able account of how the fee was reached."""
        return {
            "free_minutes": self.free_minutes,
            "lines": [
                {
                    "band": line.band,
                    "tier": line.tier,
                    "from": _iso(line.starts_ms),
                    "local_date": line.local_date.isoformat(),
                    "increments": line.increments,
                    "increment_minutes": line.increment_minutes,
                    "unit_amount": line.unit_amount,
                    "amount": line.amount,
                }
                for line in self.lines
            ],
            "gross": self.gross,
            "day_caps": [
                {"local_date": d.isoformat(), "charged": c, "capped_to": t} for d, c, t in self.day_caps
            ],
            "stay_cap_applied": self.stay_cap_applied,
            "vehicle_class": self.vehicle_class,
            "percent": self.percent,
            "amount": self.amount,
        }


@dataclass(frozen=True)
class BandPeriod:
    starts_at: datetime
    ends_at: datetime
    band: Band


@dataclass(frozen=True)
class RestrictionPeriod:
    starts_at: datetime
    ends_at: datetime
    restriction: Restriction


def class_share(amount: int, percent: int) -> int:
    """What a vehicle class pays of `amount` at `percent`, rounded half up: the one rounding
    of money (the fee never decreases as a stay gets longer)."""
    return amount if percent == 100 else (amount * percent + 50) // 100


def minute_rate(tier: Tier, percent: int) -> int:
    """A tier's price per minute for a class, rounded down, as a CDS policy states its rates
    (the fee itself is priced by whole increments, `Tariff.fee`)."""
    return tier.amount // tier.increment_minutes * percent // 100


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _at(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _iso(ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")


class Tariff:
    """A validated tariff document, compiled for pricing in one district's time zone."""

    def __init__(self, document: Mapping[str, Any], time_zone: str) -> None:
        parsed = parse_document(document)
        self.document = dict(document)
        self.name: str = parsed["name"]
        self.bands: tuple[Band, ...] = parsed["bands"]
        self.free_ms: int = parsed["free_minutes"] * MINUTE_MS
        self.cap_per_day: int | None = parsed["cap_per_day"]
        self.cap_per_stay: int | None = parsed["cap_per_stay"]
        self.max_stay_minutes: int | None = parsed["max_stay_minutes"]
        self.grace_minutes: int = parsed["grace_minutes"]
        self.holidays: frozenset[date] = parsed["holidays"]
        self.vehicle_classes: dict[str, VehicleClass] = parsed["vehicle_classes"]
        self.restrictions: tuple[Restriction, ...] = parsed["restrictions"]
        self.stay_limits: tuple[StayLimit, ...] = parsed["stay_limits"]
        self.zone = ZoneInfo(time_zone)
        self._has_holiday_bands = any("holiday" in b.days for b in self.bands)
        self._segments = lru_cache(maxsize=64)(self._day_segments)

    # -- pricing ---------------------------------------------------------------------------

    def price(self, started_at: datetime, ended_at: datetime, vehicle_class: str | None = None) -> Fee:
        """The fee of a stay from `started_at` to `ended_at` (aware datetimes)."""
        return self.price_ms(_ms(started_at), _ms(ended_at), vehicle_class)

    def price_ms(self, start: int, end: int, vehicle_class: str | None = None) -> Fee:
        klass = self.vehicle_classes.get(vehicle_class) if vehicle_class else None
        free = klass.free_ms if klass is not None and klass.free_ms is not None else self.free_ms
        lines: list[FeeLine] = []
        t = start + free
        while t < end:
            seg_end, band, day = self._band_at(t)
            elapsed = t - start
            index = 0
            tiers = band.tiers
            while tiers[index].until_ms is not None and elapsed >= tiers[index].until_ms:  # type: ignore[operator]
                index += 1
            tier = tiers[index]
            limit = min(seg_end, end)
            if tier.until_ms is not None and start + tier.until_ms < limit:
                limit = start + tier.until_ms
            n = -(-(limit - t) // tier.increment_ms)
            last = lines[-1] if lines else None
            if last is not None and last.band == band.name and last.tier == index and last.local_date == day:
                lines[-1] = FeeLine(
                    last.band,
                    index,
                    last.starts_ms,
                    day,
                    last.increments + n,
                    last.increment_minutes,
                    last.unit_amount,
                )
            else:
                lines.append(FeeLine(band.name, index, t, day, n, tier.increment_minutes, tier.amount))
            t += n * tier.increment_ms
        gross = 0
        total = 0
        day_caps: list[tuple[date, int, int]] = []
        by_day: dict[date, int] = {}
        for line in lines:
            by_day[line.local_date] = by_day.get(line.local_date, 0) + line.amount
            gross += line.amount
        for day, charged in by_day.items():
            if self.cap_per_day is not None and charged > self.cap_per_day:
                day_caps.append((day, charged, self.cap_per_day))
                charged = self.cap_per_day
            total += charged
        stay_capped = self.cap_per_stay is not None and total > self.cap_per_stay
        if stay_capped:
            total = self.cap_per_stay  # type: ignore[assignment]
        percent = klass.percent if klass is not None else 100
        total = class_share(total, percent)
        return Fee(
            amount=total,
            gross=gross,
            lines=tuple(lines),
            day_caps=tuple(day_caps),
            stay_cap_applied=stay_capped,
            vehicle_class=vehicle_class if klass is not None else None,
            percent=percent,
            free_minutes=free // MINUTE_MS,
        )

    # -- local time ------------------------------------------------------------------------

    def day_type(self, day: date) -> str:
        if self._has_holiday_bands and day in self.holidays:
            return "holiday"
        return WEEKDAYS[day.weekday()]

    def band_at(self, at: datetime) -> str:
        """The name of the band in force at `at`."""
        return self._band_at(_ms(at))[1].name

    def restriction_at(self, at: datetime) -> Restriction | None:
        """The no-parking or no-stopping restriction in force at `at`, if any."""
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        kinds = {WEEKDAYS[local.weekday()]}
        if local.date() in self.holidays:
            kinds.add("holiday")
        for restriction in self.restrictions:
            if restriction.days & kinds and any(a <= minute < b for a, b in restriction.windows):
                return restriction
        return None

    def rest_of_day(self, at: datetime) -> tuple[list[BandPeriod], list[RestrictionPeriod]]:
        """What a driver arriving at `at` meets until the local day ends: the bands in force
        from `at` on (consecutive pieces of one band merged), and the restrictions that are in
        force or still to come that day."""
        local = at.astimezone(self.zone)
        day = local.date()
        t = _ms(at)
        starts, ends, bands = self._segments(day)
        periods: list[BandPeriod] = []
        for lo, hi, band in zip(starts, ends, bands, strict=True):
            if hi <= t:
                continue
            if periods and periods[-1].band.name == band.name and _ms(periods[-1].ends_at) == lo:
                periods[-1] = BandPeriod(periods[-1].starts_at, _at(hi), band)
            else:
                periods.append(BandPeriod(_at(max(lo, t)), _at(hi), band))
        kinds = {WEEKDAYS[day.weekday()]} | ({"holiday"} if day in self.holidays else set())
        restrictions = [
            RestrictionPeriod(_at(max(self._local_ms(day, a), t)), _at(self._local_ms(day, b)), restriction)
            for restriction in self.restrictions
            if restriction.days & kinds
            for a, b in restriction.windows
            if self._local_ms(day, b) > t
        ]
        return periods, sorted(restrictions, key=lambda r: r.starts_at)

    def _band_at(self, t: int) -> tuple[int, Band, date]:
        """(end of the segment holding `t`, its band, its local date)."""
        day = datetime.fromtimestamp(t / 1000, self.zone).date()
        starts, ends, bands = self._segments(day)
        i = bisect.bisect_right(starts, t) - 1
        if i < 0:  # only around a daylight-saving edge: the previous day holds it
            day -= timedelta(days=1)
            starts, ends, bands = self._segments(day)
            i = len(starts) - 1
        return ends[i], bands[i], day

    def _day_segments(self, day: date) -> tuple[list[int], list[int], list[Band]]:
        kind = self.day_type(day)
        pieces = sorted((a, b, band) for band in self.bands if kind in band.days for a, b in band.windows)
        starts: list[int] = []
        ends: list[int] = []
        bands: list[Band] = []
        floor = self._local_ms(day, 0)
        for a, b, band in pieces:
            lo = max(self._local_ms(day, a), floor)
            hi = max(self._local_ms(day, b), lo)
            floor = hi
            if hi > lo:
                starts.append(lo)
                ends.append(hi)
                bands.append(band)
        return starts, ends, bands

    def _local_ms(self, day: date, minute: int) -> int:
        if minute >= DAY_MINUTES:
            day, minute = day + timedelta(days=1), minute - DAY_MINUTES
        wall = datetime.combine(day, time(minute // 60, minute % 60))
        local = wall.replace(tzinfo=self.zone)
        if local.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) == wall:
            return _ms(local)
        # A wall time skipped by daylight saving: the edge moves to the transition, the first
        # instant whose wall time is past it (fold 1 reads it before, fold 0 after).
        lo, hi = _ms(local.replace(fold=1)) // 1000, _ms(local) // 1000
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self.zone).replace(tzinfo=None) >= wall:
                hi = mid
            else:
                lo = mid
        return hi * 1000


def _ms(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


# -- the document ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoFar:
    """A stay still going, as its driver sees it at `now`: how long, what it costs so far,
    the band in force, and the time left before its maximum stay (None: no tariff, or none
    that limits the stay)."""

    elapsed: timedelta
    fee: int | None
    band: str | None
    max_stay_minutes: int | None
    time_left: timedelta | None


def so_far(tariff: Tariff | None, started_at: datetime, vehicle_class: str | None, now: datetime) -> SoFar:
    """The running figures of a stay that began at `started_at`, priced by `tariff`."""
    upto = max(now, started_at)
    if tariff is None:
        return SoFar(upto - started_at, None, None, None, None)
    limit = tariff.max_stay_minutes
    left = None if limit is None else max(timedelta(0), started_at + timedelta(minutes=limit) - now)
    fee = tariff.price(started_at, upto, vehicle_class).amount
    return SoFar(upto - started_at, fee, tariff.band_at(now), limit, left)
