"""The forecast estimator on hand-made histories: what a road did is what it forecasts, thin
data lean on the neighbouring slots, the day class and the road's overall rate, and time when
the road was unwatched counts as not observed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from parking.forecast import (
    SLOTS_PER_DAY,
    BayStay,
    Counts,
    cell_at,
    count_cells,
    day_class,
    estimate,
    free_at,
    merge_gaps,
    sample_instants,
    unwatched_at,
)
from parking.forecast_history import History, dwell_curves, history_counts

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 3, 2, tzinfo=ZONE)
HOLIDAYS = frozenset({date(2026, 4, 6)})  # a Monday


def every_slot(klass: str, samples: int, free: int) -> Counts:
    return {(klass, s): [samples, free] for s in range(SLOTS_PER_DAY)}


def test_a_road_that_was_always_full_is_forecast_full() -> None:
    model = estimate(every_slot("weekday", 60, 0))
    assert max(p for (k, _), p in model.items() if k == "weekday") < 0.05


def test_a_road_that_always_had_a_free_bay_is_forecast_free() -> None:
    model = estimate(every_slot("weekday", 60, 60))
    assert min(p for (k, _), p in model.items() if k == "weekday") > 0.95


def test_a_slot_follows_its_own_history_when_it_has_plenty() -> None:
    counts = every_slot("weekday", 60, 60)
    counts[("weekday", 36)] = [60, 12]  # 09:00, full four times in five
    model = estimate(counts)
    assert abs(model[("weekday", 36)] - 0.2) < 0.1
    assert model[("weekday", 50)] > 0.95


def test_thin_data_are_pulled_toward_the_neighbours_and_the_road() -> None:
    counts = every_slot("weekday", 60, 60)
    counts[("weekday", 36)] = [1, 0]  # one sample, full
    model = estimate(counts)
    assert model[("weekday", 36)] > 0.8  # one unlucky sample does not make the slot full


def test_a_slot_without_data_borrows_from_its_neighbours() -> None:
    counts = every_slot("weekday", 60, 60)
    for s in range(30, 43):  # 07:30-10:45 always full
        counts[("weekday", s)] = [60, 0]
    del counts[("weekday", 36)]
    model = estimate(counts)
    assert model[("weekday", 36)] < 0.2
    assert model[("weekday", 80)] > 0.95


def test_a_day_class_without_data_falls_back_on_the_roads_rate() -> None:
    model = estimate(every_slot("weekday", 60, 15))
    assert abs(model[("sunday_holiday", 40)] - 0.25) < 0.05
    assert abs(model[("saturday", 0)] - 0.25) < 0.05


def test_day_classes_keep_apart_when_each_has_data() -> None:
    counts = every_slot("weekday", 60, 0) | every_slot("saturday", 12, 12)
    model = estimate(counts)
    assert model[("weekday", 40)] < 0.05 and model[("saturday", 40)] > 0.8


def test_a_road_with_no_history_is_a_coin_toss() -> None:
    assert set(estimate({}).values()) == {0.5}


def test_weekdays_saturdays_sundays_and_holidays_are_classed() -> None:
    assert day_class(date(2026, 3, 2), HOLIDAYS) == "weekday"
    assert day_class(date(2026, 3, 7), HOLIDAYS) == "saturday"
    assert day_class(date(2026, 3, 8), HOLIDAYS) == "sunday_holiday"
    assert day_class(date(2026, 4, 6), HOLIDAYS) == "sunday_holiday"


def test_slots_are_quarter_hours_of_the_local_day() -> None:
    assert cell_at(MONDAY, ZONE, HOLIDAYS) == ("weekday", 0)
    assert cell_at(MONDAY + timedelta(hours=9, minutes=14), ZONE, HOLIDAYS) == ("weekday", 36)
    # 23:50 UTC on Friday is 07:50 on Saturday in Shanghai
    assert cell_at(datetime(2026, 3, 6, 23, 50, tzinfo=UTC), ZONE, HOLIDAYS) == ("saturday", 31)


def test_free_at_counts_stays_covering_each_instant_against_the_bays() -> None:
    t = MONDAY.astimezone(UTC)
    stays = [(t, t + timedelta(hours=1)), (t + timedelta(minutes=30), None)]
    instants = [t - timedelta(minutes=1), t, t + timedelta(minutes=45), t + timedelta(hours=1)]
    assert free_at(stays, 2, instants) == [True, True, False, True]
    assert free_at(stays, 1, instants) == [True, False, False, False]


def test_samples_fall_on_a_five_minute_grid_and_are_counted_per_cell() -> None:
    since = MONDAY.astimezone(UTC) + timedelta(seconds=1)
    instants = sample_instants(since, since + timedelta(minutes=30))
    assert instants[0] == MONDAY.astimezone(UTC) + timedelta(minutes=5)
    assert len(instants) == 6
    cells = [cell_at(t, ZONE, HOLIDAYS) for t in instants]
    counts = count_cells(cells, [True, False, True, True, True, True])
    assert counts == {("weekday", 0): [2, 1], ("weekday", 1): [3, 3], ("weekday", 2): [1, 1]}


def test_gaps_merge_where_they_overlap_or_touch_and_mask_the_instants_inside() -> None:
    t = MONDAY.astimezone(UTC)
    h = timedelta(hours=1)
    gaps = merge_gaps([(t + 3 * h, t + 4 * h), (t, t + h), (t + h, t + 2 * h), (t + 3 * h, t + 3 * h)])
    assert gaps == [(t, t + 2 * h), (t + 3 * h, t + 4 * h)]
    instants = [t - h, t, t + 2 * h, t + 3 * h + h / 2, t + 4 * h]
    assert unwatched_at(gaps, instants) == [False, True, False, True, False]
    assert count_cells([("weekday", 0)] * 3, [True, False, False], [False, True, False]) == {
        ("weekday", 0): [2, 1]
    }


def outage_history(gaps: dict[int, list[tuple[datetime, datetime]]]) -> History:
    """A week of a 2-bay road (bays 1 and 2): both taken 09:00-11:00 and 12:00-16:00 local
    every day; the second stay's end is what an offline camera would leave behind."""
    stays: list[BayStay] = []
    for day in range(7):
        start = MONDAY + timedelta(days=day)
        for bay in (1, 2):
            stays.append((bay, start + timedelta(hours=9), start + timedelta(hours=11)))
            stays.append((bay, start + timedelta(hours=12), start + timedelta(hours=16)))
    since, until = MONDAY.astimezone(UTC), (MONDAY + timedelta(days=7)).astimezone(UTC)
    road_gaps = merge_gaps([g for bay_gaps in gaps.values() for g in bay_gaps])
    return History(since, until, {7: stays}, {7: 2}, {7: road_gaps} if gaps else {}, gaps, {1: 7, 2: 7})


def test_a_road_unwatched_for_hours_is_fitted_as_if_those_hours_were_not_observed() -> None:
    outages = {
        1: [(MONDAY + timedelta(days=d, hours=12), MONDAY + timedelta(days=d, hours=16)) for d in range(7)]
    }

    def observed(t: datetime) -> bool:
        return not any(a <= t < b for a, b in outages[1])

    masked = history_counts(outage_history(outages), ZONE, HOLIDAYS)[7]
    as_if_unobserved = history_counts(outage_history({}), ZONE, HOLIDAYS, keep=observed)[7]
    unmasked = history_counts(outage_history({}), ZONE, HOLIDAYS)[7]

    assert masked == as_if_unobserved
    assert ("weekday", 13 * 4) not in masked and unmasked[("weekday", 13 * 4)] == [15, 0]
    assert estimate(masked)[("weekday", 13 * 4)] > 0.6  # the neighbours and the road, not "full"
    assert estimate(unmasked)[("weekday", 13 * 4)] < 0.1
    assert masked[("weekday", 10 * 4)] == [15, 0]  # the watched morning still counts


def test_stays_that_met_an_outage_are_left_out_of_the_dwell_curve() -> None:
    one_bay_out = {
        1: [(MONDAY + timedelta(days=d, hours=13), MONDAY + timedelta(days=d, hours=14)) for d in range(7)]
    }
    curve, seen = dwell_curves(outage_history(one_bay_out))[7]
    assert seen == 28 - 7  # bay 1's afternoon stays are out
    _, all_seen = dwell_curves(outage_history({}))[7]
    assert all_seen == 28
    assert curve[0] == 1.0 and all(a >= b for a, b in zip(curve, curve[1:], strict=False))
