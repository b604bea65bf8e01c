"""Committed databases of a test's own, beside the rolled-back one the harness gives.

Concurrent writers and subprocesses must see each other's commits, so they cannot share the
per-test transaction: each gets a temporary SQLite file, or a database created in the test
cluster, migrated with the project's migrations. `snapshot` reads what the timeline derived
(stays, bay states, anomalies) in a form two databases can be compared by.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import upgrade
from parking.models import Bay, District, Stay, TimelineAnomaly
from sensors.models import CurbEvent


@contextmanager
def own_database(database_url: str, folder: Path, template: str | None = None) -> Iterator[str]:
    """A fresh, migrated database on the same kind of server as `database_url`, dropped after.
    With `template` (a URL this made), a copy of that database instead."""
    if database_url.startswith("sqlite"):
        path = folder / f"own-{uuid.uuid4().hex[:8]}.db"
        if template is None:
            upgrade(f"sqlite:///{path}")
        else:
            shutil.copyfile(template.split("///", 1)[1], path)
        yield f"sqlite:///{path}"
        return
    name = f"own_{uuid.uuid4().hex[:12]}"
    source = make_url(template).database if template else None
    with _maintenance(database_url) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {source}" if source else ""))
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        if template is None:
            upgrade(url)
        yield url
    finally:
        with _maintenance(database_url) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def _maintenance(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    url = make_url(database_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True
    ) as conn:
        yield conn


def psycopg_connect(url: str) -> psycopg.Connection[Any]:
    """A plain autocommit connection to a database this module made (PostgreSQL)."""
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database, autocommit=True
    )


@contextmanager
def session_on(url: str) -> Iterator[Session]:
    """A session on its own engine, committed by the caller, closed and disposed after."""
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            yield db
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Snapshot:
    """What the timeline derived, keyed by bay name and start event: no ids, no wall clock."""

    stays: dict[tuple[str, str], tuple[Any, ...]]
    bays: dict[str, tuple[Any, ...]]
    anomalies: list[tuple[str, str, str, datetime]]
    events: int
    event_ids: frozenset[str]


def snapshot(url_or_engine: str | Engine, slug: str) -> Snapshot:
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with Session(engine) as db:
            return read_snapshot(db, slug)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def read_snapshot(db: Session, slug: str) -> Snapshot:
    district_id = db.scalar(select(District.id).where(District.slug == slug))
    names = dict(db.execute(select(Bay.id, Bay.name).where(Bay.district_id == district_id)).all())
    stays: dict[tuple[str, str], tuple[Any, ...]] = {}
    start_of: dict[int, str] = {}
    for s in db.scalars(select(Stay).where(Stay.district_id == district_id)):
        start_of[s.id] = s.start_event_id
        stays[(names[s.bay_id], s.start_event_id)] = (
            s.started_at,
            s.ended_at,
            s.ended_by,
            s.end_event_id,
            s.plate,
            s.plate_source,
            s.plate_confidence,
            tuple(s.event_ids),
            tuple(s.sources),
        )
    bays = {
        names[b.id]: (
            b.state,
            b.state_since,
            start_of.get(b.open_stay_id) if b.open_stay_id else None,
            b.last_event_at,
        )
        for b in db.scalars(select(Bay).where(Bay.district_id == district_id))
    }
    anomalies = sorted(
        (names[a.bay_id], a.event_id, a.kind, a.at)
        for a in db.scalars(select(TimelineAnomaly).where(TimelineAnomaly.district_id == district_id))
    )
    ids = frozenset(db.scalars(select(CurbEvent.event_id).where(CurbEvent.district_id == district_id)))
    count = db.scalar(select(func.count()).where(CurbEvent.district_id == district_id)) or 0
    return Snapshot(stays, bays, anomalies, count, ids)
