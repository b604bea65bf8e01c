"""The simulator's patrol car (fixtures/patrol_car.py): it passes the bays road by road at
its speed, reads the plate of each parked vehicle once a round, never an empty bay, and some
of its reads are doubtful."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fixtures.patrol_car import PatrolCar
from fixtures.simulator import SimBay

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def bays(count: int) -> list[SimBay]:
    return [
        SimBay(f"B{n}", f"space-{n:03d}", "zone-1", 26.68, 106.63 + n * 0.00006, ("stake", "S"), ("pos", "P"))
        for n in range(count)
    ]


def test_each_parked_vehicle_passed_is_read_once_a_round_and_empty_bays_never() -> None:
    street = bays(10)
    parked = {"space-002": "贵A12345", "space-007": "贵B54321"}
    car = PatrolCar(street, START, seed=1, bays_per_second=2)
    first = car.drive(START + timedelta(seconds=2.5), parked)  # passed bays 0-4
    rest = car.drive(START + timedelta(seconds=5), parked)  # bays 5-9: the round is done
    again = car.drive(START + timedelta(seconds=10), parked)  # a second round
    assert [r["read_at"] for r in first] == [(START + timedelta(seconds=1)).isoformat()]  # bay 2
    assert len(rest) == 1 and len(again) == 2
    assert car.drive(START + timedelta(seconds=10), parked) == []  # nothing passed since


def test_a_read_is_taken_beside_its_bay_at_the_time_it_was_passed() -> None:
    street = bays(4)
    car = PatrolCar(street, START, seed=2, bays_per_second=1)
    (read,) = car.drive(START + timedelta(seconds=4), {"space-003": "贵A12345"})
    assert read["read_at"] == (START + timedelta(seconds=3)).isoformat()
    assert abs(read["lat"] - 26.68) < 0.00002 and abs(read["lng"] - street[3].lng) < 0.00001


def test_about_one_read_in_twelve_is_doubtful_and_some_of_those_are_misread() -> None:
    street = bays(100)
    parked = {b.space_id: "贵A10580" for b in street}
    car = PatrolCar(street, START, seed=3, bays_per_second=100)
    reads = car.drive(START + timedelta(seconds=20), parked)
    doubtful = [r for r in reads if r["confidence"] < 80]
    assert len(reads) == 2000 and 100 < len(doubtful) < 250
    assert all(r["confidence"] >= 88 and r["plate"] == "贵A10580" for r in reads if r["confidence"] >= 80)
    assert any(r["plate"] != "贵A10580" for r in doubtful)
