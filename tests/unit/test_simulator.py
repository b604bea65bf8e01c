"""The street simulator: a deterministic, realistic day of stake and POS events, and the
live schedule that stamps them with real times."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fixtures.demo import DEMO_DRIVER_PLATES, demo_layout
from fixtures.simulator import LiveSchedule, SimBay, sim_bays, simulate_day

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
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
    assert 0.04 * len(starts) <= len(paid) <= 0.12 * len(starts)
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


def test_a_sample_of_events_validates_against_the_cds_model(day: list[Event], tmp_path: Path) -> None:
    kinds = {(e["event_type"], e["data_source_type"]) for e in day}
    sample = [next(e for e in day if (e["event_type"], e["data_source_type"]) == k) for k in sorted(kinds)]
    sample += day[:: len(day) // 40]
    payload = tmp_path / "events.json"
    payload.write_text(json.dumps({"version": "1.1.0", "data": {"events": sample}}), encoding="utf-8")

    checked = subprocess.run(
        [
            sys.executable,
            SHARED / "cds" / "validate_cds.py",
            SHARED / "cds" / "openapi-v1.1",
            payload,
            "--patched",
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert len(kinds) == 4
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_live_schedule_stamps_events_with_real_times_never_after_now(bays: list[SimBay]) -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Guiyang
    schedule = LiveSchedule(bays, ZONE, start, speed=60, seed=3)
    handed_out: list[Event] = []
    for second in range(0, 30 * 60, 2):  # half an hour of real time: more than a simulated day
        now = start + timedelta(seconds=second)
        due = schedule.due(now)
        handed_out += due

        assert all(e["event_time"] <= e["event_publication_time"] == int(now.timestamp() * 1000) for e in due)

    assert len({e["event_id"] for e in handed_out}) == len(handed_out)
    assert schedule.simulated(start + timedelta(minutes=30)) == start + timedelta(hours=30)
    assert len(camera_starts(handed_out)) > 5000


def test_the_live_schedule_shows_the_stays_under_way_at_once(bays: list[SimBay]) -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    schedule = LiveSchedule(bays, ZONE, start, speed=60, seed=3)

    first = schedule.due(start)
    starts = camera_starts(first)

    assert len(starts) > 200
    assert len(starts) == len(first)
    assert {e["event_time"] for e in first} == {int(start.timestamp() * 1000)}
    assert len({e["curb_space_id"] for e in starts}) == len(starts)
