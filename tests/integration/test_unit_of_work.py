"""The unit of work: one write transaction, begun holding SQLite's write lock, committed when
the block ends and rolled back when it raises; reads before it are released first."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Session

from api.database import QueuedConnection, checkpoint, make_engine
from parking.unit_of_work import UnsavedChangesError, end_reads, statements_commit_alone, writing

metadata = MetaData()
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("text", String))


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "uow.db"


@pytest.fixture
def engine(sqlite_file: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{sqlite_file}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def count(engine: Engine) -> int:
    with Session(engine) as other:
        return other.scalar(select(func.count()).select_from(notes)) or 0


def test_a_block_that_ends_is_committed(engine: Engine) -> None:
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="kept"))

    assert count(engine) == 1


def test_a_block_that_raises_is_rolled_back_and_the_error_goes_on(engine: Engine) -> None:
    with Session(engine) as db:
        with pytest.raises(ZeroDivisionError), writing(db):
            db.execute(insert(notes).values(text="lost"))
            _ = 1 / 0
        assert not db.in_transaction()

    assert count(engine) == 0


def test_on_sqlite_the_write_lock_is_held_from_the_first_statement(engine: Engine, sqlite_file: Path) -> None:
    other = sqlite3.connect(sqlite_file, timeout=0, isolation_level=None)
    try:
        with Session(engine) as db, writing(db):
            db.scalar(select(func.count()).select_from(notes))  # a read, yet the lock is taken
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # released at commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_reads_before_the_block_are_released_and_the_write_still_takes_the_lock(
    engine: Engine, sqlite_file: Path
) -> None:
    other = sqlite3.connect(sqlite_file, timeout=0, isolation_level=None)
    try:
        with Session(engine) as db:
            assert db.scalar(select(func.count()).select_from(notes)) == 0  # a read transaction
            with writing(db):
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                db.execute(insert(notes).values(text="after a read"))
    finally:
        other.close()

    assert count(engine) == 1


def test_unsaved_changes_of_an_earlier_unit_are_refused_not_thrown_away(engine: Engine) -> None:
    from parking.models import District  # any mapped class: the change is never flushed

    with Session(engine) as db:
        db.add(District())
        with pytest.raises(UnsavedChangesError):
            end_reads(db)
        assert len(db.new) == 1


class Base(DeclarativeBase):
    pass


class Note(Base):
    __table__ = notes


def test_a_unit_that_keeps_its_reads_reads_nothing_again_and_still_takes_the_lock_for_its_writes(
    engine: Engine, sqlite_file: Path
) -> None:
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="read me"))
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    other = sqlite3.connect(sqlite_file, timeout=0, isolation_level=None)
    try:
        with Session(engine) as db:
            note = db.scalars(select(Note)).one()  # a read transaction
            sent.clear()
            with writing(db, keep_reads=True):
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                db.execute(insert(notes).values(text=f"{note.text}, again"))
            assert note.text == "read me"  # loaded before, not expired by either commit
    finally:
        other.close()

    assert not [statement for statement in sent if statement.startswith("SELECT")]
    assert count(engine) == 2


def test_reads_ended_keeping_what_was_loaded_are_not_read_again(engine: Engine) -> None:
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="read me"))
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with Session(engine) as db:
        note = db.scalars(select(Note)).one()
        end_reads(db, keep_loaded=True)
        assert not db.in_transaction()
        sent.clear()
        assert note.text == "read me"

    assert sent == []


def holder_of_the_turn(sqlite_file: Path) -> int:
    """0 when the writers' queue of the database is free, else -1 (the turn is held)."""
    fd = os.open(f"{sqlite_file}-writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return -1
    finally:
        os.close(fd)  # closing lets go of a lock taken here
    return 0


def test_a_writer_holds_the_queues_turn_from_its_begin_to_its_commit_or_rollback(
    engine: Engine, sqlite_file: Path
) -> None:
    with Session(engine) as db:
        with writing(db):
            db.execute(insert(notes).values(text="kept"))
            during_commit = holder_of_the_turn(sqlite_file)
        after_commit = holder_of_the_turn(sqlite_file)
        with pytest.raises(ZeroDivisionError), writing(db):
            during_rollback = holder_of_the_turn(sqlite_file)
            _ = 1 / 0
        after_rollback = holder_of_the_turn(sqlite_file)
        db.scalar(select(func.count()).select_from(notes))  # a read does not queue
        during_read = holder_of_the_turn(sqlite_file)

    assert (during_commit, after_commit, during_rollback, after_rollback, during_read) == (-1, 0, -1, 0, 0)


def test_a_second_writer_waits_for_the_turn_and_goes_in_the_moment_the_first_commits(
    engine: Engine,
) -> None:
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait(5)
        with Session(engine) as db, writing(db):
            order.append("second begins")
            db.execute(insert(notes).values(text="second"))

    waiting = threading.Thread(target=second)
    waiting.start()
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="first"))
        first_in.set()
        waiting.join(0.3)  # the second writer is queued, not in
        order.append("first commits")
    started = time.monotonic()
    waiting.join(5)

    assert order == ["first commits", "second begins"]
    assert time.monotonic() - started < 0.5, "handed over at once, not after a busy handler's sleep"
    assert count(engine) == 2


def test_a_thread_holding_the_turn_through_one_connection_is_not_queued_behind_itself(
    engine: Engine,
) -> None:
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="outer"))
        raw = db.connection().connection.dbapi_connection
        with engine.connect() as other:
            inner = other.connection.dbapi_connection
            assert isinstance(raw, QueuedConnection) and isinstance(inner, QueuedConnection)
            previous = signal.signal(signal.SIGALRM, _hung)
            signal.alarm(5)
            try:
                inner.wait_turn()  # returns at once: this thread already has the turn
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
            inner.end_turn()


def _hung(*_args: object) -> None:
    raise AssertionError("the thread waited on its own turn")


def test_on_postgresql_a_unit_that_keeps_its_reads_goes_on_in_its_transaction_unwarned(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    try:
        metadata.create_all(engine)
        with Session(engine) as db, warnings.catch_warnings():
            warnings.simplefilter("error")
            read = db.scalar(select(func.count()).select_from(notes))
            with writing(db, keep_reads=True):
                db.execute(insert(notes).values(text=f"after {read}"))
        assert count(engine) == (read or 0) + 1
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_on_postgresql_statements_that_commit_alone_send_no_begin_and_leave_the_pool_transactional(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)  # one connection, reused
    other = make_engine(postgres_url)
    try:
        metadata.create_all(engine)
        with Session(engine) as db:
            statements_commit_alone(db)
            read = db.scalar(select(func.count()).select_from(notes)) or 0
            raw = db.connection().connection.driver_connection
            assert raw.autocommit and raw.info.transaction_status == TransactionStatus.IDLE  # no BEGIN
            with writing(db, keep_reads=True):
                db.execute(insert(notes).values(text="checked"))
                assert count(other) == read + 1  # committed alone, as it ran
        with Session(engine) as db:  # the same connection, as the next request gets it
            db.scalar(select(func.count()).select_from(notes))
            raw = db.connection().connection.driver_connection
            assert not raw.autocommit and raw.info.transaction_status == TransactionStatus.INTRANS
    finally:
        other.dispose()
        metadata.drop_all(engine)
        engine.dispose()


def test_on_sqlite_statements_that_commit_alone_still_run_in_a_transaction(engine: Engine) -> None:
    with Session(engine) as db:
        statements_commit_alone(db)
        db.scalar(select(func.count()).select_from(notes))
        assert db.connection().connection.driver_connection.in_transaction


def test_the_lock_file_is_made_with_the_databases_permissions_and_owner(
    engine: Engine, sqlite_file: Path
) -> None:
    os.chmod(sqlite_file, 0o640)
    as_root = os.geteuid() == 0
    if as_root:  # an operator's command run as root must leave the file the app's user can open
        os.chown(sqlite_file, 65534, 65534)
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="first writer"))

    made = os.stat(f"{sqlite_file}-writers")
    assert made.st_mode & 0o777 == 0o640 & ~current_umask()
    if as_root:
        assert (made.st_uid, made.st_gid) == (65534, 65534)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_lock_file_that_cannot_be_opened_leaves_writers_unqueued_not_failing(
    engine: Engine, sqlite_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.symlink(sqlite_file.parent / "no-such-folder" / "writers", f"{sqlite_file}-writers")

    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="written all the same"))

    assert count(engine) == 1
    assert "writers go unqueued" in caplog.text


def wal_frames(engine: Engine) -> int:
    """The frames in the WAL since it last started from the beginning, as a PASSIVE
    checkpoint reports them (it copies them too)."""
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()[1])


def test_a_checkpoint_copies_the_whole_wal_so_the_next_writer_starts_it_again(
    engine: Engine, sqlite_file: Path
) -> None:
    for n in range(200):
        with Session(engine) as db, writing(db):
            db.execute(insert(notes).values(text=f"note {n}"))
    assert Path(f"{sqlite_file}-wal").stat().st_size >= 200 * 4096

    assert checkpoint(engine) is True
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="after"))

    assert wal_frames(engine) <= 3  # the one commit's pages, from the start of the file
    assert count(engine) == 201


def test_a_checkpoint_of_a_database_without_a_wal_has_nothing_to_copy() -> None:
    memory = make_engine("sqlite://")
    assert checkpoint(memory) is True


def test_a_sqlite_file_is_in_wal_mode_with_foreign_keys(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: we sync after COMMIT
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch, sqlite_file: Path) -> list[tuple[int, bool]]:
    """Every fdatasync the code makes: the file's inode, and whether the writers' turn was
    free at that moment (another opener could take it at once). A spy around the real call:
    a power loss, the case it guards against, cannot be made here."""
    seen: list[tuple[int, bool]] = []
    real = os.fdatasync

    def spy(fd: int) -> None:
        probe = os.open(f"{sqlite_file}-writers", os.O_RDONLY)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(probe, fcntl.LOCK_UN)
            free = True
        except BlockingIOError:
            free = False
        finally:
            os.close(probe)
        seen.append((os.fstat(fd).st_ino, free))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", spy)
    return seen


def test_a_write_is_on_disk_when_its_commit_returns_and_the_turn_was_handed_on_first(
    engine: Engine, sqlite_file: Path, syncs: list[tuple[int, bool]]
) -> None:
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="logged"))

    assert syncs == [(Path(f"{sqlite_file}-wal").stat().st_ino, True)]


def test_a_transaction_that_only_read_is_not_synced(engine: Engine, syncs: list[tuple[int, bool]]) -> None:
    with Session(engine) as db, writing(db):
        db.execute(insert(notes).values(text="logged"))
    syncs.clear()

    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(notes)) == 1
        db.commit()
    with Session(engine) as db, writing(db):
        pass  # took the turn, wrote nothing: synced all the same (cheap, and never wrong)

    assert len(syncs) == 1


def test_a_write_that_is_rolled_back_is_not_synced(engine: Engine, syncs: list[tuple[int, bool]]) -> None:
    with Session(engine) as db, pytest.raises(ZeroDivisionError), writing(db):
        db.execute(insert(notes).values(text="lost"))
        _ = 1 / 0

    assert syncs == []
    assert count(engine) == 0
