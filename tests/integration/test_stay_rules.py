"""The SQL stay predicates select exactly the stays the Python ones accept, at the boundaries
of the half-open [started_at, ended_at), on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district
from parking.clock import FixedClock
from parking.models import Stay
from parking.stay_rules import (
    ended_within,
    going_at,
    is_going_at,
    is_overlapping,
    is_reaching,
    is_touching,
    overlapping,
    reaching,
    started_within,
    touching,
)
from tests.support.stays import add_stay

HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)


@pytest.fixture
def stays(db: Session, clock: FixedClock) -> dict[str, Stay]:
    """Two stays meeting at `end` in one bay, and an open one in another."""
    town: SmallDistrict = build_small_district(db, clock.now())
    start = clock.now() - 3 * HOUR
    return {
        "early": add_stay(db, town.bay("T1-1"), start, start + HOUR),
        "late": add_stay(db, town.bay("T1-1"), start + HOUR, start + 2 * HOUR),
        "open": add_stay(db, town.bay("T1-2"), start + HOUR, None),
    }


def chosen(db: Session, stays: dict[str, Stay], rule: ColumnElement[bool]) -> set[str]:
    ids = set(db.scalars(select(Stay.id).where(Stay.id.in_([s.id for s in stays.values()]), rule)))
    return {name for name, stay in stays.items() if stay.id in ids}


def by_python(stays: dict[str, Stay], accepts: Callable[[Stay], bool]) -> set[str]:
    return {name for name, stay in stays.items() if accepts(stay)}


def test_going_at_the_instant_two_stays_meet_finds_only_the_later_one(
    db: Session, stays: dict[str, Stay]
) -> None:
    meet = stays["early"].ended_at
    assert meet is not None
    assert chosen(db, stays, going_at(meet)) == {"late", "open"}
    assert chosen(db, stays, going_at(meet - TICK)) == {"early"}
    assert chosen(db, stays, going_at(stays["early"].started_at)) == {"early"}


@pytest.mark.parametrize("offset", [-TICK, timedelta(0), TICK, HOUR, 2 * HOUR, 3 * HOUR])
def test_each_sql_predicate_agrees_with_its_python_twin(
    db: Session, stays: dict[str, Stay], offset: timedelta
) -> None:
    at = stays["early"].started_at + offset
    window = (at, at + HOUR)
    assert chosen(db, stays, going_at(at)) == by_python(
        stays, lambda s: is_going_at(s.started_at, s.ended_at, at)
    )
    assert chosen(db, stays, touching(at)) == by_python(
        stays, lambda s: is_touching(s.started_at, s.ended_at, at)
    )
    assert chosen(db, stays, reaching(at)) == by_python(stays, lambda s: is_reaching(s.ended_at, at))
    assert chosen(db, stays, overlapping(*window)) == by_python(
        stays, lambda s: is_overlapping(s.started_at, s.ended_at, *window)
    )


def test_a_window_ending_where_a_stay_starts_does_not_overlap_it(db: Session, stays: dict[str, Stay]) -> None:
    start = stays["early"].started_at
    assert chosen(db, stays, overlapping(start - HOUR, start)) == set()
    assert chosen(db, stays, overlapping(None, start + HOUR)) == {"early"}
    assert chosen(db, stays, overlapping(start + 2 * HOUR, None)) == {"open"}


def test_ended_and_started_within_take_the_start_and_leave_the_end(
    db: Session, stays: dict[str, Stay]
) -> None:
    start = stays["early"].started_at
    assert chosen(db, stays, ended_within(start + HOUR, start + 2 * HOUR)) == {"early"}
    assert chosen(db, stays, started_within(start + HOUR, start + 2 * HOUR)) == {"late", "open"}
    assert chosen(db, stays, started_within(start, start + HOUR)) == {"early"}
