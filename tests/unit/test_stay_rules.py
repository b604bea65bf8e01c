"""A stay is going over the half-open [started_at, ended_at): the Python predicates at the
boundaries (the SQL ones are checked against them in tests/integration/test_stay_rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parking.stay_rules import is_going_at, is_overlapping, is_reaching, is_touching

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
TICK = timedelta(microseconds=1)


def test_a_stay_is_going_at_its_start_and_not_at_its_end() -> None:
    assert not is_going_at(START, END, START - TICK)
    assert is_going_at(START, END, START)
    assert is_going_at(START, END, END - TICK)
    assert not is_going_at(START, END, END)


def test_an_open_stay_is_going_from_its_start_on() -> None:
    assert not is_going_at(START, None, START - TICK)
    assert is_going_at(START, None, START)
    assert is_going_at(START, None, START + timedelta(days=400))


def test_a_window_overlaps_a_stay_only_if_they_share_an_instant() -> None:
    assert not is_overlapping(START, END, END, END + timedelta(hours=1))  # the window starts at the end
    assert not is_overlapping(START, END, START - timedelta(hours=1), START)  # it ends at the start
    assert is_overlapping(START, END, END - TICK, END + timedelta(hours=1))
    assert is_overlapping(START, END, START - timedelta(hours=1), START + TICK)
    assert is_overlapping(START, None, END + timedelta(days=9), END + timedelta(days=10))


def test_a_missing_bound_leaves_the_window_open_on_that_side() -> None:
    assert is_overlapping(START, END, None, START + TICK)
    assert not is_overlapping(START, END, None, START)
    assert is_overlapping(START, END, END - TICK, None)
    assert not is_overlapping(START, END, END, None)
    assert is_overlapping(START, END, None, None)


def test_touching_and_reaching_count_the_stays_end_instant() -> None:
    assert is_touching(START, END, START) and is_touching(START, END, END)
    assert not is_touching(START, END, END + TICK) and not is_touching(START, END, START - TICK)
    assert is_reaching(END, END) and is_reaching(None, END)
    assert not is_reaching(END, END + TICK)


def test_two_stays_meeting_at_an_instant_are_never_both_going_then() -> None:
    later = (END, END + timedelta(hours=1))
    assert [is_going_at(START, END, END), is_going_at(*later, END)] == [False, True]
