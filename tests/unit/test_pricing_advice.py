"""The demand-responsive rule: the 60/80 % edges, steps and bounds, once a month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billing.models import TariffVersion
from billing.pricing_advice import (
    HOLD,
    KEEP,
    LOWER,
    RAISE,
    PricingRule,
    action_for,
    advise_road,
    advised_rate,
    granule,
    held_until,
    mean_occupancy,
    step_of,
)
from billing.tariff import Tariff
from billing.tariffs import TariffBook
from fixtures.tariffs import CORE, STANDARD
from parking.metrics import OFFLINE, Hour, local_hours
from parking.models import District, Road

RULE = PricingRule(min_per_minute=0, max_per_minute=40)
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("occupancy", "action"),
    [
        (80.0, RAISE),
        (79.99, KEEP),
        (100.0, RAISE),
        (60.0, KEEP),
        (59.99, LOWER),
        (0.0, LOWER),
        (None, KEEP),
    ],
)
def test_80_percent_raises_60_keeps_and_below_60_lowers(occupancy: float | None, action: str) -> None:
    assert action_for(occupancy, RULE)[0] == action


def test_no_measured_hour_means_no_change() -> None:
    assert action_for(None, RULE) == (KEEP, "no_data")
    assert mean_occupancy([OFFLINE, OFFLINE]) == (None, 0)


def test_the_mean_leaves_offline_hours_out_and_is_rounded_before_it_is_compared() -> None:
    assert mean_occupancy([80.0, OFFLINE, 79.995]) == (80.0, 2)
    assert action_for(mean_occupancy([80.0, 79.995])[0], RULE)[0] == RAISE


def test_the_granule_makes_every_vehicle_class_share_whole() -> None:
    assert granule([]) == 1
    assert granule([50]) == 2
    assert granule([50, 25]) == 4
    assert granule([30]) == 10


def test_a_step_is_a_quarter_of_the_rate_rounded_to_the_granule_and_at_least_one() -> None:
    assert step_of(10, 2, RULE) == 2  # 2.5 -> 2
    assert step_of(12, 2, RULE) == 4  # 3 -> 4 (half up in granules)
    assert step_of(40, 1, RULE) == 10
    assert step_of(0, 2, RULE) == 2
    assert step_of(1, 1, RULE) == 1


def test_rates_stay_within_the_bounds() -> None:
    assert advised_rate(10, RAISE, 2, RULE) == 12
    assert advised_rate(38, RAISE, 2, RULE) == 40  # clamped at the maximum
    assert advised_rate(40, RAISE, 2, RULE) == 40
    assert advised_rate(2, LOWER, 2, RULE) == 0
    assert advised_rate(0, LOWER, 2, RULE) == 0
    narrow = PricingRule(min_per_minute=5, max_per_minute=13)
    assert advised_rate(6, LOWER, 2, narrow) == 6  # the minimum rounds up to a granule: 6
    assert advised_rate(12, RAISE, 2, narrow) == 12  # the maximum rounds down: 12
    assert advised_rate(50, RAISE, 2, narrow) == 50  # never pushed further out of bounds
    assert advised_rate(50, LOWER, 2, narrow) == 38


def version(code: str, effective_from: datetime, document: dict[str, object]) -> TariffVersion:
    return TariffVersion(code=code, version=1, effective_from=effective_from, document=document)


def book(*versions: TariffVersion) -> TariffBook:
    by_code: dict[str, list[TariffVersion]] = {}
    for v in sorted(versions, key=lambda v: v.effective_from):
        by_code.setdefault(v.code, []).append(v)
    return TariffBook(District(time_zone="Asia/Shanghai"), by_code)


def test_a_tariff_changed_within_30_days_or_pending_holds_its_roads() -> None:
    old = version("core", NOW - timedelta(days=31), CORE)
    assert held_until(book(old), "core", NOW, RULE) is None
    recent = version("core", NOW - timedelta(days=29), CORE)
    assert held_until(book(old, recent), "core", NOW, RULE) == NOW + timedelta(days=1)
    pending = version("core", NOW + timedelta(days=3), CORE)
    assert held_until(book(old, pending), "core", NOW, RULE) == NOW + timedelta(days=33)
    assert held_until(book(old), "unknown", NOW, RULE) is None


def hourly_of(tariff: Tariff, day: float, night: float) -> dict[Hour, float]:
    hours = local_hours(
        datetime(2026, 2, 2, tzinfo=SHANGHAI).astimezone(UTC), datetime(2026, 2, 3, tzinfo=SHANGHAI), SHANGHAI
    )
    return {h: day if tariff.band_at(h.start) == "日间" else night for h in hours}


def test_a_road_is_advised_per_band_and_every_tier_moves() -> None:
    tariff = Tariff(CORE, "Asia/Shanghai")
    road = Road(uuid="r", name="Jianshan Road", tariff_code="core")
    advice = advise_road(road, version("core", NOW, CORE), tariff, hourly_of(tariff, 85.0, 30.0), None, RULE)
    day, night = advice.bands
    assert (day.band, day.occupancy_percent, day.hours_measured, day.action) == ("日间", 85.0, 12, RAISE)
    assert (day.current_rates, day.advised_rates) == ((10, 20), (12, 26))  # steps 2.5 -> 2 and 5 -> 6
    assert (night.current_rates, night.advised_rates, night.action) == ((2,), (0,), LOWER)
    document = advice.advised_document()
    assert [t["amount"] for t in document["bands"][0]["tiers"]] == [180, 780]
    Tariff(document, "Asia/Shanghai")
    assert CORE["bands"][0]["tiers"][0]["amount"] == 150  # the current document is untouched


def test_a_held_road_keeps_its_rates_whatever_the_occupancy() -> None:
    tariff = Tariff(STANDARD, "Asia/Shanghai")
    road = Road(uuid="r", name="Zhaohui Road", tariff_code="standard")
    until = NOW + timedelta(days=3)
    advice = advise_road(
        road, version("standard", NOW, STANDARD), tariff, hourly_of(tariff, 95.0, 5.0), until, RULE
    )
    assert {b.action for b in advice.bands} == {HOLD}
    assert not advice.changes and advice.held_until == until
