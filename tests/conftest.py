"""Test harness: one database per run (SQLite file, or a throwaway PostgreSQL cluster with
--postgres), migrated once; every test runs inside a transaction that is rolled back."""

from __future__ import annotations

import os
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
SHARED = REPO.parent / "shared"
TEST_NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        action="store_true",
        help="run against a throwaway PostgreSQL cluster on 127.0.0.1 instead of SQLite",
    )


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
def app(connection: Connection, clock: FixedClock) -> Flask:
    # no vacancy cache: tests change bays and ask again at once
    return create_app(
        {"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "VACANCY_CACHE_SECONDS": 0}
    )
