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
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from parking.errors import N_, InvalidInputError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_TYPES = (*WEEKDAYS, "holiday")
RESTRICTION_ACTIVITIES = ("no parking", "no stopping")
# What a person reads for each activity, through the catalogue of the reader's language.
RESTRICTION_WORDS = {"no parking": N_("No parking"), "no stopping": N_("No stopping")}
_MINUTE_MS = 60_000
_DAY_MINUTES = 24 * 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidTariffError(InvalidInputError):
    code = "invalid_tariff"


class TariffGapError(InvalidTariffError):
    code = "tariff_gap"


class TariffOverlapError(InvalidTariffError):
    code = "tariff_overlap"


@dataclass(frozen=True)
class Tier:
    until_ms: int | None  # elapsed time since arrival at which the next tier takes over
    increment_ms: int
    amount: int  # per increment

    @property
    def increment_minutes(self) -> int:
        return self.increment_ms // _MINUTE_MS


@dataclass(frozen=True)
class Band:
    name: str
    days: frozenset[str]
    windows: tuple[tuple[int, int], ...]  # local minutes of the day, [start, end)
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class VehicleClass:
    percent: int
    free_ms: int | None


@dataclass(frozen=True)
class Restriction:
    name: str
    activity: str
    days: frozenset[str]
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class StayLimit:
    name: str
    days: frozenset[str]
    windows: tuple[tuple[int, int], ...]
    max_stay_minutes: int
    metered: bool = False
    loading_zone: bool = False
    disabled_only: bool = False
    disability_extension_minutes: int | None = None
    sign: str | None = None


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
        self.free_ms: int = parsed["free_minutes"] * _MINUTE_MS
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
            free_minutes=free // _MINUTE_MS,
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
        if minute >= _DAY_MINUTES:
            day, minute = day + timedelta(days=1), minute - _DAY_MINUTES
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


def parse_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """Check a tariff document and return its parts; raise an `InvalidTariffError` (or its
    gap and overlap kinds) naming every broken field."""
    if not isinstance(document, Mapping):
        raise InvalidTariffError("a tariff must be a JSON object")
    problems: list[str] = []
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("name: a non-empty string is required")
    free = _minutes(document, "free_minutes", problems, default=0)
    max_stay = _minutes(document, "max_stay_minutes", problems, default=None, positive=True)
    grace = _minutes(document, "grace_minutes", problems, default=0)
    cap_day = _amount(document.get("cap_per_day"), "cap_per_day", problems, optional=True)
    cap_stay = _amount(document.get("cap_per_stay"), "cap_per_stay", problems, optional=True)
    holidays = _holidays(document.get("holidays", []), problems)
    raw_bands = document.get("bands")
    bands: list[Band] = []
    if not isinstance(raw_bands, list) or not raw_bands:
        problems.append("bands: a non-empty list is required")
    else:
        for i, raw in enumerate(raw_bands):
            band = _band(raw, f"bands[{i}]", problems)
            if band is not None:
                bands.append(band)
    classes = _vehicle_classes(document.get("vehicle_classes", {}), problems)
    restrictions = _restrictions(document.get("restrictions", []), problems)
    stay_limits = _stay_limits(document.get("stay_limits", []), problems)
    unknown = set(document) - _DOCUMENT_KEYS
    if unknown:
        problems.append(f"unknown fields: {', '.join(sorted(unknown))}")
    if problems:
        raise InvalidTariffError("the tariff is not valid", problems)
    _check_coverage(bands)
    _check_expressible(bands, classes)
    return {
        "name": name,
        "free_minutes": free,
        "max_stay_minutes": max_stay,
        "grace_minutes": grace,
        "cap_per_day": cap_day,
        "cap_per_stay": cap_stay,
        "holidays": holidays,
        "bands": tuple(bands),
        "vehicle_classes": classes,
        "restrictions": restrictions,
        "stay_limits": stay_limits,
    }


_DOCUMENT_KEYS = {
    "name",
    "description",
    "free_minutes",
    "max_stay_minutes",
    "grace_minutes",
    "cap_per_day",
    "cap_per_stay",
    "holidays",
    "bands",
    "vehicle_classes",
    "restrictions",
    "stay_limits",
}

_BAND_KEYS = {"name", "days", "windows", "tiers"}
_TIER_KEYS = {"until_minute", "increment_minutes", "amount"}
_CLASS_KEYS = {"percent", "free_minutes"}
_RESTRICTION_KEYS = {"name", "activity", "days", "windows"}
_LIMIT_KEYS = {
    "name",
    "days",
    "windows",
    "max_stay_minutes",
    "metered",
    "loading_zone",
    "disabled_only",
    "disability_extension_minutes",
    "sign",
}
_LIMIT_FLAGS = ("metered", "loading_zone", "disabled_only")


def _unknown_fields(raw: Mapping[str, Any], known: set[str], where: str, problems: list[str]) -> None:
    unknown = set(raw) - known
    if unknown:
        problems.append(f"{where}: unknown fields: {', '.join(sorted(map(str, unknown)))}")


def _minutes(
    document: Mapping[str, Any], key: str, problems: list[str], default: int | None, positive: bool = False
) -> Any:
    value = document.get(key, default)
    if value is None and default is None:
        return None
    if not _is_int(value) or value < (1 if positive else 0) or value > 7 * _DAY_MINUTES:
        problems.append(f"{key}: a whole number of minutes from {1 if positive else 0} to {7 * _DAY_MINUTES}")
        return default
    return value


def _amount(value: Any, where: str, problems: list[str], optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if not _is_int(value) or value < 0:
        problems.append(f"{where}: an amount is a whole, non-negative number of minor units")
        return None
    return int(value)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _holidays(raw: Any, problems: list[str]) -> frozenset[date]:
    if not isinstance(raw, list):
        problems.append("holidays: a list of YYYY-MM-DD dates")
        return frozenset()
    days: set[date] = set()
    for i, value in enumerate(raw):
        try:
            days.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            problems.append(f"holidays[{i}]: not a YYYY-MM-DD date")
    return frozenset(days)


def _days(raw: Any, where: str, problems: list[str]) -> frozenset[str]:
    if not isinstance(raw, list) or not raw or any(d not in DAY_TYPES for d in raw):
        problems.append(f"{where}.days: a non-empty list of {', '.join(DAY_TYPES)}")
        return frozenset()
    return frozenset(raw)


def _clock(value: Any) -> int | None:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    hours, minutes = value[:2], value[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    minute = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or minute > _DAY_MINUTES:
        return None
    return minute


def _windows(raw: Any, where: str, problems: list[str]) -> tuple[tuple[int, int], ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f'{where}.windows: a non-empty list of ["HH:MM", "HH:MM"]')
        return ()
    windows: list[tuple[int, int]] = []
    for i, pair in enumerate(raw):
        a, b = (
            (_clock(pair[0]), _clock(pair[1])) if isinstance(pair, list) and len(pair) == 2 else (None, None)
        )
        if a is None or b is None or a >= b:
            problems.append(
                f'{where}.windows[{i}]: ["HH:MM", "HH:MM"] with the start before the end '
                "(24:00 ends a day; split a window that crosses midnight in two)"
            )
            continue
        windows.append((a, b))
    return tuple(windows)


def _band(raw: Any, where: str, problems: list[str]) -> Band | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: a band is an object")
        return None
    before = len(problems)
    _unknown_fields(raw, _BAND_KEYS, where, problems)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{where}.name: a non-empty string is required")
    days = _days(raw.get("days"), where, problems)
    windows = _windows(raw.get("windows"), where, problems)
    tiers: list[Tier] = []
    raw_tiers = raw.get("tiers")
    if not isinstance(raw_tiers, list) or not raw_tiers:
        problems.append(f"{where}.tiers: a non-empty list is required")
    else:
        previous = 0
        for i, tier in enumerate(raw_tiers):
            here = f"{where}.tiers[{i}]"
            if not isinstance(tier, Mapping):
                problems.append(f"{here}: a tier is an object")
                continue
            _unknown_fields(tier, _TIER_KEYS, here, problems)
            until = tier.get("until_minute")
            last = i == len(raw_tiers) - 1
            if last and until is not None:
                problems.append(f"{here}.until_minute: the last tier has none (it applies for ever)")
            if not last and (not _is_int(until) or until <= previous):
                problems.append(f"{here}.until_minute: whole minutes, after the previous tier's")
                until = None
            increment = tier.get("increment_minutes")
            if not _is_int(increment) or not 1 <= increment <= _DAY_MINUTES:
                problems.append(f"{here}.increment_minutes: whole minutes from 1 to {_DAY_MINUTES}")
                increment = 1
            amount = _amount(tier.get("amount"), f"{here}.amount", problems)
            if not last and _is_int(until):
                previous = until
            tiers.append(
                Tier(
                    until_ms=until * _MINUTE_MS if (not last and _is_int(until)) else None,
                    increment_ms=increment * _MINUTE_MS,
                    amount=amount or 0,
                )
            )
    if len(problems) > before:
        return None
    return Band(name=name, days=days, windows=windows, tiers=tuple(tiers))  # type: ignore[arg-type]


def _vehicle_classes(raw: Any, problems: list[str]) -> dict[str, VehicleClass]:
    if not isinstance(raw, Mapping):
        problems.append("vehicle_classes: an object of class name to {percent, free_minutes}")
        return {}
    classes: dict[str, VehicleClass] = {}
    for name, spec in raw.items():
        where = f"vehicle_classes.{name}"
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: an object with percent and optional free_minutes")
            continue
        _unknown_fields(spec, _CLASS_KEYS, where, problems)
        percent = spec.get("percent")
        if not _is_int(percent) or not 0 <= percent <= 100:
            problems.append(f"{where}.percent: a whole percentage of the fee, 0 to 100")
            continue
        free = _minutes(spec, "free_minutes", problems, default=None)
        classes[name] = VehicleClass(percent=percent, free_ms=None if free is None else free * _MINUTE_MS)
    return classes


def _restrictions(raw: Any, problems: list[str]) -> tuple[Restriction, ...]:
    if not isinstance(raw, list):
        problems.append("restrictions: a list")
        return ()
    found: list[Restriction] = []
    for i, spec in enumerate(raw):
        where = f"restrictions[{i}]"
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: a restriction is an object")
            continue
        before = len(problems)
        _unknown_fields(spec, _RESTRICTION_KEYS, where, problems)
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: a non-empty string is required")
        activity = spec.get("activity")
        if activity not in RESTRICTION_ACTIVITIES:
            problems.append(f"{where}.activity: one of {', '.join(RESTRICTION_ACTIVITIES)}")
        days = _days(spec.get("days"), where, problems)
        windows = _windows(spec.get("windows"), where, problems)
        if len(problems) == before:
            found.append(Restriction(name=name, activity=activity, days=days, windows=windows))  # type: ignore[arg-type]
    return tuple(found)


def _stay_limits(raw: Any, problems: list[str]) -> tuple[StayLimit, ...]:
    if not isinstance(raw, list):
        problems.append("stay_limits: a list")
        return ()
    found: list[StayLimit] = []
    for i, spec in enumerate(raw):
        where = f"stay_limits[{i}]"
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: a stay limit is an object")
            continue
        before = len(problems)
        _unknown_fields(spec, _LIMIT_KEYS, where, problems)
        name, sign = spec.get("name"), spec.get("sign")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: a non-empty string is required")
        if sign is not None and not isinstance(sign, str):
            problems.append(f"{where}.sign: the sign's text, a string")
        days = _days(spec.get("days"), where, problems)
        windows = _windows(spec.get("windows"), where, problems)
        max_stay = _minutes(spec, "max_stay_minutes", problems, default=None, positive=True)
        extension = _minutes(spec, "disability_extension_minutes", problems, default=None)
        for flag in _LIMIT_FLAGS:
            if not isinstance(spec.get(flag, False), bool):
                problems.append(f"{where}.{flag}: true or false")
        if max_stay is None:
            problems.append(f"{where}.max_stay_minutes: required")
        if len(problems) == before:
            found.append(
                StayLimit(
                    name=name,  # type: ignore[arg-type]
                    days=days,
                    windows=windows,
                    max_stay_minutes=max_stay,
                    disability_extension_minutes=extension,
                    sign=sign,
                    **{flag: spec.get(flag, False) for flag in _LIMIT_FLAGS},
                )
            )
    return tuple(found)


def _check_coverage(bands: list[Band]) -> None:
    """Every day type the tariff prices is covered by exactly one band at every minute."""
    kinds = [*WEEKDAYS, *(("holiday",) if any("holiday" in b.days for b in bands) else ())]
    gaps: list[str] = []
    overlaps: list[str] = []
    for kind in kinds:
        pieces = sorted((a, b, band.name) for band in bands if kind in band.days for a, b in band.windows)
        at = 0
        last_name = ""
        for a, b, name in pieces:
            if a > at:
                gaps.append(f"{kind} {hhmm(at)}-{hhmm(a)}: no band")
            elif a < at:
                overlaps.append(f"{kind} {hhmm(a)}-{hhmm(min(at, b))}: {last_name} and {name}")
            if b > at:
                at, last_name = b, name
        if at < _DAY_MINUTES:
            gaps.append(f"{kind} {hhmm(at)}-24:00: no band")
    if overlaps:
        raise TariffOverlapError("two bands of the tariff apply at the same time", overlaps)
    if gaps:
        raise TariffGapError("the tariff's bands leave times with no rate", gaps)


def _check_expressible(bands: list[Band], classes: Mapping[str, VehicleClass]) -> None:
    """Each rate, and each vehicle class's share of it, must be a whole amount per minute so
    that the tariff can be published exactly as CDS rates (integer minor units per minute)."""
    problems: list[str] = []
    for band in bands:
        for i, tier in enumerate(band.tiers):
            if tier.amount % tier.increment_minutes:
                problems.append(
                    f"band {band.name} tier {i}: {tier.amount} per {tier.increment_minutes} min "
                    "is not a whole amount per minute"
                )
                continue
            per_minute = tier.amount // tier.increment_minutes
            for name, klass in classes.items():
                if per_minute * klass.percent % 100:
                    problems.append(
                        f"band {band.name} tier {i}: {klass.percent}% of {per_minute} per minute "
                        f"for {name} is not a whole amount"
                    )
    if problems:
        raise InvalidTariffError("the tariff cannot be published as CDS rates", problems)


def hhmm(minute: int) -> str:
    """A minute of the day as HH:MM (24:00 for the end of the day)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"
