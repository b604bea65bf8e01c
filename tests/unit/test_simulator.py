"""The street simulator: a deterministic, realistic day of stake and POS events, and the
live schedule that stamps them with real times."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fixtures.cds_check import envelope_errors
from fixtures.demo import DEMO_DRIVER_PLATES, demo_layout
from fixtures.simulator import LiveStreet, SimBay, sim_bays, simulate_day, street_report_events

ZONE = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 2, tzinfo=ZONE)
_IDS = uuid.UUID("0b7d4b4e-5a36-4c1f-9d43-3c1f4a0e9b10")

Event = dict[str, Any]


def demo_bays() -> list[SimBay]:
    """The demo bays with made-up (but stable) CDS ids, as a server would hand them out."""
    layout = demo_layout()
    spaces = {
        bay.name: (str(uuid.uuid5(_IDS, bay.name)), str(uuid.uuid5(_IDS, road.name)))
        for road in layout.roads
        for bay in road.bays
    }
    return sim_bays(spaces, {d.name: str(uuid.uuid5(_IDS, d.name)) for d in layout.devices})


@pytest.fixture(scope="module")
def bays() -> list[SimBay]:
    return demo_bays()


@pytest.fixture(scope="module")
def day(bays: list[SimBay]) -> list[Event]:
    return simulate_day(bays, DAY, seed=7)


def camera_starts(events: list[Event]) -> list[Event]:
    return [e for e in events if e["event_type"] == "park_start" and e["data_source_type"] == "camera"]


def stays_by_bay(events: list[Event]) -> dict[str, list[tuple[int, int]]]:
    starts = {e["event_session_id"]: e for e in camera_starts(events)}
    ends = {e["event_session_id"]: e for e in events if e["event_type"] == "park_end"}
    assert set(starts) == set(ends)
    stays = defaultdict(list)
    for session, start in starts.items():
        stays[start["curb_space_id"]].append((start["event_time"], ends[session]["event_time"]))
    return stays


def local_hour(event: Event) -> int:
    return datetime.fromtimestamp(event["event_time"] / 1000, ZONE).hour


def test_the_same_seed_gives_the_same_day_and_another_seed_another(
    bays: list[SimBay], day: list[Event]
) -> None:
    assert simulate_day(bays, DAY, seed=7) == day
    assert simulate_day(bays, DAY, seed=8) != day


def test_a_demo_day_has_about_5500_stays(day: list[Event]) -> None:
    assert 4950 <= len(camera_starts(day)) <= 6050


def test_no_bay_ever_holds_two_vehicles_at_once(day: list[Event]) -> None:
    for intervals in stays_by_bay(day).values():
        intervals.sort()
        for (_, end), (next_start, _) in zip(intervals, intervals[1:], strict=False):
            assert end < next_start


def test_every_stay_ends_after_it_starts_and_within_its_day(day: list[Event]) -> None:
    midnight_ms = int((DAY + timedelta(days=1)).timestamp() * 1000)
    for intervals in stays_by_bay(day).values():
        for start, end in intervals:
            assert int(DAY.timestamp() * 1000) <= start < end < midnight_ms


def test_events_come_in_event_time_order(day: list[Event]) -> None:
    times = [e["event_time"] for e in day]

    assert times == sorted(times)
    assert all(e["event_publication_time"] >= e["event_time"] for e in day)


def test_arrivals_peak_in_the_morning_and_afternoon_and_are_quiet_at_night(day: list[Event]) -> None:
    hours = Counter(local_hour(e) for e in camera_starts(day))
    night = hours[2] + hours[3]

    assert hours[8] + hours[9] > 10 * night
    assert hours[16] + hours[17] > 10 * night
    assert hours[8] + hours[9] > hours[12] + hours[13]


def test_most_stays_last_ten_minutes_to_three_hours(day: list[Event]) -> None:
    dwells = [end - start for intervals in stays_by_bay(day).values() for start, end in intervals]
    typical = [d for d in dwells if 10 * 60_000 <= d <= 3 * 3600_000]

    assert len(typical) >= 0.8 * len(dwells)


def test_each_event_comes_from_the_device_that_covers_its_bay(bays: list[SimBay], day: list[Event]) -> None:
    by_space = {bay.space_id: bay for bay in bays}
    for event in day:
        bay = by_space[event["curb_space_id"]]
        device = bay.stake if event["data_source_type"] == "camera" else bay.pos

        assert event["data_source_type"] in ("camera", "in_person")
        assert (event["data_source_device_id"], event["data_source_device_name"]) == device
        assert event["curb_zone_id"] == bay.zone_id


def test_camera_reads_carry_a_confidence_and_attendants_enter_a_few_plates(day: list[Event]) -> None:
    camera = [e for e in day if e["data_source_type"] == "camera"]
    in_person = Counter(e["event_type"] for e in day if e["data_source_type"] == "in_person")

    assert all(1 <= e["vehicle_license_plate_confidence"] <= 100 for e in camera)
    assert all(e["vehicle_license_plate"][:1] in "贵川渝云湘" for e in day)
    assert 20 <= in_person["park_start"] <= 400
    corrections = [e for e in day if e["event_type"] == "vehicle_detected" and "actual_cost" not in e]
    assert 20 <= len(corrections) <= 400


def test_app_users_park_and_some_drivers_pay_the_attendant_the_fee(day: list[Event]) -> None:
    starts = camera_starts(day)
    app_users = [e for e in starts if e["vehicle_license_plate"] in DEMO_DRIVER_PLATES]
    paid = [e for e in day if "actual_cost" in e]

    assert 0.10 * len(starts) <= len(app_users) <= 0.20 * len(starts)
    assert 0.35 * len(starts) <= len(paid) <= 0.55 * len(starts)
    assert all(e["data_source_type"] == "in_person" and e["event_type"] == "vehicle_detected" for e in paid)
    assert {e["payment_method"] for e in paid} == {"cash", "digital_wallet"}
    assert all(isinstance(e["actual_cost"], int) and e["actual_cost"] > 0 for e in paid)
    assert not any(e["vehicle_license_plate"] in DEMO_DRIVER_PLATES for e in paid)


def test_an_attendant_corrects_a_doubtful_camera_read_with_another_plate(day: list[Event]) -> None:
    reads = {e["event_session_id"]: e for e in camera_starts(day)}
    corrections = [e for e in day if e["event_type"] == "vehicle_detected" and "actual_cost" not in e]

    for correction in corrections:
        doubtful = reads[correction["event_session_id"]]

        assert doubtful["vehicle_license_plate_confidence"] < 70
        assert correction["vehicle_license_plate"] != doubtful["vehicle_license_plate"]
        assert "vehicle_license_plate_confidence" not in correction


def test_a_sample_of_events_validates_against_the_cds_model(day: list[Event]) -> None:
    kinds = {(e["event_type"], e["data_source_type"]) for e in day}
    sample = [next(e for e in day if (e["event_type"], e["data_source_type"]) == k) for k in sorted(kinds)]
    sample += day[:: len(day) // 40]

    errors = envelope_errors({"version": "1.1.0", "data": {"events": sample}})

    assert len(kinds) == 4
    assert errors == []


# --- the live street -----------------------------------------------------------------------

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Guiyang


def run_street(street: LiveStreet, hours: float, tick_s: int = 20) -> tuple[list[Event], list[str]]:
    """Everything the street hands out over `hours` of real time, and the plates paid by plate."""
    events: list[Event] = []
    plates: list[str] = []
    for second in range(0, int(hours * 3600) + 1, tick_s):
        now = START + timedelta(seconds=second)
        due = street.due(now)
        assert all(e["event_time"] <= e["event_publication_time"] == int(now.timestamp() * 1000) for e in due)
        events += due
        plates += street.plate_payments(now)
    return events, plates


@pytest.fixture(scope="module")
def street_day(bays: list[SimBay]) -> tuple[list[Event], list[str]]:
    return run_street(LiveStreet(bays, ZONE, START, speed=60, seed=3), hours=12)


def sessions(events: list[Event]) -> dict[str, dict[str, Event]]:
    by_session: dict[str, dict[str, Event]] = defaultdict(dict)
    for e in events:
        if e["data_source_type"] == "camera" and "event_session_id" in e:
            by_session[e["event_session_id"]][e["event_type"]] = e
    return by_session


def test_live_stays_last_as_long_as_the_pilots_median_about_an_hour_with_a_tail(
    street_day: tuple[list[Event], list[str]],
) -> None:
    ms = int(START.timestamp() * 1000)
    dwells = sorted(
        (s["park_end"]["event_time"] - s["park_start"]["event_time"]) / 60_000
        for s in sessions(street_day[0]).values()
        if {"park_start", "park_end"} <= set(s) and ms < s["park_start"]["event_time"] < ms + 2 * 3600_000
    )

    assert len(dwells) > 300
    assert 45 <= dwells[len(dwells) // 2] <= 80
    assert 0.01 <= sum(d > 250 for d in dwells) / len(dwells) <= 0.10  # past 4 h + 10 min grace


def test_events_are_handed_out_once_in_real_time(street_day: tuple[list[Event], list[str]]) -> None:
    events = street_day[0]

    assert len({e["event_id"] for e in events}) == len(events)


def test_the_street_under_way_at_the_start_holds_vehicles_already_past_their_maximum_stay(
    bays: list[SimBay],
) -> None:
    street = LiveStreet(bays, ZONE, START, speed=60, seed=3)

    first = street.due(START)
    starts = camera_starts(first)
    ages_h = [(START.timestamp() * 1000 - e["event_time"]) / 3600_000 for e in starts]

    assert 0.3 * len(bays) <= len(starts) <= 0.6 * len(bays)  # the pilot's occupancy at 10:00
    assert len({e["curb_space_id"] for e in starts}) == len(starts)
    assert sum(age > 4.2 for age in ages_h) >= 5
    assert street.occupied() == {e["curb_space_id"] for e in starts}


def test_no_bay_ever_holds_two_of_the_simulators_vehicles(street_day: tuple[list[Event], list[str]]) -> None:
    by_bay: dict[str, list[Event]] = defaultdict(list)
    for e in street_day[0]:
        if e["data_source_type"] == "camera" and e["event_type"] in ("park_start", "park_end"):
            by_bay[e["curb_space_id"]].append(e)
    for events in by_bay.values():
        events.sort(key=lambda e: (e["event_time"], e["event_type"] == "park_start"))
        kinds = [e["event_type"] for e in events]
        assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)), kinds


def test_a_bay_someone_else_holds_is_left_alone_until_the_server_shows_it_vacant(bays: list[SimBay]) -> None:
    street = LiveStreet(bays, ZONE, START, speed=60, seed=4)
    street.due(START)
    free = [b.space_id for b in bays if b.space_id not in street.occupied()]
    held_by_hand = set(free[:-20])  # all but 20 free bays: the simulator must use only those
    street.observe(dict.fromkeys(held_by_hand, "occupied"))

    events, _ = run_street(street, hours=1)

    touched = {e["curb_space_id"] for e in events if "curb_space_id" in e}
    assert not touched & held_by_hand
    street.observe(dict.fromkeys(held_by_hand, "vacant"))
    later = street.due(START + timedelta(hours=3))
    assert {e["curb_space_id"] for e in later if "curb_space_id" in e} & held_by_hand


def test_bays_the_server_shows_occupied_at_the_start_are_left_after_a_while(bays: list[SimBay]) -> None:
    left_over = {bays[0].space_id, bays[1].space_id}  # e.g. from the last run of `make run`
    street = LiveStreet(bays, ZONE, START, speed=60, seed=5, occupied=frozenset(left_over))

    events, _ = run_street(street, hours=11)

    ends = [e for e in events if e.get("curb_space_id") in left_over and e["event_type"] == "park_end"]
    first_of_each = {
        space: min(e["event_time"] for e in ends if e["curb_space_id"] == space) for space in left_over
    }
    assert len(first_of_each) == 2
    for space, end in first_of_each.items():
        assert not any(
            e["curb_space_id"] == space and e["event_type"] == "park_start" and e["event_time"] < end
            for e in events
            if "curb_space_id" in e
        )


def test_the_day_clock_runs_at_speed_and_arrivals_keep_the_days_shape(bays: list[SimBay]) -> None:
    midnight = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 00:00 in Guiyang
    street = LiveStreet(bays, ZONE, midnight, speed=60, seed=6)

    assert street.simulated(midnight + timedelta(minutes=1)) == midnight + timedelta(hours=1)
    night = street.arrivals_per_hour(midnight + timedelta(minutes=3))  # 03:00 on the day's clock
    morning = street.arrivals_per_hour(midnight + timedelta(minutes=9))  # 09:00
    assert morning > 20 * night
    assert 300 <= morning <= 500  # the pilot's real rate: about 5,500 stays a day


def test_a_stake_falls_silent_then_reports_again_with_what_it_held(bays: list[SimBay]) -> None:
    street = LiveStreet(bays, ZONE, START, speed=60, seed=7)

    events, _ = run_street(street, hours=0.25, tick_s=10)

    lost = [e for e in events if e["event_type"] == "comms_lost"]
    assert len(lost) == 1
    stake = lost[0]["data_source_device_id"]
    restored = next(e for e in events if e["event_type"] == "comms_restored")
    assert restored["data_source_device_id"] == stake
    gap_min = (restored["event_time"] - lost[0]["event_time"]) / 60_000
    assert gap_min > 10  # past the health sweep's silent minutes: it takes the stake offline
    sent_while_silent = [
        e
        for e in events
        if e["data_source_device_id"] == stake
        and lost[0]["event_time"] < e["event_publication_time"] < restored["event_publication_time"]
    ]
    assert sent_while_silent == []
    assert street.silent(START + timedelta(minutes=2)) == {stake}


def test_most_drivers_pay_in_the_app_at_the_curb_or_by_plate(
    street_day: tuple[list[Event], list[str]],
) -> None:
    events, by_plate = street_day
    paid_at_curb = {e["event_session_id"] for e in events if "actual_cost" in e}
    plate_of = {e["event_session_id"]: e["vehicle_license_plate"] for e in events if "actual_cost" in e}
    billable = [
        s
        for s in sessions(events).values()
        if {"park_start", "park_end"} <= set(s)
        and s["park_end"]["event_time"] - s["park_start"]["event_time"] > 20 * 60_000  # past the free 15 min
    ]
    paid = sum(
        1
        for s in billable
        if s["park_start"]["vehicle_license_plate"] in DEMO_DRIVER_PLATES
        or s["park_start"]["event_session_id"] in paid_at_curb
        or s["park_start"]["vehicle_license_plate"] in by_plate
    )

    assert plate_of
    assert 0.80 <= paid / len(billable) <= 0.97


def test_street_reports_come_from_the_stakes_of_the_busiest_roads_at_a_plausible_rate(
    bays: list[SimBay],
) -> None:
    days = [street_report_events(bays, DAY + timedelta(days=n), seed=n) for n in range(20)]
    events = [e for day in days for e in day]
    kinds = {e["custom_attributes"]["street_report"] for e in events}
    busy_roads = {e["curb_zone_id"] for e in events}
    stake_of = {b.space_id: b.stake[0] for b in bays}

    assert 6 <= len(events) / 20 <= 20  # about 4 per busy road per day
    assert kinds == {"vending", "goods_on_road", "construction"} and len(busy_roads) == 3
    assert all(e["event_type"] == "scheduled_report" for e in events)
    assert all(e["data_source_device_id"] == stake_of[e["curb_space_id"]] for e in events)
    vending_hours = {local_hour(e) for e in events if e["custom_attributes"]["street_report"] == "vending"}
    assert vending_hours <= {11, 12, 17, 18, 19, 20}
    assert street_report_events(bays, DAY, seed=0) == days[0]
