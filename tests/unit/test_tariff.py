"""The tariff engine: the meter's arithmetic at every boundary, with fees worked out by hand,
the document's validation, and properties that hold for any valid tariff and stay."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.tariff import Tariff, so_far
from billing.tariff_parts import InvalidTariffError, TariffGapError, TariffOverlapError

SHANGHAI = "Asia/Shanghai"
MELBOURNE = "Australia/Melbourne"
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MS = timedelta(milliseconds=1)

# 15 free minutes; by day 150 per 15 min for the first hour since arrival, then 600 per 30 min;
# by night 120 per hour.
BASE: dict[str, Any] = {
    "name": "test",
    "free_minutes": 15,
    "bands": [
        {
            "name": "day",
            "days": EVERY_DAY,
            "windows": [["08:00", "20:00"]],
            "tiers": [
                {"until_minute": 60, "increment_minutes": 15, "amount": 150},
                {"increment_minutes": 30, "amount": 600},
            ],
        },
        {
            "name": "night",
            "days": EVERY_DAY,
            "windows": [["00:00", "08:00"], ["20:00", "24:00"]],
            "tiers": [{"increment_minutes": 60, "amount": 120}],
        },
    ],
}


def document(base: dict[str, Any] = BASE, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    doc.update(changes)
    return doc


def flat(per_hour: int, **changes: Any) -> dict[str, Any]:
    """One band all day, every day: `per_hour` per started hour, no free minutes."""
    band: dict[str, Any] = {"name": "all day", "days": EVERY_DAY, "windows": [["00:00", "24:00"]]}
    band["tiers"] = [{"increment_minutes": 60, "amount": per_hour}]
    return document({"name": "flat", "bands": [band]}, **changes)


def local(text: str, zone: str = SHANGHAI, fold: int = 0) -> datetime:
    """A local wall time as an aware UTC datetime (so that subtraction is real elapsed time)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def fee(doc: dict[str, Any], start: str, end: str | datetime, zone: str = SHANGHAI, **kw: Any) -> int:
    ended_at = end if isinstance(end, datetime) else local(end, zone)
    return Tariff(doc, zone).price(local(start, zone), ended_at, **kw).amount


# -- free minutes and increments ---------------------------------------------------------------


def test_a_stay_that_ends_exactly_at_the_end_of_the_free_minutes_is_free() -> None:
    assert fee(BASE, "2026-03-02T10:00", "2026-03-02T10:15") == 0


def test_one_millisecond_past_the_free_minutes_buys_a_whole_increment() -> None:
    assert fee(BASE, "2026-03-02T10:00", local("2026-03-02T10:15") + MS) == 150


def test_a_started_increment_is_paid_in_full() -> None:
    assert fee(BASE, "2026-03-02T10:00", "2026-03-02T10:30") == 150
    assert fee(BASE, "2026-03-02T10:00", local("2026-03-02T10:30") + MS) == 300
    assert fee(BASE, "2026-03-02T10:00", "2026-03-02T10:31") == 300


def test_the_tier_changes_at_until_minute_counted_from_arrival() -> None:
    # increments at 15, 30 and 45 minutes are tier 0; the one that begins at 60 is tier 1
    assert fee(BASE, "2026-03-02T10:00", "2026-03-02T11:00") == 450
    assert fee(BASE, "2026-03-02T10:00", local("2026-03-02T11:00") + MS) == 450 + 600
    assert fee(BASE, "2026-03-02T10:00", "2026-03-02T11:30") == 1050
    assert fee(BASE, "2026-03-02T10:00", "2026-03-02T11:31") == 1650


def test_the_breakdown_names_each_band_and_tier_with_its_increments() -> None:
    priced = Tariff(BASE, SHANGHAI).price(local("2026-03-02T10:00"), local("2026-03-02T11:31"))
    lines = [(x.band, x.tier, x.increments, x.unit_amount, x.amount) for x in priced.lines]
    assert lines == [("day", 0, 3, 150, 450), ("day", 1, 2, 600, 1200)]
    assert priced.breakdown()["lines"][0]["from"] == "2026-03-02T02:15:00Z"
    assert priced.breakdown()["gross"] == 1650 == priced.amount


# -- band edges --------------------------------------------------------------------------------


def test_a_stay_across_20_00_pays_day_rates_then_night_rates() -> None:
    # 19:15, 19:30, 19:45 by day (tier 0); 20:00 by night
    assert fee(BASE, "2026-03-02T19:00", "2026-03-02T20:30") == 450 + 120


def test_an_increment_that_begins_one_minute_before_the_edge_is_priced_by_the_earlier_band() -> None:
    # free until 19:29; increments begin 19:29, 19:44 and 19:59 (day, to 20:14), then 20:14 (night)
    doc = Tariff(BASE, SHANGHAI)
    priced = doc.price(local("2026-03-02T19:14"), local("2026-03-02T20:14"))
    assert [(x.band, x.increments) for x in priced.lines] == [("day", 3)]
    assert priced.amount == 450
    later = doc.price(local("2026-03-02T19:14"), local("2026-03-02T20:14") + MS)
    assert [(x.band, x.increments) for x in later.lines] == [("day", 3), ("night", 1)]
    assert later.amount == 570


def test_the_tier_of_the_day_band_depends_on_time_since_arrival_not_since_the_band_began() -> None:
    # 07:15 by night (to 08:15); 08:15 is 75 minutes after arrival: day tier 1
    assert fee(BASE, "2026-03-02T07:00", "2026-03-02T08:20") == 120 + 600


# -- caps --------------------------------------------------------------------------------------


def test_the_day_cap_applies_per_local_day_changing_at_local_midnight() -> None:
    # 23:00-01:00 in Shanghai is 15:00-17:00 UTC: one UTC day, but two local days
    doc = flat(600, cap_per_day=600)
    priced = Tariff(doc, SHANGHAI).price(local("2026-03-02T23:00"), local("2026-03-03T01:00"))
    assert priced.amount == 1200
    assert [x.local_date for x in priced.lines] == [date(2026, 3, 2), date(2026, 3, 3)]
    assert priced.day_caps == ()


def test_each_local_day_is_capped_on_its_own() -> None:
    doc = flat(600, cap_per_day=3000)
    priced = Tariff(doc, SHANGHAI).price(local("2026-03-02T12:00"), local("2026-03-03T12:00"))
    assert priced.gross == 24 * 600
    assert priced.amount == 6000
    assert priced.day_caps == ((date(2026, 3, 2), 7200, 3000), (date(2026, 3, 3), 7200, 3000))


def test_an_increment_that_straddles_midnight_counts_on_the_day_it_begins() -> None:
    doc = flat(600, cap_per_day=600)
    # 23:30 to 00:30 is one increment, begun on the 2nd: the 3rd has nothing to cap
    assert fee(doc, "2026-03-02T23:30", "2026-03-03T00:30") == 600
    assert fee(doc, "2026-03-02T23:30", local("2026-03-03T00:30") + MS) == 1200


def test_the_stay_cap_bounds_the_whole_stay() -> None:
    priced = Tariff(document(cap_per_stay=1000), SHANGHAI).price(
        local("2026-03-02T10:00"), local("2026-03-02T12:00")
    )
    assert (priced.gross, priced.amount, priced.stay_cap_applied) == (450 + 1200, 1000, True)


# -- vehicle classes ---------------------------------------------------------------------------


def test_a_vehicle_class_pays_its_percentage_of_the_fee() -> None:
    doc = document(vehicle_classes={"electric": {"percent": 50}})
    assert fee(doc, "2026-03-02T10:00", "2026-03-02T11:31", vehicle_class="electric") == 825
    assert fee(doc, "2026-03-02T10:00", "2026-03-02T11:31", vehicle_class="unknown") == 1650


@pytest.mark.parametrize(("cap", "expected"), [(1001, 300), (1005, 302), (1003, 301), (1015, 305)])
def test_the_class_percentage_of_a_capped_fee_is_rounded_half_up(cap: int, expected: int) -> None:
    doc = flat(600, cap_per_stay=cap, vehicle_classes={"resident": {"percent": 30}})
    assert fee(doc, "2026-03-02T10:00", "2026-03-02T14:00", vehicle_class="resident") == expected


def test_a_vehicle_class_may_have_its_own_free_minutes() -> None:
    doc = document(vehicle_classes={"electric": {"percent": 50, "free_minutes": 60}})
    assert fee(doc, "2026-03-02T10:00", "2026-03-02T11:00", vehicle_class="electric") == 0
    # the first paid increment begins 60 minutes after arrival: tier 1, 600 at half
    assert fee(doc, "2026-03-02T10:00", "2026-03-02T11:01", vehicle_class="electric") == 300


# -- holidays ----------------------------------------------------------------------------------


def test_a_holiday_band_replaces_the_weekday_bands_on_a_listed_holiday() -> None:
    holiday_band: dict[str, Any] = {"name": "holiday", "days": ["holiday"], "windows": [["00:00", "24:00"]]}
    holiday_band["tiers"] = [{"increment_minutes": 60, "amount": 60}]
    doc = document(holidays=["2026-10-01"], bands=[*BASE["bands"], holiday_band])
    assert fee(doc, "2026-10-01T10:00", "2026-10-01T12:00") == 120  # 10:15 and 11:15
    assert fee(doc, "2026-10-08T10:00", "2026-10-08T12:00") == 450 + 1200  # the Thursday after


def test_listed_holidays_without_a_holiday_band_keep_the_weekday_bands() -> None:
    doc = document(holidays=["2026-10-01"])
    assert fee(doc, "2026-10-01T10:00", "2026-10-01T12:00") == 1650


# -- daylight saving (Melbourne: back on 5 April 2026 at 03:00, forward on 4 October at 02:00) --


def test_a_stay_across_the_fall_back_pays_for_real_elapsed_time() -> None:
    # six hours on the wall clock, seven in fact
    assert fee(flat(60), "2026-04-05T00:00", "2026-04-05T06:00", MELBOURNE) == 7 * 60


def test_a_stay_across_the_spring_forward_pays_for_real_elapsed_time() -> None:
    # six hours on the wall clock, five in fact
    assert fee(flat(60), "2026-10-04T00:00", "2026-10-04T06:00", MELBOURNE) == 5 * 60


def test_band_edges_are_local_wall_times_across_the_fall_back() -> None:
    doc = document(free_minutes=0)
    doc["bands"][0]["tiers"] = [{"increment_minutes": 60, "amount": 120}]
    doc["bands"][1]["tiers"] = [{"increment_minutes": 60, "amount": 60}]
    priced = Tariff(doc, MELBOURNE).price(
        local("2026-04-04T19:00", MELBOURNE), local("2026-04-05T09:00", MELBOURNE)
    )
    # 19:00-20:00 day; night 20:00-24:00 on the 4th and 00:00-08:00 (9 real hours) on the 5th
    lines = [(x.band, x.local_date.day, x.increments) for x in priced.lines]
    assert lines == [("day", 4, 1), ("night", 4, 4), ("night", 5, 9), ("day", 5, 1)]
    assert priced.amount == 120 + 13 * 60 + 120


def by_minute(edge: str) -> dict[str, Any]:
    """Band a (1 a minute) until `edge`, band b (2 a minute) after it, every day."""
    return {
        "name": "edge",
        "bands": [
            {
                "name": "a",
                "days": EVERY_DAY,
                "windows": [["00:00", edge]],
                "tiers": [{"increment_minutes": 1, "amount": 1}],
            },
            {
                "name": "b",
                "days": EVERY_DAY,
                "windows": [[edge, "24:00"]],
                "tiers": [{"increment_minutes": 1, "amount": 2}],
            },
        ],
    }


def test_a_band_edge_skipped_by_the_spring_forward_moves_to_the_transition() -> None:
    # 02:30 never happens on 4 October: band a ends at 02:00 AEST, which is 03:00 AEDT
    priced = Tariff(by_minute("02:30"), MELBOURNE).price(
        local("2026-10-04T00:00", MELBOURNE), local("2026-10-04T05:00", MELBOURNE)
    )
    assert [(x.band, x.increments) for x in priced.lines] == [("a", 120), ("b", 120)]
    assert priced.amount == 120 + 240


def test_a_band_edge_in_the_repeated_hour_of_the_fall_back_is_its_first_occurrence() -> None:
    priced = Tariff(by_minute("02:30"), MELBOURNE).price(
        local("2026-04-05T00:00", MELBOURNE), local("2026-04-05T05:00", MELBOURNE)
    )
    # 00:00 to the first 02:30 (AEDT) is 150 minutes; from there to 05:00 AEST, 210
    assert [(x.band, x.increments) for x in priced.lines] == [("a", 150), ("b", 210)]


# -- validation --------------------------------------------------------------------------------


def problems_of(doc: Any, error: type[InvalidTariffError] = InvalidTariffError) -> list[str]:
    with pytest.raises(error) as raised:
        Tariff(doc, SHANGHAI)
    assert raised.value.code == error.code
    return raised.value.details


def test_a_gap_between_bands_is_refused_naming_each_day_and_the_times() -> None:
    doc = document()
    doc["bands"][1]["windows"] = [["00:00", "07:00"], ["20:00", "24:00"]]
    details = problems_of(doc, TariffGapError)
    assert details == [f"{day} 07:00-08:00: no band" for day in EVERY_DAY]


def test_a_gap_at_the_end_of_the_day_is_refused() -> None:
    doc = document()
    doc["bands"][1]["windows"] = [["00:00", "08:00"], ["20:00", "23:00"]]
    assert "sun 23:00-24:00: no band" in problems_of(doc, TariffGapError)


def test_overlapping_bands_are_refused_naming_each_day_the_times_and_the_bands() -> None:
    doc = document()
    doc["bands"][1]["windows"] = [["00:00", "09:00"], ["20:00", "24:00"]]
    details = problems_of(doc, TariffOverlapError)
    assert details == [f"{day} 08:00-09:00: night and day" for day in EVERY_DAY]


def test_a_holiday_band_that_does_not_cover_the_day_leaves_a_gap_on_holidays() -> None:
    holiday: dict[str, Any] = {"name": "h", "days": ["holiday"], "windows": [["08:00", "20:00"]]}
    holiday["tiers"] = [{"increment_minutes": 60, "amount": 60}]
    doc = document(holidays=["2026-10-01"], bands=[*BASE["bands"], holiday])
    assert problems_of(doc, TariffGapError) == [
        "holiday 00:00-08:00: no band",
        "holiday 20:00-24:00: no band",
    ]


def test_a_window_crossing_midnight_is_refused() -> None:
    doc = document()
    doc["bands"][1]["windows"] = [["20:00", "08:00"]]
    details = problems_of(doc)
    assert len(details) == 1 and details[0].startswith("bands[1].windows[0]")
    assert "crosses midnight" in details[0]


@pytest.mark.parametrize("amount", [1.5, 150.0, -150, None, True, "150"])
def test_an_amount_must_be_a_whole_non_negative_number(amount: Any) -> None:
    doc = document()
    doc["bands"][0]["tiers"][0]["amount"] = amount
    assert problems_of(doc) == [
        "bands[0].tiers[0].amount: an amount is a whole, non-negative number of minor units"
    ]


def test_a_missing_amount_is_refused() -> None:
    doc = document()
    del doc["bands"][1]["tiers"][0]["amount"]
    assert problems_of(doc) == [
        "bands[1].tiers[0].amount: an amount is a whole, non-negative number of minor units"
    ]


@pytest.mark.parametrize("field", ["cap_per_day", "cap_per_stay"])
@pytest.mark.parametrize("value", [2.5, -1, False])
def test_caps_must_be_whole_non_negative_amounts(field: str, value: Any) -> None:
    assert problems_of(document(**{field: value})) == [
        f"{field}: an amount is a whole, non-negative number of minor units"
    ]


@pytest.mark.parametrize("value", [True, 1.0, -1, "15"])
def test_free_minutes_must_be_whole_minutes(value: Any) -> None:
    assert problems_of(document(free_minutes=value))[0].startswith("free_minutes:")


def test_every_problem_is_listed_at_once() -> None:
    doc = document(free_minutes=-1, cap_per_day=1.5, colour="red")
    doc["bands"][0]["tiers"][1]["amount"] = True
    assert problems_of(doc) == [
        "free_minutes: a whole number of minutes from 0 to 10080",
        "cap_per_day: an amount is a whole, non-negative number of minor units",
        "bands[0].tiers[1].amount: an amount is a whole, non-negative number of minor units",
        "unknown fields: colour",
    ]


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ("band", "bands[0]: unknown fields: colour"),
        ("tier", "bands[0].tiers[1]: unknown fields: colour"),
        ("class", "vehicle_classes.electric: unknown fields: colour"),
        ("restriction", "restrictions[0]: unknown fields: colour"),
    ],
)
def test_unknown_fields_inside_the_document_are_refused(place: str, expected: str) -> None:
    restriction = {
        "name": "clearway",
        "activity": "no stopping",
        "days": ["mon"],
        "windows": [["17:00", "19:00"]],
    }
    doc = document(vehicle_classes={"electric": {"percent": 50}}, restrictions=[restriction])
    target = {
        "band": doc["bands"][0],
        "tier": doc["bands"][0]["tiers"][1],
        "class": doc["vehicle_classes"]["electric"],
        "restriction": doc["restrictions"][0],
    }[place]
    target["colour"] = "red"
    assert problems_of(doc) == [expected]


def test_a_misspelt_vehicle_class_free_minutes_is_not_silently_ignored() -> None:
    doc = document(vehicle_classes={"electric": {"percent": 50, "free_minute": 60}})
    assert problems_of(doc) == ["vehicle_classes.electric: unknown fields: free_minute"]


def test_a_rate_that_is_not_a_whole_amount_per_minute_is_refused() -> None:
    doc = document()
    doc["bands"][0]["tiers"][0]["amount"] = 100  # per 15 minutes
    assert problems_of(doc) == ["band day tier 0: 100 per 15 min is not a whole amount per minute"]


def test_a_class_share_that_is_not_a_whole_amount_per_minute_is_refused() -> None:
    doc = flat(180, vehicle_classes={"electric": {"percent": 50}})  # 3 a minute
    assert problems_of(doc) == ["band all day tier 0: 50% of 3 per minute for electric is not a whole amount"]


def test_a_document_that_is_not_an_object_is_refused() -> None:
    assert problems_of(["not", "a", "tariff"]) == []


# -- properties --------------------------------------------------------------------------------

ZONES = (SHANGHAI, MELBOURNE, "Europe/London")
INCREMENTS = (1, 5, 15, 30, 60)


@st.composite
def bands(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Bands that cover the day exactly: cut the day at random half hours, give each piece one
    of up to three bands (so a band may have several windows)."""
    cuts = sorted(draw(st.sets(st.integers(1, 47), max_size=5)))
    edges = [0, *(c * 30 for c in cuts), 24 * 60]
    count = draw(st.integers(1, 3))
    windows: dict[int, list[list[str]]] = {}
    for a, b in zip(edges, edges[1:], strict=False):
        windows.setdefault(draw(st.integers(0, count - 1)), []).append([clock(a), clock(b)])
    found = []
    for i, band_windows in windows.items():
        tiers: list[dict[str, Any]] = []
        until = 0
        for last in [False] * draw(st.integers(0, 2)) + [True]:
            increment = draw(st.sampled_from(INCREMENTS))
            tier: dict[str, Any] = {
                "increment_minutes": increment,
                "amount": increment * 2 * draw(st.integers(0, 5)),
            }
            if not last:
                until += draw(st.integers(1, 240))
                tier["until_minute"] = until
            tiers.append(tier)
        found.append({"name": f"band {i}", "days": EVERY_DAY, "windows": band_windows, "tiers": tiers})
    return found


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def tariffs(draw: st.DrawFn) -> Tariff:
    doc: dict[str, Any] = {
        "name": "random",
        "free_minutes": draw(st.integers(0, 120)),
        "bands": draw(bands()),
        "vehicle_classes": {"electric": {"percent": 50}},
    }
    for cap in ("cap_per_day", "cap_per_stay"):
        if draw(st.booleans()):
            doc[cap] = draw(st.integers(0, 10_000))
    return Tariff(doc, draw(st.sampled_from(ZONES)))


# Stays start anywhere in 2026 (both daylight-saving changes of each zone included) and last
# up to three days.
starts = st.integers(0, 365 * 24 * 60).map(lambda m: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=m))
durations = st.integers(0, 3 * 24 * 3600 * 1000).map(lambda ms: timedelta(milliseconds=ms))
classes = st.sampled_from([None, "electric"])
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True)


def local_days(tariff: Tariff, start: datetime, end: datetime) -> int:
    return (end.astimezone(tariff.zone).date() - start.astimezone(tariff.zone).date()).days + 1


@PROPERTY
@given(tariffs(), starts, durations, durations, classes)
def test_the_fee_never_decreases_as_the_stay_gets_longer(
    tariff: Tariff, start: datetime, duration: timedelta, more: timedelta, vehicle_class: str | None
) -> None:
    shorter = tariff.price(start, start + duration, vehicle_class)
    longer = tariff.price(start, start + duration + more, vehicle_class)
    assert shorter.amount <= longer.amount
    assert shorter.gross <= longer.gross


@PROPERTY
@given(tariffs(), starts, durations, classes)
def test_the_fee_never_exceeds_the_caps(
    tariff: Tariff, start: datetime, duration: timedelta, vehicle_class: str | None
) -> None:
    end = start + duration
    priced = tariff.price(start, end, vehicle_class)
    if tariff.cap_per_stay is not None:
        assert priced.amount <= tariff.cap_per_stay
    if tariff.cap_per_day is not None:
        assert priced.amount <= tariff.cap_per_day * local_days(tariff, start, end)


@PROPERTY
@given(tariffs(), starts, st.floats(0, 1), classes)
def test_a_stay_within_the_free_minutes_is_free(
    tariff: Tariff, start: datetime, share: float, vehicle_class: str | None
) -> None:
    end = start + timedelta(milliseconds=int(tariff.free_ms * share))
    assert tariff.price(start, end, vehicle_class).amount == 0


@PROPERTY
@given(tariffs(), starts, durations, classes)
def test_the_breakdown_lines_add_up_to_the_gross(
    tariff: Tariff, start: datetime, duration: timedelta, vehicle_class: str | None
) -> None:
    priced = tariff.price(start, start + duration, vehicle_class)
    breakdown = priced.breakdown()
    assert sum(line.amount for line in priced.lines) == priced.gross == breakdown["gross"]
    assert sum(line["amount"] for line in breakdown["lines"]) == breakdown["gross"]
    assert breakdown["amount"] == priced.amount <= priced.gross


CLEARWAY = {"name": "clearway", "activity": "no stopping", "days": ["mon"], "windows": [["17:00", "19:00"]]}


def test_the_rest_of_the_day_lists_each_band_from_now_and_the_restrictions_still_to_come() -> None:
    tariff = Tariff(document(restrictions=[CLEARWAY]), SHANGHAI)
    bands, restrictions = tariff.rest_of_day(local("2026-03-02 05:49"))  # a Monday
    assert [(b.band.name, b.starts_at, b.ends_at) for b in bands] == [
        ("night", local("2026-03-02 05:49"), local("2026-03-02 08:00")),
        ("day", local("2026-03-02 08:00"), local("2026-03-02 20:00")),
        ("night", local("2026-03-02 20:00"), local("2026-03-03 00:00")),
    ]
    assert [(r.restriction.name, r.starts_at, r.ends_at) for r in restrictions] == [
        ("clearway", local("2026-03-02 17:00"), local("2026-03-02 19:00"))
    ]


def test_a_restriction_in_force_now_is_listed_from_now_and_a_past_one_is_not() -> None:
    tariff = Tariff(document(restrictions=[CLEARWAY]), SHANGHAI)
    _, during = tariff.rest_of_day(local("2026-03-02 18:00"))
    assert [(r.starts_at, r.ends_at) for r in during] == [
        (local("2026-03-02 18:00"), local("2026-03-02 19:00"))
    ]
    assert tariff.rest_of_day(local("2026-03-02 19:00"))[1] == []
    assert tariff.rest_of_day(local("2026-03-03 09:00"))[1] == []  # a Tuesday: no clearway


def test_the_windows_of_one_band_that_meet_are_one_period() -> None:
    split = document(
        flat(120),
        bands=[
            {
                "name": "all day",
                "days": EVERY_DAY,
                "windows": [["00:00", "12:00"], ["12:00", "24:00"]],
                "tiers": [{"increment_minutes": 60, "amount": 120}],
            },
        ],
    )
    bands, _ = Tariff(split, SHANGHAI).rest_of_day(local("2026-03-02 10:30"))
    assert [(b.starts_at, b.ends_at) for b in bands] == [
        (local("2026-03-02 10:30"), local("2026-03-03 00:00"))
    ]


def test_a_running_stay_shows_its_fee_so_far_its_band_and_the_time_left_before_its_maximum() -> None:
    tariff = Tariff(document(max_stay_minutes=120), SHANGHAI)
    figures = so_far(tariff, local("2026-03-02T10:00"), None, local("2026-03-02T10:40"))
    assert figures.elapsed == timedelta(minutes=40)
    assert figures.fee == 300  # 15 free minutes, then two started increments of 150
    assert (figures.band, figures.max_stay_minutes, figures.time_left) == ("day", 120, timedelta(minutes=80))
    over = so_far(tariff, local("2026-03-02T10:00"), None, local("2026-03-02T12:30"))
    assert over.time_left == timedelta(0)
    assert so_far(None, local("2026-03-02T10:00"), None, local("2026-03-02T09:00")).elapsed == timedelta(0)
