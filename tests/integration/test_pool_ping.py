"""A pooled PostgreSQL connection the server dropped while it sat idle is replaced before a
request uses it (api/database.py: pinged only after PING_AFTER_IDLE_SECONDS idle, not on
every checkout). Runs on a throwaway cluster even in the SQLite run."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

import api.database
from api.database import make_engine


def pooled(url: str, idle_seconds: float, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(api.database, "PING_AFTER_IDLE_SECONDS", idle_seconds)
    return make_engine(url, pool_size=1, max_overflow=0)


def drop_the_pooled_connection(engine: Engine, url: str) -> int:
    with engine.connect() as conn:
        pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    killer = make_engine(url)
    try:
        with killer.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    finally:
        killer.dispose()
    time.sleep(0.2)  # idle in the pool meanwhile
    return pid


def test_a_connection_dropped_while_idle_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pooled(postgres_url, 0.1, monkeypatch)
    try:
        dropped = drop_the_pooled_connection(engine, postgres_url)
        with engine.connect() as conn:
            now_serving = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    finally:
        engine.dispose()

    assert now_serving != dropped


def test_a_connection_in_use_more_often_than_the_idle_time_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pooled(postgres_url, 60.0, monkeypatch)
    try:
        drop_the_pooled_connection(engine, postgres_url)
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")  # not pinged: the request meets the dropped connection
    finally:
        engine.dispose()
