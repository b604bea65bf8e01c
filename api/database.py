"""The engine, and one database session per request, CLI command or job.

The session is opened here; the view or command that owns the unit of work writes through
`parking.unit_of_work.writing(db)`, and domain services only flush.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from parking.unit_of_work import SQLITE_IMMEDIATE

log = logging.getLogger(__name__)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; SQLite gets WAL, foreign keys and SQLAlchemy's documented pysqlite
    transaction hooks, so BEGIN and SAVEPOINT behave as on PostgreSQL."""
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if path and path != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Checkpoints (and their fsync) run on a background thread, not inside a
            # request's COMMIT; this threshold is only the safety net.
            cursor.execute("PRAGMA wal_autocheckpoint=20000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes fails at once with "database is locked" when another writer got in between.
        immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def init_app(app: Flask) -> None:
    bind = app.config.get("DATABASE_BIND")  # tests hand in a connection inside a transaction
    if bind is not None:
        factory = sessionmaker(bind=bind, join_transaction_mode="create_savepoint")
    else:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["parking.engine"] = engine
        factory = sessionmaker(bind=engine)
        if engine.dialect.name == "sqlite" and app.config.get("SQLITE_CHECKPOINT_SECONDS"):
            _start_checkpointer(engine, float(app.config["SQLITE_CHECKPOINT_SECONDS"]))
    app.extensions["parking.sessionmaker"] = factory
    app.teardown_request(_close)


def _start_checkpointer(engine: Engine, every: float) -> None:
    """Copy the WAL back into the database file every few seconds, off the request path.

    PASSIVE never blocks readers or writers; SQLite's own autocheckpoint stays as a net."""

    def run() -> None:
        while True:
            time.sleep(every)
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # a busy or closed database: try again next round
                log.debug("checkpoint skipped", exc_info=True)

    threading.Thread(target=run, name="sqlite-checkpoint", daemon=True).start()


def new_session(app: Flask | None = None) -> Session:
    factory: sessionmaker[Session] = (app or current_app).extensions["parking.sessionmaker"]
    return factory()


def get_db() -> Session:
    """This request's session, opened on first use."""
    if "db" not in g:
        g.db = new_session()
    db: Session = g.db
    return db


def _close(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()
