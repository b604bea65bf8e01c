"""Device health: a device silent for too long is offline, and its bays become unknown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sensors.models import Device


@dataclass(frozen=True)
class HealthSweep:
    checked: int
    went_offline: list[str]

    def summary(self) -> str:
        names = ", ".join(self.went_offline[:10]) + (" ..." if len(self.went_offline) > 10 else "")
        return f"{self.checked} devices checked, {len(self.went_offline)} now offline" + (
            f": {names}" if self.went_offline else ""
        )


def sweep_silent_devices(
    db: Session, now: datetime, silent_after: timedelta, district_id: int | None = None
) -> HealthSweep:
    """Mark offline every online device not heard from since `now - silent_after`.

    Idempotent: a device already offline is left as it is."""
    cutoff = now - silent_after
    query = select(Device).where(Device.online)
    if district_id is not None:
        query = query.where(Device.district_id == district_id)
    checked = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    silent = db.scalars(
        query.where(func.coalesce(Device.last_seen_at, Device.created_at) < cutoff).order_by(Device.id)
    ).all()
    for device in silent:
        device.online, device.offline_reason, device.status_changed_at = False, "silent", now
    db.flush()
    return HealthSweep(checked, [d.name for d in silent])
