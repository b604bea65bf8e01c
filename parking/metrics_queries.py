"""The reads behind CDS Metrics and the reports built like them: the district's bays with
their road and area, and the stays overlapping a window, as the pure fold in
parking/metrics.py takes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import starmap
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, cast, func, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute, Session

from parking.metrics import BayPlace, StayRow, StayTuple
from parking.models import Area, Bay, Road, Stay
from parking.stay_rules import overlapping


def load_bays(db: Session, district_id: int, place: tuple[str, str] | None = None) -> list[BayPlace]:
    """The district's bays with their road and area, optionally only those in one place."""
    query = (
        select(
            Bay.id,
            Bay.uuid,
            Road.id.label("road_id"),
            Road.uuid.label("road_uuid"),
            Area.id.label("area_id"),
            Area.uuid.label("area_uuid"),
            Bay.last_event_at.label("seen"),
        )
        .join(Road, Road.id == Bay.road_id)
        .outerjoin(Area, Area.id == Road.area_id)
        .where(Bay.district_id == district_id)
        .order_by(Road.id, Bay.space_number, Bay.id)
    )
    if place is not None:
        kind, place_id = place
        column = {"space": Bay.uuid, "zone": Road.uuid, "area": Area.uuid}[kind]
        query = query.where(column == place_id)
    return [
        BayPlace(b, bu, r, ru, a, au, seen is not None) for b, bu, r, ru, a, au, seen in db.execute(query)
    ]


def load_stays(
    db: Session | Connection,
    district_id: int,
    start: datetime,
    end: datetime,
    place: tuple[str, str] | None = None,
) -> Iterator[StayRow]:
    """Every stay of the district (or of one place) that overlaps [start, end), open ones included."""
    return starmap(StayRow, load_stay_tuples(db, district_id, start, end, place))


def load_stay_tuples(
    db: Session | Connection,
    district_id: int,
    start: datetime,
    end: datetime,
    place: tuple[str, str] | None = None,
) -> Iterator[StayTuple]:
    """`load_stays` as plain (bay id, started at, ended at) tuples, for folds of hundreds of
    thousands of stays (a tuple is made in a fraction of a named tuple's time).

    Read the cheapest way that still gives the aware UTC datetimes `UTCDateTime` gives: a
    Core select on the connection, its rows fetched in batches straight from the DB-API
    cursor (no ORM, no Row objects), the times as UTC text ("YYYY-MM-DD HH:MM:SS[.ffffff]",
    SQLite's stored text, PostgreSQL's ISO output of the UTC timestamp) parsed here: three
    times cheaper than the driver's zone-aware datetimes and `astimezone`."""
    connection = db.connection() if isinstance(db, Session) else db
    query = select(
        Stay.bay_id, _utc_text(connection, Stay.started_at), _utc_text(connection, Stay.ended_at)
    ).where(
        Stay.district_id == district_id,
        overlapping(start, end),
    )
    if place is not None:
        query = query.where(stays_at(*place))
    result = connection.execute(query)
    parse, utc = datetime.fromisoformat, "+00:00"
    try:
        while rows := result.cursor.fetchmany(10_000):
            yield from (
                (bay, parse(started + utc), None if ended is None else parse(ended + utc))
                for bay, started, ended in rows
            )
    finally:
        result.close()


def _utc_text(connection: Connection, column: InstrumentedAttribute[Any]) -> ColumnElement[str]:
    """The column's UTC time as text without an offset."""
    if connection.dialect.name == "sqlite":
        return type_coerce(column, String)  # stored as that text
    if connection.dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), String)  # ISO DateStyle, as psycopg needs
    raise NotImplementedError(connection.dialect.name)


def stays_at(kind: str, place_id: str) -> ColumnElement[bool]:
    """SQL truth of "the stay is at this space, zone or area"."""
    if kind == "space":
        return Stay.bay_id.in_(select(Bay.id).where(Bay.uuid == place_id))
    roads = select(Road.id).where(Road.uuid == place_id)
    if kind == "area":
        roads = select(Road.id).join(Area, Area.id == Road.area_id).where(Area.uuid == place_id)
    return Stay.road_id.in_(roads)
