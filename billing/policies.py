"""Tariff versions published as CDS 1.1 Curb Policies.

Each band of a version becomes one policy: a `parking` rule per vehicle class (its share of
the rates), then the general rule; its rates are the free minutes (rate 0) and the tiers, each
a whole amount per minute with `increment_duration` and `start_duration`/`end_duration` in
minutes since arrival, `maximum_fee` the cap per stay; its time spans are the band's windows
within the version's validity. Each restriction (a clearway) becomes a `no stopping` or
`no parking` policy that takes precedence (priority 1) over holiday bands (2) and other bands
(3). Each window-specific maximum stay (`stay_limits`, a city's signs) becomes a policy of
priority 2 whose rule states the limit (`max_stay` in minutes; `loading` for a loading zone;
only for `accessible` users in a bay for disability permits, with a first rule giving them
their extension elsewhere) and whose time spans are the sign's. Policy ids are derived from the version and the version after it, so an id always names
the same content (CDS requires it) even once a later version bounds this one's validity.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from billing.models import TariffVersion
from billing.tariff import Tariff, class_share, minute_rate
from billing.tariff_document import hhmm
from billing.tariff_parts import WEEKDAYS, Band, StayLimit
from billing.tariffs import TariffBook, compiled
from parking.clock import to_ms
from parking.models import District

_NAMESPACE = uuid.UUID("6f1d3c52-1c1e-4b8e-9b9e-6a3f2b7c9d10")


def policy_id(version: TariffVersion, following: TariffVersion | None, part: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{version.uuid}:{following.uuid if following else '-'}:{part}"))


def version_policies(
    version: TariffVersion, following: TariffVersion | None, tariff: Tariff
) -> list[dict[str, Any]]:
    """The CDS policies of one tariff version; `following` is the next version of the same
    tariff, whose start ends this one's validity."""
    start = to_ms(version.effective_from)
    end = to_ms(following.effective_from) if following is not None else None
    published = to_ms(version.created_at)
    policies: list[dict[str, Any]] = []
    for i, restriction in enumerate(tariff.restrictions):
        policies.append(
            {
                "curb_policy_id": policy_id(version, following, f"restriction:{i}"),
                "name": f"{tariff.name}: {restriction.name}",
                "published_date": published,
                "priority": 1,
                "rules": [{"activity": restriction.activity}],
                "time_spans": _spans(restriction.days, restriction.windows, start, end),
            }
        )
    for i, limit in enumerate(tariff.stay_limits):
        policies.append(
            {
                "curb_policy_id": policy_id(version, following, f"limit:{i}"),
                "name": limit.sign or limit.name,
                "description": _limit_description(tariff, limit, version),
                "published_date": published,
                "priority": 2,
                "rules": _limit_rules(limit),
                "time_spans": _spans(limit.days, limit.windows, start, end),
            }
        )
    for i, band in enumerate(tariff.bands):
        policies.append(
            {
                "curb_policy_id": policy_id(version, following, f"band:{i}"),
                "name": f"{tariff.name}: {band.name}",
                "description": _description(tariff, band, version),
                "published_date": published,
                "priority": 2 if "holiday" in band.days else 3,
                "rules": _rules(tariff, band),
                "time_spans": _spans(band.days, band.windows, start, end),
            }
        )
    return policies


def _limit_rules(limit: StayLimit) -> list[dict[str, Any]]:
    rule: dict[str, Any] = {
        "activity": "loading" if limit.loading_zone else "parking",
        "max_stay": limit.max_stay_minutes,
        "max_stay_unit": "minute",
    }
    if limit.disabled_only:
        return [{**rule, "user_classes": ["accessible"]}]
    rules = []
    if limit.disability_extension_minutes:
        rules.append({**rule, "max_stay": limit.disability_extension_minutes, "user_classes": ["accessible"]})
    rules.append(rule)
    return rules


def _limit_description(tariff: Tariff, limit: StayLimit, version: TariffVersion) -> str:
    parts = [f"Tariff {version.code} version {version.version}. Sign: {limit.sign or limit.name}."]
    parts.append("Metered." if limit.metered else "Not metered.")
    if limit.loading_zone:
        parts.append("Loading zone.")
    if limit.disabled_only:
        parts.append("Disability permit holders only.")
    parts.append(f"Overstays after the limit plus {tariff.grace_minutes} minutes of grace.")
    return " ".join(parts)


def _rules(tariff: Tariff, band: Band) -> list[dict[str, Any]]:
    rules = []
    for name, klass in tariff.vehicle_classes.items():
        free = klass.free_ms // 60_000 if klass.free_ms is not None else tariff.free_ms // 60_000
        rule = _rule(tariff, band, free, klass.percent)
        rule["user_classes"] = [name]
        rules.append(rule)
    rules.append(_rule(tariff, band, tariff.free_ms // 60_000, 100))
    return rules


def _rule(tariff: Tariff, band: Band, free: int, percent: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"activity": "parking"}
    if tariff.max_stay_minutes is not None:
        rule.update(max_stay=tariff.max_stay_minutes, max_stay_unit="minute")
    rates: list[dict[str, Any]] = []
    if free:
        rates.append({"rate": 0, "rate_unit": "minute", "start_duration": 0, "end_duration": free})
    previous = 0
    for tier in band.tiers:
        until = tier.until_ms // 60_000 if tier.until_ms is not None else None
        begins = max(previous, free)
        previous = until or previous
        if until is not None and until <= begins:
            continue  # wholly inside the free minutes
        rate: dict[str, Any] = {
            "rate": minute_rate(tier, percent),
            "rate_unit": "minute",
            "rate_unit_period": "rolling",
            "increment_duration": tier.increment_minutes,
            "start_duration": begins,
        }
        if until is not None:
            rate["end_duration"] = until
        if tariff.cap_per_stay is not None:
            # rounded as the fee itself is: the most any stay of the class pays
            rate["maximum_fee"] = class_share(tariff.cap_per_stay, percent)
        rates.append(rate)
    rule["rate"] = rates
    return rule


def _spans(
    days: frozenset[str], windows: tuple[tuple[int, int], ...], start: int, end: int | None
) -> list[dict[str, Any]]:
    week = [d for d in WEEKDAYS if d in days]
    spans = []
    for a, b in windows:
        base: dict[str, Any] = {"start_date": start, "time_of_day_start": hhmm(a), "time_of_day_end": hhmm(b)}
        if end is not None:
            base["end_date"] = end
        if week:
            spans.append({**base, "days_of_week": week})
        if "holiday" in days:
            spans.append({**base, "designated_period": "holiday"})
    return spans


def _description(tariff: Tariff, band: Band, version: TariffVersion) -> str:
    parts = [f"Tariff {version.code} version {version.version}."]
    if tariff.free_ms:
        parts.append(f"First {tariff.free_ms // 60_000} minutes free.")
    if tariff.cap_per_day is not None:
        parts.append(f"At most {tariff.cap_per_day} per local day.")
    parts.append(
        "Each increment is priced by the band in force when it begins; a started increment is paid in full."
    )
    return " ".join(parts)


def district_policies(
    db: Session, district: District, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The policies of every tariff version in force now or later (past ones are left out),
    and, by tariff code, the ids of the policies in force now (for the zones)."""
    policies: list[dict[str, Any]] = []
    current: dict[str, list[str]] = {}
    for code, versions in TariffBook.load(db, district).versions.items():
        for i, version in enumerate(versions):
            following = versions[i + 1] if i + 1 < len(versions) else None
            if following is not None and following.effective_from <= now:
                continue
            found = version_policies(version, following, compiled(version, district.time_zone))
            policies.extend(found)
            if version.effective_from <= now:
                current[code] = [p["curb_policy_id"] for p in found]
    return policies, current
