"""The short-horizon forecast's maths: dwell survival curves, the load that reproduces the
history, and the road's state now carried forward (checked against brute force)."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

import pytest

from parking.dwell import (
    DWELL_STEP,
    blend,
    equilibrium_share,
    exponential_curve,
    life_table,
    stays_on,
    survival,
)
from parking.forecast_current import (
    RoadNow,
    occupied_share,
    offered_load,
    poisson_cdf,
    poisson_pmf,
    probability_free,
    probability_full,
)

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def short_or_all_day() -> list[float]:
    """Half the stays last 30 minutes, half 8 hours."""
    curve, seen = life_table([(30 * MINUTE, True)] * 50 + [(8 * HOUR, True)] * 50)
    assert seen == 100
    return curve


def test_the_life_table_counts_ended_stays_and_censors_open_ones() -> None:
    curve, _ = life_table([(12 * MINUTE, True), (12 * MINUTE, True), (40 * MINUTE, False), (2 * HOUR, True)])
    assert curve[0] == 1.0 and curve[2] == 1.0  # nobody left in the first 10 minutes
    assert curve[3] == pytest.approx(0.5)  # two of four left at 12 minutes
    assert curve[9] == pytest.approx(0.5)  # the open stay is not a departure
    assert curve[25] == 0.0  # the last one left at 2 h


def test_an_exponential_curve_has_the_textbook_equilibrium_and_no_memory() -> None:
    curve = exponential_curve(HOUR)
    assert survival(curve, 30 * MINUTE) == pytest.approx(math.exp(-0.5), rel=1e-3)
    assert equilibrium_share(curve, 30 * MINUTE) == pytest.approx(1 - math.exp(-0.5), rel=1e-3)
    assert stays_on(curve, 5 * MINUTE, 30 * MINUTE) == pytest.approx(stays_on(curve, 3 * HOUR, 30 * MINUTE))
    assert survival(curve, 30 * HOUR) == pytest.approx(math.exp(-30), rel=1e-2)  # past the grid
    assert equilibrium_share(curve, 30 * HOUR) == pytest.approx(1.0, abs=1e-6)


def test_a_young_stay_on_a_road_of_short_and_long_stays_tells_less_than_an_old_one() -> None:
    curve = blend(short_or_all_day(), 100, exponential_curve(HOUR))
    just_parked = stays_on(curve, 5 * MINUTE, 30 * MINUTE)
    there_for_an_hour = stays_on(curve, HOUR, 30 * MINUTE)
    assert just_parked < 0.7 and there_for_an_hour > 0.9  # an hour in, it is an all-day stay


def test_poisson_sums_hold_for_large_means_and_the_load_inverts_them() -> None:
    assert sum(poisson_pmf(3.0, k) for k in range(60)) == pytest.approx(1.0)
    assert poisson_cdf(1000.0, 1000) == pytest.approx(0.508, abs=0.005)  # no underflow
    for p, bays in ((0.9, 4), (0.2, 4), (0.99, 120), (0.5, 300)):
        assert poisson_cdf(offered_load(p, bays), bays - 1) == pytest.approx(p, abs=1e-6)
    assert occupied_share(offered_load(0.05, 4), 4) > occupied_share(offered_load(0.9, 4), 4)


def brute_force_full(free: int, stay: list[float], newcomers: float) -> float:
    full = 0.0
    for outcome in itertools.product((0, 1), repeat=len(stay)):
        mass = math.prod(p if kept else 1 - p for p, kept in zip(stay, outcome, strict=True))
        departures = len(stay) - sum(outcome)
        full += mass * (1 - poisson_cdf(newcomers, free + departures - 1))
    return full


@pytest.mark.parametrize(
    ("free", "stay", "newcomers"),
    [(0, [0.9, 0.5, 0.2], 0.7), (1, [0.99, 0.99, 0.8, 0.1], 2.5), (0, [1.0, 1.0], 0.0), (2, [], 1.5)],
)
def test_the_chance_of_a_full_road_matches_brute_force(
    free: int, stay: list[float], newcomers: float
) -> None:
    assert probability_full(free, stay, newcomers) == pytest.approx(brute_force_full(free, stay, newcomers))


def test_the_current_state_fades_into_the_history_as_the_horizon_grows() -> None:
    curve = exponential_curve(HOUR)
    full_now = RoadNow(4, [5 * MINUTE] * 4, 0)
    empty_now = RoadNow(4, [], 0)
    for p_history in (0.3, 0.9):
        near = [probability_free(full_now, p_history, curve, h * MINUTE) for h in (5, 15, 30, 60)]
        assert near[0] == min(near) < near[1]  # a road full of new stays frees up with time
        for now in (full_now, empty_now):
            assert probability_free(now, p_history, curve, 48 * HOUR) == pytest.approx(p_history, abs=1e-3)
    assert probability_free(empty_now, 0.3, curve, timedelta(0)) == 1.0  # a free bay now is free now
    assert probability_free(full_now, 0.9, curve, 5 * MINUTE) < 0.3
    assert probability_free(empty_now, 0.3, curve, 5 * MINUTE) > 0.95


def test_unknown_bays_count_for_less_than_known_free_ones() -> None:
    curve = exponential_curve(HOUR)
    three_taken = [10 * MINUTE] * 3
    one_free = probability_free(RoadNow(4, three_taken, 0), 0.3, curve, 15 * MINUTE)
    one_unknown = probability_free(RoadNow(4, three_taken, 1), 0.3, curve, 15 * MINUTE)
    one_taken = probability_free(RoadNow(4, [*three_taken, 10 * MINUTE], 0), 0.3, curve, 15 * MINUTE)
    assert one_free > one_unknown > one_taken
    assert RoadNow(4, [], 4).known is False and RoadNow(4, three_taken, 1).free == 0


def test_a_road_is_answered_in_a_few_milliseconds() -> None:
    import time

    curve = exponential_curve(HOUR)
    now = RoadNow(132, [i * MINUTE for i in range(120)], 6)
    started = time.perf_counter()
    probability_free(now, 0.37, curve, 30 * MINUTE)
    assert time.perf_counter() - started < 0.05
    assert DWELL_STEP == 5 * MINUTE
