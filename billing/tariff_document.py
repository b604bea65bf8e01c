"""The tariff document read and checked into its parts (billing/tariff_parts.py), every
problem listed at once (`InvalidTariffError`). The format is described in billing/tariff.py,
which prices stays by the parts read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeGuard

from billing.tariff_parts import (
    DAY_MINUTES,
    DAY_TYPES,
    MINUTE_MS,
    RESTRICTION_ACTIVITIES,
    WEEKDAYS,
    Band,
    InvalidTariffError,
    Restriction,
    StayLimit,
    TariffGapError,
    TariffOverlapError,
    Tier,
    VehicleClass,
)


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
    if not _is_int(value) or value < (1 if positive else 0) or value > 7 * DAY_MINUTES:
        problems.append(f"{key}: a whole number of minutes from {1 if positive else 0} to {7 * DAY_MINUTES}")
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
    if int(minutes) > 59 or minute > DAY_MINUTES:
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
            if not _is_int(increment) or not 1 <= increment <= DAY_MINUTES:
                problems.append(f"{here}.increment_minutes: whole minutes from 1 to {DAY_MINUTES}")
                increment = 1
            amount = _amount(tier.get("amount"), f"{here}.amount", problems)
            if not last and _is_int(until):
                previous = until
            tiers.append(
                Tier(
                    until_ms=until * MINUTE_MS if (not last and _is_int(until)) else None,
                    increment_ms=increment * MINUTE_MS,
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
        classes[name] = VehicleClass(percent=percent, free_ms=None if free is None else free * MINUTE_MS)
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
        if at < DAY_MINUTES:
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
