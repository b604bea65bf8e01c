"""Window-specific maximum stays (a city's signs) and when a stay breaks them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from billing.tariff import Tariff
from billing.tariff_parts import InvalidTariffError
from enforcement.window_limits import first_breach, shortest_limit

ZONE = ZoneInfo("Australia/Melbourne")
SATURDAY = datetime(2014, 1, 11, tzinfo=ZONE)
MON_SAT = ["mon", "tue", "wed", "thu", "fri", "sat"]


def signs(*limits: dict[str, Any], grace: int = 5, holidays: list[str] | None = None) -> Tariff:
    return Tariff(
        {
            "name": "signs",
            "bands": [
                {
                    "name": "no fee",
                    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"],
                    "windows": [["00:00", "24:00"]],
                    "tiers": [{"increment_minutes": 60, "amount": 0}],
                }
            ],
            "grace_minutes": grace,
            "holidays": holidays or [],
            "stay_limits": list(limits),
        },
        "Australia/Melbourne",
    )


ONE_HOUR = {"name": "1P", "days": MON_SAT, "windows": [["07:30", "18:30"]], "max_stay_minutes": 60}
TWO_HOURS_EVENING = {"name": "2P", "days": MON_SAT, "windows": [["18:30", "20:30"]], "max_stay_minutes": 120}


def at(hours: int, minutes: int = 0, seconds: int = 0) -> datetime:
    return SATURDAY + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def test_a_stay_breaks_its_window_limit_only_once_past_the_limit_plus_the_grace() -> None:
    tariff = signs(ONE_HOUR)
    assert first_breach(tariff, at(10), at(11, 5)) is None
    breach = first_breach(tariff, at(10), at(11, 5, 1))
    assert breach is not None and breach.at == at(11, 5) and breach.limit.name == "1P"


def test_time_parked_before_the_sign_applies_does_not_count() -> None:
    tariff = signs(ONE_HOUR)
    assert first_breach(tariff, at(7), at(8, 35)) is None
    breach = first_breach(tariff, at(7), at(8, 36))
    assert breach is not None and breach.clock_started_at == at(7, 30)


def test_a_stay_crossing_into_a_longer_window_keeps_the_limit_it_parked_under() -> None:
    tariff = signs(ONE_HOUR, TWO_HOURS_EVENING)
    breach = first_breach(tariff, at(18), at(19, 30))
    assert breach is not None and breach.at == at(19, 5) and breach.limit.name == "1P"


def test_a_stay_running_past_the_last_window_into_free_time_does_not_overstay() -> None:
    tariff = signs(ONE_HOUR)
    assert first_breach(tariff, at(18), at(22)) is None


def test_the_clock_starts_again_in_a_window_after_unrestricted_time() -> None:
    morning = {"name": "1P morning", "days": ["sat"], "windows": [["07:30", "12:30"]], "max_stay_minutes": 60}
    evening = {"name": "1P evening", "days": ["sat"], "windows": [["14:00", "18:00"]], "max_stay_minutes": 60}
    tariff = signs(morning, evening)
    assert first_breach(tariff, at(12), at(15)) is None
    breach = first_breach(tariff, at(12), at(15, 6))
    assert breach is not None and breach.clock_started_at == at(14)


def test_signs_that_do_not_apply_that_day_or_on_a_holiday_are_not_enforced() -> None:
    sunday = {"name": "1P SUN", "days": ["sun"], "windows": [["07:30", "18:30"]], "max_stay_minutes": 60}
    assert first_breach(signs(sunday), at(9), at(12)) is None
    holiday = signs(ONE_HOUR, holidays=["2014-01-11"])
    assert first_breach(holiday, at(9), at(12)) is None
    on_holidays = signs({**ONE_HOUR, "days": [*MON_SAT, "holiday"]}, holidays=["2014-01-11"])
    assert first_breach(on_holidays, at(9), at(12)) is not None


def test_where_two_signs_overlap_the_stricter_limit_applies() -> None:
    quarter = {"name": "1/4P", "days": ["sat"], "windows": [["09:00", "10:00"]], "max_stay_minutes": 15}
    breach = first_breach(signs(ONE_HOUR, quarter), at(9), at(9, 30))
    assert breach is not None and breach.limit.name == "1/4P"


def test_no_stay_shorter_than_the_least_limit_plus_grace_can_overstay() -> None:
    assert shortest_limit(signs(ONE_HOUR, TWO_HOURS_EVENING)) == timedelta(minutes=65)
    assert shortest_limit(signs()) is None


def test_a_stay_limit_without_its_maximum_stay_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidTariffError) as error:
        signs({"name": "1P", "days": ["sat"], "windows": [["07:30", "18:30"]], "metered": "yes"})
    assert any("max_stay_minutes" in p for p in error.value.details)
    assert any("metered" in p for p in error.value.details)
