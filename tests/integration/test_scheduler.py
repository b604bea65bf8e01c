"""Exactly one scheduler runs jobs; when it stops or dies, another takes over.

These tests commit for real (each scheduler has its own sessions, as separate processes
would), so they only touch the lease table and remove what they wrote."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import delete

from api import create_app
from api.database import new_session
from api.scheduler import Scheduler
from parking.clock import FixedClock
from parking.models import SchedulerLease
from tests.conftest import TEST_NOW


@pytest.fixture
def real_app(database_url: str, engine: object) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "CLOCK": FixedClock(TEST_NOW),
            "SCHEDULER_LEASE_SECONDS": 0.6,
            "SCHEDULER_JOB_SECONDS": {"device-health": 0.1},
            "SQLITE_CHECKPOINT_SECONDS": 0,
        }
    )
    yield app
    db = new_session(app)
    db.execute(delete(SchedulerLease))
    db.commit()
    db.close()
    app.extensions["parking.engine"].dispose()


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_of_two_schedulers_only_one_runs_jobs_and_the_other_takes_over_when_it_stops(
    real_app: Flask,
) -> None:
    first = Scheduler(real_app, blocking=False, holder="first")
    second = Scheduler(real_app, blocking=False, holder="second")
    first.start()
    second.start()
    try:
        assert wait_until(lambda: first.runs["device-health"] >= 3)
        assert first.leader and not second.leader
        assert second.runs["device-health"] == 0

        first.stop()
        assert wait_until(lambda: second.leader and second.runs["device-health"] >= 2)
        assert not first.leader
    finally:
        second.stop()


def test_a_scheduler_that_dies_without_letting_go_is_replaced_once_its_lease_expires(
    real_app: Flask,
) -> None:
    clock: FixedClock = real_app.extensions["parking.clock"]
    first = Scheduler(real_app, blocking=False, holder="first")
    second = Scheduler(real_app, blocking=False, holder="second")
    first.start()
    second.start()
    try:
        assert wait_until(lambda: first.leader)
        first._aps.shutdown(wait=True)  # dies: no more renewals, the lease row stays
        time.sleep(0.5)
        assert not second.leader  # the lease has not expired on the (frozen) clock
        clock.advance(timedelta(seconds=1))
        assert wait_until(lambda: second.leader and second.runs["device-health"] >= 1)
    finally:
        second.stop()
