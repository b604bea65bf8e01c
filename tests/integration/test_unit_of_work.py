"""The unit of work: one write transaction, begun holding SQLite's write lock, committed when
the block ends and rolled back when it raises; reads before it are released first."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Session

from api.database import make_engine
from parking.unit_of_work import UnsavedChangesError, end_reads, writing

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
