"""When a stay counts as going: one semantics, named once, for queries and for Python.

A stay occupies the half-open interval [started_at, ended_at): it is going at its start and
no longer going at its end, and an open stay (ended_at is None) is going from its start on.
Two stays of one bay that meet at an instant (one ends at t, the next starts at t) are then
never both going at t, and a window [start, end) counts each instant once.

Each rule comes twice: an SQL expression on `Stay` (also valid on the stay table's Core
columns) and a Python predicate on a stay's `started_at`/`ended_at`, which agree.

Two places need the closed end on purpose, and say so by name:
- `touching(at)`: [started_at, ended_at]. A stay's own end event carries the stay's end
  time, and a payment taken at the curb at the instant a stay ends still belongs to it.
- `reaching(at)`: ended_at is None or ended_at >= at. The re-derivation of a bay must reach
  back to a stay that ended exactly at `at`: a later start at that instant may merge with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, true

from parking.models import Stay

# A time, or a time column to compare with (an event's time, a window's bound).
At = datetime | ColumnElement[datetime]


def going_at(at: At) -> ColumnElement[bool]:
    """Stays going at `at`: started_at <= at < ended_at, or open and started by `at`."""
    return and_(Stay.started_at <= at, or_(Stay.ended_at.is_(None), Stay.ended_at > at))


def overlapping(start: datetime | None, end: datetime | None) -> ColumnElement[bool]:
    """Stays going at some instant of [start, end); a missing bound leaves that side open."""
    rules: list[ColumnElement[bool]] = []
    if end is not None:
        rules.append(Stay.started_at < end)
    if start is not None:
        rules.append(or_(Stay.ended_at.is_(None), Stay.ended_at > start))
    return and_(*rules) if rules else true()


def touching(at: At) -> ColumnElement[bool]:
    """Stays going at `at` or ending exactly at it: the closed [started_at, ended_at]."""
    return and_(Stay.started_at <= at, or_(Stay.ended_at.is_(None), Stay.ended_at >= at))


def reaching(at: At) -> ColumnElement[bool]:
    """Stays not ended before `at`: open, or ending at or after it (the closed end)."""
    return or_(Stay.ended_at.is_(None), Stay.ended_at >= at)


def ended_within(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Stays whose end falls in [start, end): the stays a period bills."""
    return and_(Stay.ended_at >= start, Stay.ended_at < end)


def started_within(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Stays whose start falls in [start, end)."""
    return and_(Stay.started_at >= start, Stay.started_at < end)


def is_going_at(started_at: datetime, ended_at: datetime | None, at: datetime) -> bool:
    """`going_at` for one stay's times."""
    return started_at <= at and (ended_at is None or ended_at > at)


def is_overlapping(
    started_at: datetime, ended_at: datetime | None, start: datetime | None, end: datetime | None
) -> bool:
    """`overlapping` for one stay's times."""
    return (end is None or started_at < end) and (start is None or ended_at is None or ended_at > start)


def is_touching(started_at: datetime, ended_at: datetime | None, at: datetime) -> bool:
    """`touching` for one stay's times."""
    return started_at <= at and (ended_at is None or ended_at >= at)


def is_reaching(ended_at: datetime | None, at: datetime) -> bool:
    """`reaching` for one stay's end."""
    return ended_at is None or ended_at >= at
