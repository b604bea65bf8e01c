"""Test harness: one database per run (SQLite file, or a throwaway PostgreSQL cluster with
--postgres), migrated once; every test runs inside a transaction that is rolled back.

The repository stands alone: a run fails if anything opens a file under the `shared` folder
beside the repository (data the project needs is copied into fixtures/data/)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from api import create_app
from api.database import make_engine
from api.migrations import upgrade
from parking.clock import FixedClock

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # must never be read: see `shared_opens`
TEST_NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        action="store_true",
        help="run against a throwaway PostgreSQL cluster on 127.0.0.1 instead of SQLite",
    )


# The folders nothing may open a file in (the tests of the hook add a folder of their own),
# and what was opened there during this run.
# Beside the repository, and beside any folder above it (a worktree's main checkout's `shared`).
FORBIDDEN: list[Path] = [SHARED] + [
    up / "shared" for up in REPO.parents[1:] if (up / "shared" / "cds").is_dir()
]
shared_opens: list[str] = []


def forbidden(path: object) -> bool:
    """Whether an `open` audit event's path lies in one of the FORBIDDEN folders."""
    if isinstance(path, int):  # an already open file descriptor
        return False
    try:
        resolved = Path(os.fsdecode(path)).resolve()  # type: ignore[arg-type]
    except (TypeError, ValueError, OSError):
        return False
    return any(resolved == root or root in resolved.parents for root in FORBIDDEN)


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and args and forbidden(args[0]):
        shared_opens.append(os.fsdecode(args[0]))  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    if not getattr(sys, "_parking_shared_hook", False):  # an audit hook cannot be removed
        sys.addaudithook(_audit)
        sys._parking_shared_hook = True  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _reads_nothing_from_shared() -> Iterator[None]:
    """A test that opens a file under ../shared fails, naming the file."""
    before = len(shared_opens)
    yield
    opened = shared_opens[before:]
    assert not opened, f"the repository must not read ../shared, but this test opened {opened}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Also an open outside any test (collection, a session fixture) fails the run."""
    if shared_opens:
        print(f"\nTHE RUN OPENED FILES UNDER ../shared, WHICH THE REPOSITORY MUST NOT NEED: {shared_opens}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_report_header(config: pytest.Config) -> str:
    return "database: " + ("PostgreSQL (throwaway cluster)" if config.getoption("--postgres") else "SQLite")


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("PARKING_TEST_DATABASE_URL"):
        yield os.environ["PARKING_TEST_DATABASE_URL"]
        return
    if request.config.getoption("--postgres"):
        from fixtures.pgcluster import start_cluster

        cluster = start_cluster()
        try:
            yield cluster.url
        finally:
            cluster.stop()
        return
    yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def postgres_url(database_url: str) -> Iterator[str]:
    """A PostgreSQL database even in the SQLite run: the suite's own with --postgres, else a
    throwaway cluster, for the few tests of what only a PostgreSQL server does."""
    if database_url.startswith("postgresql"):
        yield database_url
        return
    from fixtures.pgcluster import start_cluster

    cluster = start_cluster()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that the test never commits: it is rolled back."""
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TEST_NOW)


@pytest.fixture
def app(connection: Connection, clock: FixedClock, tmp_path: Path) -> Flask:
    # no vacancy or district cache: tests change bays and districts and ask again at once;
    # an event archive of the test's own, never the checkout's var/
    settings = {
        "VACANCY_CACHE_SECONDS": 0,
        "DISTRICT_CACHE_SECONDS": 0,
        "EVENT_ARCHIVE_DIR": str(tmp_path / "archive"),
    }
    return create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, **settings})
