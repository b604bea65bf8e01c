"""The engine, and one database session per request, CLI command or job.

The session is opened here; the view or command that owns the unit of work writes through
`parking.unit_of_work.writing(db)`, and domain services only flush.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
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
        return _pinging_when_idle(create_engine(url, **kwargs), PING_AFTER_IDLE_SECONDS)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {"timeout": 30}
    if path and path != ":memory:":
        connect_args["factory"] = _queued_connection_class(path)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if path and path != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL: COMMIT does not sync the WAL; QueuedConnection.commit does, after it.
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Checkpoints (and their fsync) run on a background thread, not inside a
            # request's COMMIT; this threshold is only the safety net.
            cursor.execute("PRAGMA wal_autocheckpoint=20000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes fails at once with "database is locked" when another writer got in between.
        # Straight on the driver's connection: through `exec_driver_sql` a BEGIN costs a
        # single pushed event or a plate check about 3% of its CPU, twice (SQLAlchemy's
        # bookkeeping of a statement, for one that returns nothing and is not logged).
        raw = connection.connection.dbapi_connection
        if not connection.get_execution_options().get(SQLITE_IMMEDIATE, False):
            raw.execute("BEGIN")
            return
        if isinstance(raw, QueuedConnection):
            raw.wait_turn()
        try:
            raw.execute("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(raw, QueuedConnection):
                raw.end_turn()
            raise

    return engine


class QueuedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue for their turn on a lock file.

    SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps
    1, 2, 5, 10 ... 100 ms between tries, so under load a waiting writer sleeps long after
    the lock is free (p99 of 200 to 400 ms for single events with two workers, issue 17).
    Here a writer first takes an exclusive `flock` on `<database>-writers`, which the kernel
    hands over the moment the previous writer lets go, then BEGIN IMMEDIATE finds SQLite's
    lock free. The turn ends after COMMIT or ROLLBACK. Writers that do not queue (another
    program, a deferred transaction that writes) still meet SQLite's own lock and busy
    handler, as before: the queue only orders the writers that use it.

    flock (not fcntl's record locks, which SQLite uses on the database itself) is held per
    open file, so two connections of one process queue as two processes do. A thread that
    already holds the turn through another connection does not queue again (it would wait
    on itself); it meets SQLite's busy handler as it did before the queue. The wait has no
    time limit: code that, holding the turn, waited for another thread's write would hang
    where SQLite alone fails after its 30 s busy timeout. No unit of work here does that
    (each thread writes through its own session, one transaction at a time)."""

    lock_path = ""
    database_path = ""
    _turns = threading.local()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock_fd: int | None = None  # -1: the lock file cannot be opened
        self._held: int | None = None  # the lock file while this connection has the turn
        self._changes_synced = 0  # total_changes when this connection last synced the WAL

    def wait_turn(self) -> None:
        if getattr(self._turns, "held", False):
            return
        if self._lock_fd is None:
            self._lock_fd = _open_lock_file(self.lock_path, self.database_path)
        if self._lock_fd < 0:
            return  # no lock file to queue on: SQLite's own lock and busy handler, as before
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._held = self._lock_fd
        self._turns.held = True

    def end_turn(self) -> None:
        if self._held is not None:
            fcntl.flock(self._held, fcntl.LOCK_UN)
            self._held = None
            self._turns.held = False

    def commit(self) -> None:
        wrote = self._held is not None or self.total_changes != self._changes_synced
        try:
            super().commit()
        finally:
            self.end_turn()
        if wrote:
            self._sync_wal()

    def _sync_wal(self) -> None:
        """Sync the WAL to disk, after the COMMIT and with the turn handed on: a transaction
        that wrote is on disk before `commit` returns, so before any answer that says it was
        logged (`synchronous=NORMAL` alone leaves the last commits to a power loss).

        Syncing here rather than inside the COMMIT (`synchronous=FULL`) lets the next writer
        go in while this one waits for the disk, and one sync may carry both. It is as safe:
        the sync carries every frame written to the WAL so far, this transaction's included;
        and if another writer started the WAL again meanwhile, a checkpoint had already
        copied these frames into the database file and synced it first (SQLite syncs the
        database file after a checkpoint, and starts the WAL again only after a complete
        one). Another process may read the commit a moment before it is on disk; an answer
        that depends on it and writes is synced after it, in the same file."""
        self._changes_synced = self.total_changes
        try:
            fd = os.open(self.database_path + "-wal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # not in WAL mode: SQLite synced the commit itself
            return
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        self.end_turn()
        if self._lock_fd is not None and self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = None
        super().close()


def _queued_connection_class(database_path: str) -> type[QueuedConnection]:
    attributes = {"lock_path": database_path + "-writers", "database_path": database_path}
    return type("QueuedConnection", (QueuedConnection,), attributes)


def _open_lock_file(lock_path: str, database_path: str) -> int:
    """The writers' lock file, opened for `flock` (which needs no write access), made if
    missing as SQLite makes its -wal and -shm files: with the database file's permissions
    and, for a process running as root (an operator's CLI command), its owner, so that the
    app's own user can still open it. -1 when it cannot be opened: the writer then goes
    without the queue (correct, only slower under load), and the log says why."""
    try:
        stat = os.stat(database_path)
        mode, owner = stat.st_mode & 0o666, (stat.st_uid, stat.st_gid)
    except OSError:
        mode, owner = 0o600, None
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, mode)
    except OSError as error:
        log.warning("SQLite writers go unqueued: %s cannot be opened (%s)", lock_path, error)
        return -1
    if owner is not None and os.geteuid() == 0:
        os.fchown(fd, *owner)
    return fd


# A pooled PostgreSQL connection idle longer than this is pinged before use (below).
PING_AFTER_IDLE_SECONDS = 5.0


def _pinging_when_idle(engine: Engine, idle_seconds: float) -> Engine:
    """Test a pooled connection before use only when it sat idle in the pool for
    `idle_seconds`: a server restart or a dropped connection then costs no request an error.
    SQLAlchemy's `pool_pre_ping` tests every checkout, a round trip to the server per request
    (a tenth of a single event's time); a busy worker's connection is never idle that long.
    A failed ping makes the pool drop the connection and open a new one (SQLAlchemy's
    documented pessimistic disconnect handling, with a checkout event)."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", time.monotonic()) < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # the ping pool_pre_ping sends
        except Exception:
            raise DisconnectionError() from None

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
    """Copy the WAL back into the database file every `every` seconds, off the request path.

    Often (0.1 s by default), so that each checkpoint has little to copy and sync: a writer's
    COMMIT that coincides with a checkpoint's sync of the WAL and the database file waits
    for the disk, and every request queued behind it waits too. With one checkpoint a
    second, single events stalled 10 to 50 ms once a second on ext4 (none on tmpfs), a p99 of
    24 to 29 ms; with ten a second, 10 to 12 ms (issue 17, docs/BENCHMARKS.md). PASSIVE
    blocks no reader or writer.
    SQLite's own autocheckpoint stays as a net: under a steady stream of writes a PASSIVE
    checkpoint never copies the frames committed while it runs, so the WAL is started again
    from the beginning only after one inside a writer's COMMIT, which then finds almost
    everything already copied and synced."""

    def run() -> None:
        while True:
            time.sleep(every)
            try:
                checkpoint(engine)
            except Exception:  # a busy or closed database: try again next round
                log.debug("checkpoint skipped", exc_info=True)

    threading.Thread(target=run, name="sqlite-checkpoint", daemon=True).start()


def checkpoint(engine: Engine) -> bool:
    """One PASSIVE checkpoint: the frames committed when it began, copied into the database
    file. False when another checkpoint was running."""
    with engine.connect() as conn:
        busy, _frames, _copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return not busy


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
