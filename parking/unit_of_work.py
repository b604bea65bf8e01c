"""The unit of work: one write transaction, begun the right way for the database, committed
when the block ends, rolled back when it raises.

Views, CLI commands, jobs and the scheduler all write through `writing(db)`; domain
services receive the session and only flush. The database-specific part lives here alone:
SQLite has one writer at a time, so a transaction that reads and then writes takes the write
lock up front (BEGIN IMMEDIATE, see the engine's "begin" hook in api/database.py) instead of
failing with "database is locked" when another writer got in between. PostgreSQL needs
nothing special.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

# The execution option the engine's "begin" hook reads to emit BEGIN IMMEDIATE on SQLite.
SQLITE_IMMEDIATE = "sqlite_immediate"


class UnsavedChangesError(RuntimeError):
    """A write transaction was asked for while the session held changes of an earlier one:
    starting afresh would silently throw them away (a programming error, not bad input)."""


def begin_write(db: Session) -> Session:
    """Start the session's next transaction holding the write lock (BEGIN IMMEDIATE on
    SQLite), so a unit of work that reads then writes waits its turn. The session must not be
    in a transaction yet; `writing` makes sure of that."""
    # Tests bind one Connection, already in a transaction; PostgreSQL needs no option (and
    # a session already reading there would only be warned that it was ignored).
    if _engine_dialect(db) == "sqlite":
        db.connection(execution_options={SQLITE_IMMEDIATE: True})
    return db


def end_reads(db: Session, *, keep_loaded: bool = False) -> Session:
    """Close the read transaction the session may hold, so that slow work (a provider call,
    parsing a batch) holds no snapshot or lock; loaded objects reload on next use, or with
    `keep_loaded` stay as they were read (the caller reads again under the write lock what
    may have changed)."""
    _refuse_unsaved(db)
    if not keep_loaded:
        db.rollback()
    elif db.in_transaction():
        _commit_keeping_loaded(db)  # nothing was written: this ends the read transaction
    return db


def statements_commit_alone(db: Session) -> Session:
    """On PostgreSQL, run the session's statements outside a transaction, each committed by
    itself: for a unit whose reads need no common snapshot and whose only write is one
    statement (a plate check and its audit row). It spares the BEGIN and the COMMIT, two
    round trips of the check's eight. At READ COMMITTED, PostgreSQL's level here, each
    statement of a transaction sees a snapshot of its own anyway, so the reads lose nothing;
    one INSERT is atomic by itself, and on disk before it answers. The session must not be in
    a transaction yet. SQLite keeps its transactions (its writers queue through BEGIN
    IMMEDIATE), and so does a session bound to a connection (tests)."""
    if _engine_dialect(db) == "postgresql":
        db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return db


@contextmanager
def writing(db: Session, *, keep_reads: bool = False) -> Iterator[Session]:
    """One write transaction on `db`: reads done before it are released, the write lock is
    taken first, everything is committed when the block ends and rolled back if it raises.

    `keep_reads`: for a unit that reads a lot, then writes a little (a plate lookup and its
    audit row), what was loaded stays loaded instead of being read again. On SQLite the read
    transaction is committed without expiring anything, then the write lock taken, so every
    other writer waits only for the writes; on PostgreSQL, which locks only the rows written,
    the one transaction goes on. The commit at the end expires nothing either."""
    if keep_reads:
        _keep_reads_and_begin_write(db)
    else:
        begin_write(end_reads(db))
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    if keep_reads:
        _commit_keeping_loaded(db)
    else:
        db.commit()


def _keep_reads_and_begin_write(db: Session) -> None:
    if _engine_dialect(db) == "sqlite":
        end_reads(db, keep_loaded=True)
    else:
        _refuse_unsaved(db)
    begin_write(db)


def _refuse_unsaved(db: Session) -> None:
    if db.new or db.dirty or db.deleted:
        raise UnsavedChangesError("the session holds unsaved changes; commit them in their own unit of work")


def _engine_dialect(db: Session) -> str | None:
    """The database of an engine-bound session; None for one bound to a connection (tests)."""
    bind = db.get_bind()
    return bind.dialect.name if isinstance(bind, Engine) else None


def _commit_keeping_loaded(db: Session) -> None:
    expire_on_commit = db.expire_on_commit
    db.expire_on_commit = False
    try:
        db.commit()
    finally:
        db.expire_on_commit = expire_on_commit
