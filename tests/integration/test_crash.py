"""SIGKILL in the middle of the work loses nothing and doubles nothing.

The web app (gunicorn, its whole process group) is killed while a large push is in flight,
restarted, and sent the whole push again: the stays equal a clean replay. A job (the overstay
sweep, the pricing job) is killed while its transaction is open, run again, and leaves the
rows of one clean run. Each test commits into databases of its own."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from api import create_app
from api.scheduler import jobs
from billing.models import StayFee
from enforcement.models import Violation
from parking.clock import FixedClock
from sensors.rebuild import rebuild_districts
from tests.conftest import TEST_NOW
from tests.integration.curb_traffic import Curb, build_curb, conflicting_traffic, deliveries
from tests.integration.overstays import SLUG, build_overstays, enforcement_rows, fee_rows
from tests.integration.own_database import own_database, psycopg_connect, session_on, snapshot
from tests.integration.processes import Pusher, WebServer, kill_group, run_job, start_job, wait_for

PUSH_BAYS, PUSH_PER_BAY, PUSH_BATCH = 80, 100, 500  # 8,000 events in 16 batches
SWEEP_BAYS = 10_000


@dataclass(frozen=True)
class Push:
    curb: Curb
    batches: list[list[dict[str, Any]]]

    @property
    def ids(self) -> set[str]:
        return {e["event_id"] for batch in self.batches for e in batch}


@pytest.fixture(scope="module")
def push_template(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Push]]:
    with own_database(database_url, tmp_path_factory.mktemp("push")) as url:
        with session_on(url) as db:
            curb = build_curb(db, TEST_NOW, PUSH_BAYS)
            db.commit()
        events = conflicting_traffic(list(curb.bay_names), curb.feed_uuid, TEST_NOW, PUSH_PER_BAY, seed=3)
        (lane,) = deliveries(events, 1, seed=5, batch=PUSH_BATCH, duplicate_share=0, late_share=0.02)
        yield url, Push(curb, lane)


def test_web_app_killed_mid_push_then_sent_the_push_again_ends_in_the_stays_of_a_clean_replay(
    push_template: tuple[str, Push], database_url: str, tmp_path: Path
) -> None:
    template, push = push_template
    with own_database(database_url, tmp_path, template=template) as url:
        server = WebServer(url, workers=2, log=tmp_path / "gunicorn.log")
        try:
            server.start()
            answered = push_until_killed(server, push)
            assert 2 <= len(answered) < len(push.batches)
            logged = snapshot(url, push.curb.slug).event_ids
            for n in answered:
                assert {e["event_id"] for e in push.batches[n]} <= logged  # nothing acknowledged is lost
            for batch in push.batches:
                assert len({e["event_id"] for e in batch} & logged) in (0, len(batch))  # whole or nothing

            server.start()
            sender = Pusher(push.curb.feed_token, url=server.url)
            try:
                for batch in push.batches:
                    status, body = sender.post(push.curb.path, batch)
                    assert (status, body["success"]) == (200, len(batch)), body
            finally:
                sender.close()
        finally:
            server.kill()
        crashed = snapshot(url, push.curb.slug)
        with session_on(url) as db:
            assert rebuild_districts(db, push.curb.slug, TEST_NOW).differences == []
    assert crashed.events == len(crashed.event_ids) == len(push.ids)
    assert crashed.event_ids == push.ids
    clean = clean_replay(template, push, database_url, tmp_path)
    assert (crashed.stays, crashed.bays, crashed.anomalies) == (clean.stays, clean.bays, clean.anomalies)


def push_until_killed(server: WebServer, push: Push) -> set[int]:
    """Two clients send alternate batches; once two answers are back and a request is in
    flight, the server's process group gets SIGKILL. Returns the batches answered."""
    lock = threading.Lock()
    answered: set[int] = set()
    in_flight = [0]

    def client(first: int) -> None:
        sender = Pusher(push.curb.feed_token, url=server.url)
        try:
            for n in range(first, len(push.batches), 2):
                with lock:
                    in_flight[0] += 1
                status, body = sender.post(push.curb.path, push.batches[n])
                assert status == 200 and body["success"] == len(push.batches[n]), body
                with lock:
                    in_flight[0] -= 1
                    answered.add(n)
        except OSError:  # the server died under it
            return
        finally:
            sender.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    try:
        assert wait_for(lambda: len(answered) >= 2 and in_flight[0] > 0, timeout=60)
    finally:
        server.kill()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return set(answered)


def clean_replay(template: str, push: Push, database_url: str, tmp_path: Path) -> Any:
    with own_database(database_url, tmp_path, template=template) as url:
        app = create_app({"DATABASE_URL": url, "CLOCK": FixedClock(TEST_NOW), "SQLITE_CHECKPOINT_SECONDS": 0})
        try:
            sender = Pusher(push.curb.feed_token, app=app)
            for batch in push.batches:
                status, body = sender.post(push.curb.path, batch)
                assert (status, body["success"]) == (200, len(batch)), body
        finally:
            app.extensions["parking.engine"].dispose()
        return snapshot(url, push.curb.slug)


@pytest.fixture(scope="module")
def sweep_template(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with own_database(database_url, tmp_path_factory.mktemp("sweep")) as url:
        with session_on(url) as db:
            build_overstays(db, TEST_NOW, SWEEP_BAYS)
            db.commit()
            if db.get_bind().dialect.name == "postgresql":
                db.execute(text("ANALYZE"))  # as any live database would have; copies keep it
                db.commit()
        yield url


@pytest.mark.parametrize(
    ("job", "table", "rows", "written"),
    [
        (
            "overstay",
            "task",
            enforcement_rows,
            lambda db: db.scalar(select(func.count()).select_from(Violation)),
        ),
        (
            "price-stays",
            "stay_fee",
            fee_rows,
            lambda db: db.scalar(select(func.count()).select_from(StayFee)),
        ),
    ],
)
def test_job_killed_in_its_transaction_then_run_again_leaves_the_rows_of_one_clean_run(
    sweep_template: str,
    database_url: str,
    tmp_path: Path,
    job: str,
    table: str,
    rows: Callable[[Any], dict[Any, Any]],
    written: Callable[[Any], int],
) -> None:
    with own_database(database_url, tmp_path, template=sweep_template) as url:
        run_in_process(url, job)
        with session_on(url) as db:
            clean = rows(db)
    assert len(clean) == SWEEP_BAYS

    with own_database(database_url, tmp_path, template=sweep_template) as url:
        with paused_at_insert(url, table) as in_transaction:
            process = start_job(url, job, SLUG, tmp_path / "killed.log")
            try:
                assert wait_for(lambda: process.poll() is None and in_transaction(), timeout=60, every=0.002)
            finally:
                kill_group(process)
        with session_on(url) as db:
            assert written(db) == 0  # killed before its commit: nothing of it is there
        run_job(url, job, SLUG, tmp_path / "again.log")
        with session_on(url) as db:
            assert rows(db) == clean
        run_in_process(url, job)  # and once more: nothing new
        with session_on(url) as db:
            assert (rows(db), written(db)) == (clean, SWEEP_BAYS)


def run_in_process(url: str, job: str) -> str:
    """`run-job` as the scheduler runs it: the same function, in this process."""
    app = create_app({"DATABASE_URL": url, "SQLITE_CHECKPOINT_SECONDS": 0})
    try:
        return jobs.run_job(app, job, SLUG)
    finally:
        app.extensions["parking.engine"].dispose()


@contextmanager
def paused_at_insert(url: str, table: str) -> Iterator[Callable[[], bool]]:
    """Yields a probe that is true while a job holds its transaction open in the middle of
    its work. PostgreSQL: the table is locked against writes, so the job stops at its INSERT
    into it (after the writes before it), and the probe sees it waiting there. SQLite: the
    probe sees the write lock held (the job's BEGIN IMMEDIATE) and still held 50 ms later."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]

        def holds_write_lock() -> bool:
            probe = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True
            finally:
                probe.close()

        yield lambda: holds_write_lock() and not wait_for(lambda: not holds_write_lock(), timeout=0.05)
        return
    with psycopg_connect(url) as blocker, psycopg_connect(url) as watcher:
        blocker.execute("BEGIN")
        blocker.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s"
        )
        try:
            yield lambda: bool(watcher.execute(waiting, (f"INSERT INTO {table} %",)).fetchone()[0])  # type: ignore[index]
        finally:
            blocker.execute("ROLLBACK")
        others = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        # the killed job's backend finishes its INSERT, finds its client gone and rolls back
        assert wait_for(lambda: watcher.execute(others).fetchone()[0] == 1, timeout=30, every=0.05)  # type: ignore[index]
