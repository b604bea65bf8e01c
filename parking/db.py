"""The one declarative base, and the column types every table shares."""

from __future__ import annotations

import functools
import json
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CursorResult,
    DateTime,
    Dialect,
    Executable,
    Integer,
    MetaData,
    Table,
    TypeDecorator,
    bindparam,
    insert,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that refuses naive datetimes and always comes back aware UTC.

    SQLite keeps no zone, PostgreSQL keeps `timestamptz`; both read back as UTC here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: every time inside is aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # SQLite: the same text SQLAlchemy's DATETIME writes ("YYYY-MM-DD HH:MM:SS.ffffff", UTC),
    # formatted and parsed in C; this is on the path of every event and stay written.
    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: every time inside is aware UTC")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.isoformat(" ", "microseconds")[:26]  # drop the "+00:00"

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

        return process


# Integer primary keys that are BIGINT on PostgreSQL and still autoincrement on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


def run(db: Session, statement: Executable, params: Any = None) -> CursorResult[*tuple[Any, ...]]:
    """Run a Core statement, or a select of columns (not of mapped objects), as
    `Session.execute` would: the session's pending changes flushed first, then the statement
    in the session's transaction. Straight on the session's connection it skips the ORM's
    per-statement bookkeeping, which has nothing to do for such a statement and costs a
    single pushed event or a plate check a tenth of its CPU (docs/BENCHMARKS.md, session 8)."""
    db.flush()
    return db.connection().execute(statement, params)


@dataclass(frozen=True)
class KeyedRead:
    """A read of the rows whose key is in a list, built once in two forms: `IN` a list for
    many keys, `=` for one. An expanding `IN` list is rendered again on every call, which costs
    a single pushed event more than the read itself."""

    many: Any
    one: Any

    def rows(self, db: Session, keys: Sequence[Any], **params: Any) -> list[Any]:
        if not keys:
            return []
        if len(keys) == 1:
            return list(run(db, self.one, {"key": keys[0], **params}))
        return list(run(db, self.many, {"keys": list(keys), **params}))


def keyed_read(statement: Any, key: Any) -> KeyedRead:
    """`statement` (a select; its WHERE, ORDER BY and locking as wanted) narrowed to the rows
    whose `key` column is among the keys given to `KeyedRead.rows`."""
    return KeyedRead(
        statement.where(key.in_(bindparam("keys", expanding=True))), statement.where(key == bindparam("key"))
    )


# Writing many rows at once. PostgreSQL gets one statement over `unnest` of one array per
# column: an executemany would cost it a round of parsing, planning and executing per row.
# SQLite runs an executemany in-process, which is as fast as it gets there. A few rows (a
# single pushed event and its stay) go to PostgreSQL as plain statements too: the staging
# table of a COPY costs more statements than it saves below about this many rows.
FEW_ROWS = 20


def insert_rows(
    db: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    returning: Sequence[str] = (),
    skip_conflicts_on: Sequence[str] = (),
) -> list[Any]:
    """INSERT rows (every row with the same keys, Python-side defaults already filled in).
    With `skip_conflicts_on`, rows clashing on that unique key are skipped; `returning`
    names the columns to return for the rows inserted."""
    if not rows:
        return []
    dialect = db.get_bind().dialect
    if dialect.name != "postgresql" or len(rows) <= FEW_ROWS:
        statement = _insert_statement(dialect.name, table, tuple(returning), tuple(skip_conflicts_on))
        if skip_conflicts_on and dialect.name == "postgresql":  # in key order, as COPY: no deadlocks
            rows = sorted(rows, key=lambda row: tuple((row[k] is None, row[k]) for k in skip_conflicts_on))
        if not returning:
            run(db, statement, rows)
            return []
        return list(run(db, statement, rows))
    return _copy_insert(db, table, rows, returning, skip_conflicts_on)


@functools.cache
def _insert_statement(
    dialect: str, table: Table, returning: tuple[str, ...], skip_conflicts_on: tuple[str, ...]
) -> Any:
    """Built once per shape: building a statement costs more CPU than SQLite takes to run a
    one-row INSERT, and a statement kept keeps its cache key."""
    statement: Any = _INSERTS.get(dialect, insert)(table)
    if skip_conflicts_on:
        statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
    if returning:
        statement = statement.returning(*(table.c[n] for n in returning))
    return statement


_INSERTS: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def _copy_insert(
    db: Session,
    table: Table,
    rows: list[dict[str, Any]],
    returning: Sequence[str],
    skip_conflicts_on: Sequence[str],
) -> list[Any]:
    """PostgreSQL: COPY the rows into a session-local staging table, then one INSERT ...
    SELECT, which can still skip conflicts and return columns (COPY alone can do neither).
    COPY takes the rows in the driver's C code: a third faster than one INSERT over arrays."""
    names = list(rows[0])
    staging = f"incoming_{table.name}"
    columns = ", ".join(names)
    json_columns = {n for n in names if isinstance(table.c[n].type, JSON)}
    raw = db.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
            f"SELECT {columns} FROM {table.name} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {staging}")  # a transaction may stage more than once
        with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_json(row[n]) if n in json_columns else row[n] for n in names])
        sql = f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {staging}"
        if skip_conflicts_on:
            # In key order, so two writers inserting the same keys take their unique-index
            # entries in one order and cannot deadlock (docs/TIMELINE.md, concurrent writers).
            keys = ", ".join(skip_conflicts_on)
            sql += f" ORDER BY {keys} ON CONFLICT ({keys}) DO NOTHING"
        if not returning:
            cursor.execute(sql)
            return []
        cursor.execute(sql + f" RETURNING {', '.join(returning)}")
        shape = namedtuple("Inserted", returning)  # type: ignore[misc]
        return [shape(*values) for values in cursor.fetchall()]


def update_rows(db: Session, table: Table, rows: list[dict[str, Any]], key: str = "id") -> None:
    """UPDATE many rows by their `key` column (the primary key). Every row carries the same
    keys; the `key` value is passed under the name `id`."""
    if not rows:
        return
    names = [n for n in rows[0] if n != "id"]
    dialect = db.get_bind().dialect
    if dialect.name != "postgresql" or len(rows) <= FEW_ROWS:
        run(db, _update_statement(table, key), [{"_id": r["id"], **{n: r[n] for n in names}} for r in rows])
        return
    arrays, casts = _arrays(table, ["id", *names], rows, dialect, key)
    sets = ", ".join(f"{n} = v.{n}" for n in names)
    db.execute(
        text(
            f"UPDATE {table.name} SET {sets} FROM unnest({', '.join(casts)}) "
            f"AS v({', '.join(['id', *names])}) WHERE {table.name}.{key} = v.id "
            # Says outright which rows: the planner then reaches them by the primary key even
            # when its statistics think the table is tiny (new data not yet analysed).
            f"AND {table.name}.{key} = ANY({casts[0]})"
        ),
        arrays,
    )


@functools.cache
def _update_statement(table: Table, key: str) -> Any:
    return update(table).where(table.c[key] == bindparam("_id"))


def _arrays(
    table: Table, names: Sequence[str], rows: list[dict[str, Any]], dialect: Dialect, key: str = "id"
) -> tuple[dict[str, list[Any]], list[str]]:
    """One array parameter per column, and the casts that give each its PostgreSQL type
    (the parameter `id` carries the `key` column)."""
    arrays: dict[str, list[Any]] = {}
    casts = []
    for n in names:
        kind = table.c[key if n == "id" else n].type
        as_json = isinstance(kind, JSON)
        arrays[n] = [_json(r[n]) if as_json else r[n] for r in rows]
        casts.append(f"CAST(:{n} AS {'JSON' if as_json else kind.compile(dialect=dialect)}[])")
    return arrays, casts


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
