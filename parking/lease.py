"""A lease in the database, so that exactly one scheduler process runs the jobs.

Holders renew well inside the lease time; a holder that dies stops renewing and another
takes over when the lease expires. Works the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from parking.models import SchedulerLease


def hold_lease(db: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True when `holder` holds it until now + ttl."""
    renewed = db.execute(
        update(SchedulerLease)
        .where(
            SchedulerLease.name == name,
            (SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now),
        )
        .values(holder=holder, expires_at=now + ttl)
    )
    if renewed.rowcount:  # type: ignore[attr-defined]
        return True
    if db.scalar(select(SchedulerLease.name).where(SchedulerLease.name == name)) is not None:
        return False
    try:
        with db.begin_nested():
            db.add(SchedulerLease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:  # another process inserted it first
        return False
    return True


def release_lease(db: Session, name: str, holder: str) -> None:
    db.execute(delete(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder))
