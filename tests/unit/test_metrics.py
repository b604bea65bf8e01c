"""The CDS Metrics methodology (docs/METRICS.md) on hand-computed fixtures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from parking.metrics import (
    Aggregate,
    BayPlace,
    Hour,
    Interval,
    StayRow,
    aggregates,
    device_outages,
    local_hours,
    place_values,
    tally,
    unwatched_bays,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MELBOURNE = ZoneInfo("Australia/Melbourne")
DAY = date(2026, 3, 2)


def local(hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def bay(n: int, road: int = 1, area: int | None = 1, in_service: bool = True) -> BayPlace:
    return BayPlace(
        n, f"space-{n}", road, f"zone-{road}", area, None if area is None else f"area-{area}", in_service
    )


def day_hours(zone: ZoneInfo = SHANGHAI, day: date = DAY) -> list[Hour]:
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return local_hours(start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC), zone)


def table(rows: Sequence[Aggregate]) -> dict[tuple[str, str, str, int], float]:
    return {(a.curb_place_type, a.curb_place_id, a.metric_type, a.hour): a.value for a in rows}


def run(
    bays: Sequence[BayPlace],
    stays: Sequence[StayRow],
    unwatched: dict[int, list[Interval]] | None = None,
    hours: Sequence[Hour] | None = None,
    now: datetime | None = None,
) -> dict[tuple[str, str, str, int], float]:
    hours = day_hours() if hours is None else hours
    tallies = tally(bays, hours, stays, unwatched or {}, now or local(23, 59, day=date(2026, 3, 9)))
    return table(list(aggregates(bays, hours, tallies)))


def test_a_stay_crossing_hours_is_split_by_its_seconds_in_each_and_counts_where_it_started() -> None:
    out = run([bay(1)], [StayRow(1, local(10, 40), local(12, 10))])

    assert [out["space", "space-1", "occupancy_percent", h] for h in (9, 10, 11, 12, 13)] == [
        0,
        33.33,
        100,
        16.67,
        0,
    ]
    assert out["space", "space-1", "total_sessions", 10] == 1
    assert out["space", "space-1", "turnover", 10] == 1
    assert out["space", "space-1", "average_dwell_time", 10] == 90.0  # minutes, the whole stay
    assert out["space", "space-1", "total_sessions", 11] == 0
    assert ("space", "space-1", "average_dwell_time", 11) not in out  # no session started: no row


def test_a_zone_sums_its_bays_and_turnover_is_sessions_per_bay() -> None:
    bays = [bay(1), bay(2)]
    stays = [
        StayRow(1, local(8, 0), local(8, 30)),
        StayRow(1, local(8, 30), local(9, 0)),
        StayRow(2, local(8, 15), local(8, 45)),
    ]

    out = run(bays, stays)

    assert out["zone", "zone-1", "occupancy_percent", 8] == 75.0  # 90 of 120 bay-minutes
    assert out["zone", "zone-1", "total_sessions", 8] == 3
    assert out["zone", "zone-1", "turnover", 8] == 1.5
    assert out["zone", "zone-1", "average_dwell_time", 8] == 30.0
    assert out["area", "area-1", "occupancy_percent", 8] == 75.0


def test_an_hour_with_the_devices_offline_for_most_of_it_is_minus_one_for_every_metric() -> None:
    stays = [StayRow(1, local(13, 10), local(14, 50))]
    gaps: dict[int, list[Interval]] = {1: [(local(13, 0), local(13, 40)), (local(14, 0), local(14, 30))]}

    out = run([bay(1)], stays, gaps)

    for metric in ("total_sessions", "turnover", "average_dwell_time", "occupancy_percent"):
        assert out["space", "space-1", metric, 13] == -1
    # Offline for exactly half of hour 14: reported; occupied 20 of the 30 watched minutes.
    assert out["space", "space-1", "occupancy_percent", 14] == 66.67
    assert out["zone", "zone-1", "total_sessions", 13] == -1


def test_a_zone_is_minus_one_only_when_most_of_its_bay_seconds_were_unwatched() -> None:
    bays = [bay(1), bay(2), bay(3)]
    gaps: dict[int, list[Interval]] = {1: [(local(6, 0), local(7, 0))], 2: [(local(6, 0), local(7, 0))]}
    stays = [StayRow(3, local(6, 0), local(6, 30))]

    out = run(bays, stays, gaps)

    assert out["zone", "zone-1", "occupancy_percent", 6] == -1  # 2 of 3 bays unwatched
    assert out["space", "space-3", "occupancy_percent", 6] == 50.0
    del gaps[2]
    out = run(bays, stays, gaps)
    assert out["zone", "zone-1", "occupancy_percent", 6] == 25.0  # 30 of 120 watched bay-minutes


def test_a_bay_that_never_reported_is_out_of_service_and_left_out_of_its_zone() -> None:
    bays = [bay(1), bay(2, in_service=False)]

    out = run(bays, [StayRow(1, local(9, 0), local(9, 30))])

    assert out["zone", "zone-1", "occupancy_percent", 9] == 50.0
    assert out["zone", "zone-1", "turnover", 9] == 1
    assert out["space", "space-2", "occupancy_percent", 9] == -1
    assert out["space", "space-2", "total_sessions", 9] == -1


def test_an_open_stay_is_occupied_until_now_and_has_no_dwell_yet() -> None:
    now = local(11, 30)
    hours = [h for h in day_hours() if h.end <= local(12, 0)]

    out = run([bay(1)], [StayRow(1, local(10, 45), None)], hours=hours, now=now)

    assert out["space", "space-1", "occupancy_percent", 10] == 25.0
    assert out["space", "space-1", "occupancy_percent", 11] == 50.0
    assert out["space", "space-1", "total_sessions", 10] == 1
    assert ("space", "space-1", "average_dwell_time", 10) not in out


def test_the_day_clocks_go_back_has_one_local_hour_of_two_real_hours() -> None:
    day = date(2014, 4, 6)  # Melbourne: 03:00 AEDT becomes 02:00 AEST
    hours = day_hours(MELBOURNE, day)

    assert [h.hour for h in hours] == list(range(24))
    assert hours[2].seconds == 7200 and sum(h.seconds for h in hours) == 25 * 3600
    # One hour in the first 02:00 (AEDT, UTC+11), of the 7,200 s of local hour 2.
    first_two = datetime(2014, 4, 5, 15, 0, tzinfo=UTC)
    out = run([bay(1)], [StayRow(1, first_two, first_two + timedelta(hours=1))], hours=hours)
    assert out["space", "space-1", "occupancy_percent", 2] == 50.0
    assert out["space", "space-1", "occupancy_percent", 3] == 0


def test_the_day_clocks_go_forward_has_no_local_hour_two() -> None:
    hours = day_hours(MELBOURNE, date(2014, 10, 5))  # 02:00 AEST becomes 03:00 AEDT

    assert [h.hour for h in hours] == [0, 1, *range(3, 24)]
    assert all(h.seconds == 3600 for h in hours)


def test_a_device_is_offline_from_comms_lost_to_comms_restored() -> None:
    start, end = local(0), local(12)
    transitions = [
        (7, local(2), False),
        (7, local(3), True),
        (7, local(10), False),
        (8, local(1), False),
        (8, local(1, 30), False),  # still offline: the first loss counts
        (8, local(4), True),
    ]

    outages = device_outages(transitions, start, end)

    assert outages == {7: [(local(2), local(3)), (local(10), local(12))], 8: [(local(1), local(4))]}


def test_a_bay_is_unwatched_only_while_every_device_watching_it_is_offline() -> None:
    bays = [bay(1), bay(2), bay(3)]
    window = (local(0), local(12))
    outages: dict[int, list[Interval]] = {7: [(local(2), local(5))], 8: [(local(4), local(6))]}

    feed_and_stake = unwatched_bays(bays, window, [8], {1: [7]}, outages)
    stake_only = unwatched_bays(bays, window, [], {1: [7], 2: [7]}, outages)

    assert feed_and_stake == {1: [(local(4), local(5))], 2: [(local(4), local(6))], 3: [(local(4), local(6))]}
    assert stake_only == {1: [(local(2), local(5))], 2: [(local(2), local(5))], 3: [window]}


def test_place_values_report_percent_and_turnover_per_bay() -> None:
    values = place_values(4, 3600, [7200.0, 0.0, 6.0, 6 * 1800.0, 6.0])

    assert values == {
        "total_sessions": 6,
        "turnover": 1.5,
        "average_dwell_time": 30.0,
        "occupancy_percent": 50.0,
    }
    assert place_values(0, 3600, [0.0] * 5)["turnover"] == -1


@pytest.mark.parametrize("zone", [SHANGHAI, MELBOURNE, ZoneInfo("Asia/Kolkata")])
def test_an_ordinary_day_has_24_local_hours_starting_on_local_hour_boundaries(zone: ZoneInfo) -> None:
    hours = day_hours(zone, date(2026, 1, 15))

    assert [h.hour for h in hours] == list(range(24))
    assert all(h.start.astimezone(zone).minute == 0 for h in hours)
