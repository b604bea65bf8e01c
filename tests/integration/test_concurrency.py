"""Writers racing over the same bays end where one writer would: the stays and bay states
after concurrent pushes (threads through the app, or client threads against a multi-process
gunicorn) equal a serial replay of the same events into a fresh database, the in-memory fold
of the whole log, and `rebuild`. Each run commits into a database of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api import create_app
from parking.clock import FixedClock
from sensors.models import CurbEvent
from sensors.rebuild import rebuild_districts
from tests.conftest import TEST_NOW
from tests.integration.curb_traffic import Curb, build_curb, conflicting_traffic, deliveries, reference_stays
from tests.integration.own_database import Snapshot, own_database, session_on, snapshot
from tests.integration.processes import Pusher, web_server

BAYS = 10
PER_BAY = 200  # about 2,000 events, 200 more sent twice
WRITERS = 4
BATCH = 40

# The pushed traffic spans days before TEST_NOW: history, so no bound on an event's age.
HISTORY_APP = {"SQLITE_CHECKPOINT_SECONDS": 0, "EVENT_MAX_AGE_HOURS": 0}


@dataclass(frozen=True)
class Seeded:
    url: str
    curb: Curb
    events: list[dict[str, Any]]
    by_id: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def seeded(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A committed database holding the district only; each run works on a copy of it."""
    folder = tmp_path_factory.mktemp("concurrency")
    with own_database(database_url, folder) as url:
        with session_on(url) as db:
            curb = build_curb(db, TEST_NOW, BAYS)
            db.commit()
        events = conflicting_traffic(list(curb.bay_names), curb.feed_uuid, TEST_NOW, PER_BAY, seed=7)
        assert len(events) >= 0.9 * BAYS * PER_BAY
        yield Seeded(url, curb, events, {e["event_id"]: e for e in events})


def test_threads_pushing_conflicting_events_end_in_the_stays_of_a_serial_replay(
    seeded: Seeded, database_url: str, tmp_path: Path
) -> None:
    plan = deliveries(seeded.events, WRITERS, seed=11, batch=BATCH)
    with own_database(database_url, tmp_path, template=seeded.url) as url:
        app = create_app(HISTORY_APP | {"DATABASE_URL": url, "CLOCK": FixedClock(TEST_NOW)})
        try:
            push_concurrently(lambda: Pusher(seeded.curb.feed_token, app=app), seeded.curb, plan)
        finally:
            app.extensions["parking.engine"].dispose()
        assert_equals_serial_replay(seeded, url, database_url, tmp_path)


def test_gunicorn_workers_pushing_conflicting_events_end_in_the_stays_of_a_serial_replay(
    seeded: Seeded, database_url: str, tmp_path: Path
) -> None:
    plan = deliveries(seeded.events, WRITERS, seed=23, batch=BATCH)
    with own_database(database_url, tmp_path, template=seeded.url) as url:
        with web_server(url, tmp_path / "gunicorn.log", workers=3) as server:
            push_concurrently(lambda: Pusher(seeded.curb.feed_token, url=server.url), seeded.curb, plan)
        assert_equals_serial_replay(seeded, url, database_url, tmp_path)


def test_deliveries_split_bays_across_writers_with_duplicates_and_late_events(seeded: Seeded) -> None:
    """The plan really holds the conflicts the tests above are about."""
    plan = deliveries(seeded.events, WRITERS, seed=11, batch=BATCH)
    lanes = [[e for batch in lane for e in batch] for lane in plan]
    sent = [e["event_id"] for lane in lanes for e in lane]
    assert len(sent) - len(set(sent)) >= len(seeded.events) // 20  # duplicates
    assert set(sent) == set(seeded.by_id)
    space = seeded.events[0]["curb_space_id"]
    writers_of_bay = {n for n, lane in enumerate(lanes) for e in lane if e["curb_space_id"] == space}
    assert writers_of_bay == set(range(WRITERS))
    late = sum(
        1
        for lane in lanes
        for before, after in zip(lane, lane[1:], strict=False)
        if after["event_time"] < before["event_time"] - 3_600_000
    )
    assert late >= 20  # events arriving more than an hour behind what the writer sent before


def push_concurrently(
    sender: Callable[[], Pusher], curb: Curb, plan: list[list[list[dict[str, Any]]]]
) -> None:
    """Each writer a thread with its own connection, all released at once; every batch must
    be accepted whole (a duplicate is a success)."""
    start = threading.Barrier(len(plan))
    replies: list[tuple[int, Any, int]] = []
    errors: list[BaseException] = []

    def write(lane: list[list[dict[str, Any]]]) -> None:
        try:
            client = sender()
            try:
                start.wait(timeout=30)
                for batch in lane:
                    status, body = client.post(curb.path, batch)
                    replies.append((status, body, len(batch)))
            finally:
                client.close()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(lane,)) for lane in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer did not finish in 120 s"
    assert not errors, errors
    assert len(replies) == sum(len(lane) for lane in plan)
    refused = [(status, body) for status, body, size in replies if status != 200 or body["success"] != size]
    assert not refused, refused[:3]


def assert_equals_serial_replay(seeded: Seeded, url: str, database_url: str, tmp_path: Path) -> None:
    concurrent = snapshot(url, seeded.curb.slug)
    assert concurrent.event_ids == set(seeded.by_id)
    assert concurrent.events == len(seeded.by_id)  # nothing lost, nothing doubled
    assert concurrent.stays == reference_stays(seeded.events, seeded.curb.bay_names)

    serial = serial_replay(seeded, received_order(url), database_url, tmp_path)
    assert concurrent.stays == serial.stays
    assert concurrent.bays == serial.bays
    assert concurrent.anomalies == serial.anomalies

    with session_on(url) as db:
        report = rebuild_districts(db, seeded.curb.slug, TEST_NOW)
        db.commit()
    assert report.differences == []
    assert snapshot(url, seeded.curb.slug) == concurrent


def received_order(url: str) -> list[str]:
    with session_on(url) as db:
        return list(db.scalars(select(CurbEvent.event_id).order_by(CurbEvent.id)))


def serial_replay(seeded: Seeded, order: list[str], database_url: str, tmp_path: Path) -> Snapshot:
    """The same events, once each, in the order the concurrent run logged them, one batch
    at a time into a fresh copy of the district."""
    with own_database(database_url, tmp_path, template=seeded.url) as url:
        app = create_app(HISTORY_APP | {"DATABASE_URL": url, "CLOCK": FixedClock(TEST_NOW)})
        try:
            client = Pusher(seeded.curb.feed_token, app=app)
            for i in range(0, len(order), 200):
                batch = [seeded.by_id[event_id] for event_id in order[i : i + 200]]
                status, body = client.post(seeded.curb.path, batch)
                assert (status, body["success"]) == (200, len(batch)), body
        finally:
            app.extensions["parking.engine"].dispose()
        return snapshot(url, seeded.curb.slug)


def test_writers_resending_the_same_events_in_opposite_orders_both_succeed(
    seeded: Seeded, database_url: str, tmp_path: Path
) -> None:
    """Two writers (a device retrying on a second connection) push the same batches, one
    in reverse order: the log takes each event once and neither writer fails."""
    batches = [seeded.events[i : i + BATCH] for i in range(0, 1200, BATCH)]
    plan = [batches, [list(reversed(batch)) for batch in batches]]
    with own_database(database_url, tmp_path, template=seeded.url) as url:
        app = create_app(HISTORY_APP | {"DATABASE_URL": url, "CLOCK": FixedClock(TEST_NOW)})
        try:
            push_concurrently(lambda: Pusher(seeded.curb.feed_token, app=app), seeded.curb, plan)
        finally:
            app.extensions["parking.engine"].dispose()
        logged = snapshot(url, seeded.curb.slug)
    assert logged.events == len(logged.event_ids) == 1200


def test_a_push_waits_for_the_writer_holding_its_bay_before_it_logs_anything(
    seeded: Seeded, database_url: str, tmp_path: Path
) -> None:
    """PostgreSQL: the read that finds a push's bays takes the fold's lock on them, so a
    push for a bay another transaction holds waits in that read, before its first insert,
    and goes on when the holder commits. (SQLite has one writer at a time: BEGIN IMMEDIATE.)"""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; SQLite writers queue for the whole database")
    event = seeded.events[0]
    with own_database(database_url, tmp_path, template=seeded.url) as url:
        app = create_app(HISTORY_APP | {"DATABASE_URL": url, "CLOCK": FixedClock(TEST_NOW)})
        replies: list[tuple[int, Any]] = []
        try:
            with session_on(url) as holder, session_on(url) as watcher:
                holder.execute(
                    text("SELECT id FROM bay WHERE uuid = :space FOR NO KEY UPDATE"),
                    {"space": event["curb_space_id"]},
                )
                client = Pusher(seeded.curb.feed_token, app=app)
                pushing = threading.Thread(
                    target=lambda: replies.append(client.post(seeded.curb.path, [event]))
                )
                pushing.start()
                try:
                    waiting = _waiting_statement(watcher)
                    assert pushing.is_alive() and not replies
                    assert waiting is not None and waiting.startswith("SELECT bay.uuid AS space"), waiting
                finally:
                    holder.commit()  # the push goes on, whatever was asserted
                    pushing.join(timeout=30)
        finally:
            app.extensions["parking.engine"].dispose()
    assert replies == [(200, {"success": 1, "total": 1, "failures": []})]


def _waiting_statement(watcher: Session) -> str | None:
    """The statement of the backend that waits for a row lock, once one does (up to 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        query = watcher.execute(
            text(
                "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
        watcher.rollback()
        if query is not None:
            return str(query)
        time.sleep(0.05)
    return None
