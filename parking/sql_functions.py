"""SQL functions the two databases spell differently, each compiled per dialect to produce
exactly what the Python side would have written: for rows the database builds itself
(INSERT ... SELECT) and for JSON columns edited in place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from parking.db import UTCDateTime


class random_uuid(FunctionElement[str]):
    """A new random (version 4) UUID per row, as the lowercase text `new_uuid` writes."""

    type = String(36)
    inherit_cache = True


@compiles(random_uuid, "sqlite")
def _random_uuid_sqlite(element: random_uuid, compiler: Any, **kw: Any) -> str:
    # Every field takes its own random() (64 random bits, masked): the version nibble is 4,
    # the variant nibble 8 to b. Half the cost of slicing hex(randomblob()) calls.
    return (
        "printf('%08x-%04x-4%03x-%x%03x-%012x', random() & 4294967295, random() & 65535, "
        "random() & 4095, 8 + (random() & 3), random() & 4095, random() & 281474976710655)"
    )


@compiles(random_uuid, "postgresql")
def _random_uuid_postgresql(element: random_uuid, compiler: Any, **kw: Any) -> str:
    return "CAST(gen_random_uuid() AS VARCHAR(36))"  # PostgreSQL 13+


class utc_plus_seconds(FunctionElement[datetime]):
    """A `UTCDateTime` column plus a whole number of seconds, stored exactly as `UTCDateTime`
    binds it (SQLite: "YYYY-MM-DD HH:MM:SS.ffffff" text, microseconds kept)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(utc_plus_seconds, "sqlite")
def _utc_plus_seconds_sqlite(element: utc_plus_seconds, compiler: Any, **kw: Any) -> str:
    at, seconds = (compiler.process(c, **kw) for c in element.clauses)
    # datetime() keeps only milliseconds: shift the whole seconds and put the fraction back.
    return f"(datetime(substr({at}, 1, 19), printf('%+d seconds', {seconds})) || substr({at}, 20))"


@compiles(utc_plus_seconds, "postgresql")
def _utc_plus_seconds_postgresql(element: utc_plus_seconds, compiler: Any, **kw: Any) -> str:
    at, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"({at} + {seconds} * INTERVAL '1 second')"


class json_value(FunctionElement[Any]):
    """A JSON column's value embedded as JSON (not as a string) in `json_object`."""

    type = JSON()
    inherit_cache = True


@compiles(json_value, "sqlite")
def _json_value_sqlite(element: json_value, compiler: Any, **kw: Any) -> str:
    return f"json({compiler.process(element.clauses, **kw)})"


@compiles(json_value, "postgresql")
def _json_value_postgresql(element: json_value, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)  # type: ignore[no-any-return]


class json_object(FunctionElement[Any]):
    """A JSON object built per row: `json_object(("key", expression), ...)`, keys in order."""

    type = JSON()
    inherit_cache = False

    def __init__(self, *pairs: tuple[str, Any]) -> None:
        self.keys = [key for key, _ in pairs]
        super().__init__(*(value for _, value in pairs))


@compiles(json_object)
def _json_object(element: json_object, compiler: Any, **kw: Any) -> str:
    name = "json_build_object" if compiler.dialect.name == "postgresql" else "json_object"
    arguments = []
    for key, value in zip(element.keys, element.clauses, strict=True):
        arguments.append("'" + key.replace("'", "''") + "'")
        arguments.append(compiler.process(value, **kw))
    return f"{name}({', '.join(arguments)})"


class json_without(FunctionElement[Any]):
    """A JSON document without one top-level key (the document itself when it has none)."""

    type = JSON()
    inherit_cache = True


@compiles(json_without, "sqlite")
def _json_without_sqlite(element: json_without, compiler: Any, **kw: Any) -> str:
    document, name = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_remove({document}, '$.' || {name})"


@compiles(json_without, "postgresql")
def _json_without_postgresql(element: json_without, compiler: Any, **kw: Any) -> str:
    document, name = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(CAST({document} AS JSONB) - CAST({name} AS TEXT) AS JSON)"


class json_has(FunctionElement[bool]):
    """Whether a JSON document has a top-level key (with any value but null)."""

    type = Boolean()
    inherit_cache = True


@compiles(json_has, "sqlite")
def _json_has_sqlite(element: json_has, compiler: Any, **kw: Any) -> str:
    document, name = (compiler.process(c, **kw) for c in element.clauses)
    return f"(json_extract({document}, '$.' || {name}) IS NOT NULL)"


@compiles(json_has, "postgresql")
def _json_has_postgresql(element: json_has, compiler: Any, **kw: Any) -> str:
    document, name = (compiler.process(c, **kw) for c in element.clauses)
    value = f"(CAST({document} AS JSONB) -> CAST({name} AS TEXT))"
    return f"({value} IS NOT NULL AND {value} <> 'null'::jsonb)"
