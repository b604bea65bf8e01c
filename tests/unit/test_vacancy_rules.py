"""The vacancy rules as plain functions (sensors/vacancy.py, parking/geo.py, parking/metrics.py,
billing/tariffs.py): what a driver is shown of a bay and a road, and the box and window maths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billing.tariffs import version_in_force
from parking.geo import boxes_meet, distance_to_box, grid_cell_count, grid_cells
from parking.metrics import BadTimeRangeError, TimeRangeTooLongError, metrics_window
from sensors.availability import OCCUPIED, UNKNOWN, VACANT, BayReport
from sensors.vacancy import FREE, TAKEN, RoadReports, SearchArea, shown_state
from sensors.vacancy import UNKNOWN as NOT_KNOWN

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def bay(number: int, state: str, minutes_ago: float | None) -> BayReport:
    reported = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    return BayReport(number, 1, f"b{number}", f"B{number}", number, 0.0, 0.0, state, reported)


def test_a_bay_is_free_or_occupied_only_while_its_newest_report_is_fresh() -> None:
    stale_before = NOW - timedelta(minutes=10)

    assert shown_state(bay(1, VACANT, 9), stale_before) == FREE
    assert shown_state(bay(2, OCCUPIED, 10), stale_before) == TAKEN
    assert shown_state(bay(3, VACANT, 11), stale_before) == NOT_KNOWN
    assert shown_state(bay(4, UNKNOWN, 1), stale_before) == NOT_KNOWN
    assert shown_state(bay(5, VACANT, None), stale_before) == NOT_KNOWN
    assert shown_state(bay(6, VACANT, 600), None) == FREE  # no staleness asked for


def test_a_road_counts_what_is_shown_at_the_moment_asked_not_when_it_was_read() -> None:
    road = RoadReports([bay(1, VACANT, 2), bay(2, OCCUPIED, 8), bay(3, UNKNOWN, 1)])

    fresh = road.shown(NOW - timedelta(minutes=10))
    later = road.shown(NOW - timedelta(minutes=5))

    assert (fresh.total, fresh.free, fresh.occupied) == (3, 1, 1)
    assert (later.total, later.free, later.occupied) == (3, 1, 0)
    assert fresh.newest_report_at == NOW - timedelta(minutes=1)
    assert [b["id"] for b in later.free_bays] == ["b1"]


def test_a_box_search_measures_from_its_centre_and_a_point_search_has_a_radius() -> None:
    box = SearchArea.in_box((30.0, 120.0, 30.2, 120.4))
    near = SearchArea.near(30.0, 120.0, 500.0)

    assert (box.lat, box.lng, box.radius_m) == pytest.approx((30.1, 120.2, None))
    assert near.radius_m == 500.0
    assert near.box[0] < 30.0 < near.box[2] and near.box[1] < 120.0 < near.box[3]


def test_the_distance_to_a_box_is_zero_inside_and_to_its_nearest_edge_outside() -> None:
    box = (30.0, 120.0, 30.01, 120.01)

    assert distance_to_box(30.005, 120.005, box) == 0.0
    assert distance_to_box(30.02, 120.005, box) == pytest.approx(1112, rel=0.01)


def test_boxes_meet_when_they_share_a_point_and_the_grid_counts_the_cells_it_lists() -> None:
    box = (30.004, 120.004, 30.026, 120.015)

    assert boxes_meet(box, (30.026, 120.015, 30.03, 120.03))
    assert not boxes_meet(box, (30.027, 120.0, 30.03, 120.03))
    assert grid_cell_count(box, 0.01) == len(grid_cells(box, 0.01)) == 6


def test_the_tariff_version_in_force_is_the_latest_to_take_effect_by_then() -> None:
    versions = [(NOW - timedelta(days=10), "v1"), (NOW, "v2"), (NOW + timedelta(days=1), "v3")]

    assert version_in_force(versions, NOW - timedelta(days=11)) is None
    assert version_in_force(versions, NOW - timedelta(seconds=1)) == "v1"
    assert version_in_force(versions, NOW) == "v2"
    assert version_in_force([], NOW) is None


def test_a_metrics_window_defaults_to_yesterday_is_cut_at_this_hour_and_at_most_31_days() -> None:
    zone = ZoneInfo("Asia/Shanghai")  # 10:00 UTC is 18:00 there

    assert metrics_window(None, None, NOW, zone) == (
        datetime(2026, 12, 5, 16, tzinfo=UTC),
        datetime(2026, 12, 6, 16, tzinfo=UTC),
    )
    assert metrics_window(NOW - timedelta(hours=2), None, NOW, zone) == (NOW - timedelta(hours=2), NOW)
    with pytest.raises(BadTimeRangeError):
        metrics_window(NOW, NOW, NOW, zone)
    with pytest.raises(TimeRangeTooLongError):
        metrics_window(NOW - timedelta(days=32), NOW, NOW, zone)
