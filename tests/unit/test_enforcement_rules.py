"""The enforcement rules at their edges, with fixed times and no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.tariff import Tariff
from enforcement.rules import (
    CitationTransitionError,
    next_citation_status,
    overstay_limit,
    overstays,
    restriction_started_at,
    team_for_restriction,
    unregistered,
)
from parking.errors import ConflictError

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MONDAY_0900_UTC = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai


def tariff(**overrides: object) -> Tariff:
    document = {
        "name": "t",
        "max_stay_minutes": 120,
        "grace_minutes": 10,
        "bands": [
            {
                "name": "all",
                "days": WEEK,
                "windows": [["00:00", "24:00"]],
                "tiers": [{"increment_minutes": 30, "amount": 300}],
            }
        ],
        "restrictions": [
            {
                "name": "am clearway",
                "activity": "no stopping",
                "days": WEEK[:5],
                "windows": [["07:30", "09:00"]],
            },
            {"name": "market", "activity": "no parking", "days": ["sat"], "windows": [["06:00", "12:00"]]},
        ],
    }
    document.update(overrides)
    return Tariff(document, "Asia/Shanghai")


# -- overstay -----------------------------------------------------------------------------


def test_the_overstay_limit_is_the_maximum_stay_plus_the_grace() -> None:
    assert overstay_limit(tariff()) == timedelta(minutes=130)


def test_a_tariff_without_a_maximum_stay_has_no_overstay() -> None:
    assert overstay_limit(tariff(max_stay_minutes=None)) is None


def test_a_stay_exactly_at_max_stay_plus_grace_has_not_overstayed() -> None:
    start = MONDAY_0900_UTC
    assert not overstays(start, timedelta(minutes=130), start + timedelta(minutes=130))


def test_a_stay_one_second_past_max_stay_plus_grace_has_overstayed() -> None:
    start = MONDAY_0900_UTC
    assert overstays(start, timedelta(minutes=130), start + timedelta(minutes=130, seconds=1))


# -- unregistered -------------------------------------------------------------------------


def test_a_stay_without_a_plate_for_exactly_n_minutes_is_not_yet_unregistered() -> None:
    start = MONDAY_0900_UTC
    assert not unregistered(start, None, timedelta(minutes=10), start + timedelta(minutes=10))


def test_a_stay_without_a_plate_one_second_past_n_minutes_is_unregistered() -> None:
    start = MONDAY_0900_UTC
    assert unregistered(start, None, timedelta(minutes=10), start + timedelta(minutes=10, seconds=1))


def test_a_stay_with_a_plate_is_never_unregistered() -> None:
    start = MONDAY_0900_UTC
    assert not unregistered(start, "贵A12345", timedelta(minutes=10), start + timedelta(hours=5))


# -- restrictions -------------------------------------------------------------------------


def local(hhmm: str, day: int = 2, seconds: int = 0) -> datetime:
    """A Shanghai wall time on 2026-03-<day> (the 2nd is a Monday), as UTC."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2026, 3, day, hour, minute, seconds, tzinfo=UTC) - timedelta(hours=8)


def test_a_restriction_is_in_force_from_the_first_instant_of_its_window() -> None:
    restriction = tariff().restriction_at(local("07:30"))
    assert restriction is not None and restriction.name == "am clearway"
    assert tariff().restriction_at(local("07:29", seconds=59)) is None


def test_a_restriction_is_over_at_the_end_of_its_window() -> None:
    assert tariff().restriction_at(local("08:59", seconds=59)) is not None
    assert tariff().restriction_at(local("09:00")) is None


def test_a_weekday_restriction_is_not_in_force_at_the_weekend() -> None:
    assert tariff().restriction_at(local("08:00", day=1)) is None  # Sunday


def test_the_restriction_window_start_is_reported_in_utc() -> None:
    assert restriction_started_at(tariff(), local("08:15")) == local("07:30")
    assert restriction_started_at(tariff(), local("09:00")) is None


def test_no_stopping_goes_to_the_police_and_no_parking_to_the_wardens() -> None:
    clearway = tariff().restriction_at(local("08:00"))
    market = tariff().restriction_at(local("08:00", day=7))  # Saturday
    assert clearway is not None and team_for_restriction(clearway) == "police"
    assert market is not None and team_for_restriction(market) == "warden"


# -- citations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("issued", "paid"),
        ("issued", "appealed"),
        ("issued", "voided"),
        ("appealed", "upheld"),
        ("appealed", "voided"),
        ("upheld", "paid"),
    ],
)
def test_a_citation_moves_along_the_allowed_transitions(current: str, wanted: str) -> None:
    assert next_citation_status(current, wanted) == wanted


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("issued", "upheld"),
        ("issued", "issued"),
        ("appealed", "paid"),
        ("upheld", "voided"),
        ("paid", "appealed"),
        ("voided", "paid"),
    ],
)
def test_any_other_citation_transition_is_a_conflict_with_a_stable_code(current: str, wanted: str) -> None:
    with pytest.raises(CitationTransitionError) as raised:
        next_citation_status(current, wanted)
    assert isinstance(raised.value, ConflictError)
    assert raised.value.code == "citation_transition"
