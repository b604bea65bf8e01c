"""Tasks beyond the vehicle sweeps: device outages, arrears, escalation, the police feed, and
a team member taking and resolving a task."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.orm import Session

from billing.models import ARREARS, StayFee
from enforcement.models import CANCELLED, ESCALATED, OPEN, RESOLVED, TAKEN, UNTAKEN, Task, Violation
from enforcement.violations import SweepResult, insert_skipping, task_row
from parking.clock import to_ms
from parking.errors import ConflictError, NotFoundError
from parking.models import Bay, District, Road, Stay
from sensors.models import Device, device_bay

_TASK = cast(Table, Task.__table__)
ESCALATE_AFTER = timedelta(minutes=30)
ARREARS_AFTER = timedelta(days=7)


class UnknownTaskError(NotFoundError):
    code = "unknown_task"


class TaskTransitionError(ConflictError):
    code = "task_transition"


def raise_device_tasks(db: Session, district: District, now: datetime) -> SweepResult:
    """One maintenance task per outage of each offline device (an outage is known by the
    instant the device went offline), and cancel the untaken ones of devices back online."""
    first_bay = (
        select(device_bay.c.device_id, func.min(Bay.lat).label("lat"), func.min(Bay.lng).label("lng"))
        .join(Bay, Bay.id == device_bay.c.bay_id)
        .group_by(device_bay.c.device_id)
        .subquery()
    )
    offline = db.execute(
        select(
            Device.id, Device.uuid, Device.name, Device.offline_reason, Device.status_changed_at, first_bay
        )
        .outerjoin(first_bay, first_bay.c.device_id == Device.id)
        .where(Device.district_id == district.id, Device.online.is_(False))
    ).all()
    rows = [
        task_row(
            district.id,
            f"device:{d.uuid}:{to_ms(d.status_changed_at or now)}",
            "maintenance",
            "repair_device",
            now,
            device_id=d.id,
            lat=d.lat,
            lng=d.lng,
            details={
                "device": d.name,
                "reason": d.offline_reason,
                "offline_since": (d.status_changed_at or now).isoformat(),
            },
        )
        for d in offline
    ]
    written = insert_skipping(db, _TASK, rows, ("district_id", "key"))
    back = db.execute(
        update(Task)
        .where(
            Task.district_id == district.id,
            Task.status.in_(UNTAKEN),
            Task.device_id.in_(
                select(Device.id).where(Device.district_id == district.id, Device.online.is_(True))
            ),
        )
        .values(status=CANCELLED, resolved_at=now, outcome="device_back_online")
        .execution_options(synchronize_session=False)
    )
    return SweepResult("device-tasks", tasks=written, cancelled=int(back.rowcount or 0))  # type: ignore[attr-defined]


def escalate_arrears(
    db: Session, district: District, now: datetime, older_than: timedelta = ARREARS_AFTER
) -> SweepResult:
    """One warden task per plate per local day for plates with stays in arrears for longer
    than `older_than`, listing those stays."""
    rows = db.execute(
        select(StayFee.plate, Stay.uuid, Stay.started_at, StayFee.amount, StayFee.paid, StayFee.arrears_since)
        .join(Stay, Stay.id == StayFee.stay_id)
        .where(
            StayFee.district_id == district.id,
            StayFee.status == ARREARS,
            StayFee.plate.is_not(None),
            StayFee.arrears_since < now - older_than,
        )
        .order_by(StayFee.plate, Stay.started_at)
    )
    stays: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        stays[row.plate].append(
            {"stay": row.uuid, "started_at": row.started_at.isoformat(), "owed": row.amount - row.paid}
        )
    day = now.astimezone(ZoneInfo(district.time_zone)).date().isoformat()
    tasks = [
        task_row(
            district.id,
            f"arrears:{plate}:{day}",
            "warden",
            "collect_arrears",
            now,
            details={
                "plate": plate,
                "stays": listed,
                "owed": sum(s["owed"] for s in listed),
                "currency": district.currency,
            },
        )
        for plate, listed in stays.items()
    ]
    written = insert_skipping(db, _TASK, tasks, ("district_id", "key"))
    return SweepResult("arrears", tasks=written)


def escalate_tasks(
    db: Session, district: District, now: datetime, after: timedelta = ESCALATE_AFTER
) -> SweepResult:
    """A violation's task that nobody took within `after` of its creation is escalated: it
    joins the police feed (and can still be taken)."""
    result = db.execute(
        update(Task)
        .where(
            Task.district_id == district.id,
            Task.status == OPEN,
            Task.violation_id.is_not(None),
            Task.created_at < now - after,
        )
        .values(status=ESCALATED, escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    return SweepResult("escalation", tasks=int(result.rowcount or 0))  # type: ignore[attr-defined]


def police_feed(db: Session, district: District, since: datetime) -> list[dict[str, Any]]:
    """Tasks for the police since `since`: the police's own (no-stopping) tasks and every
    escalated one, oldest first, each with its violation and evidence."""
    at = func.coalesce(Task.escalated_at, Task.created_at)
    rows = db.execute(
        select(Task, Violation, Bay.name.label("bay"), Road.name.label("road"))
        .outerjoin(Violation, Violation.id == Task.violation_id)
        .outerjoin(Bay, Bay.id == Task.bay_id)
        .outerjoin(Road, Road.id == Task.road_id)
        .where(
            Task.district_id == district.id,
            or_(
                Task.escalated_at >= since,
                (Task.team == "police") & (Task.created_at >= since),
            ),
        )
        .order_by(at, Task.id)
    )
    return [_feed_item(task, violation, bay, road) for task, violation, bay, road in rows]


def _feed_item(task: Task, violation: Violation | None, bay: str | None, road: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "task": task.uuid,
        "team": task.team,
        "kind": task.kind,
        "status": task.status,
        "created_at": task.created_at.isoformat(),
        "escalated_at": task.escalated_at.isoformat() if task.escalated_at else None,
        "bay": bay,
        "road": road,
        "lat": task.lat,
        "lng": task.lng,
        "violation": None,
    }
    if violation is not None:
        item["violation"] = {
            "id": violation.uuid,
            "rule": violation.rule,
            "plate": violation.plate,
            "started_at": violation.started_at.isoformat(),
            "ended_at": violation.ended_at.isoformat() if violation.ended_at else None,
            "evidence": violation.evidence,
        }
    return item


def take_task(db: Session, district: District, task_uuid: str, taken_by: str, now: datetime) -> Task:
    """A team member takes an open or escalated task."""
    task = _task(db, district, task_uuid)
    if task.status not in UNTAKEN:
        raise TaskTransitionError(f"a task that is {task.status} cannot be taken", ["status"])
    task.status, task.taken_by, task.taken_at = TAKEN, taken_by, now
    db.flush()
    return task


def resolve_task(
    db: Session, district: District, task_uuid: str, outcome: str, now: datetime, note: str | None = None
) -> Task:
    """The member who took a task says how it ended (`outcome`, e.g. cited, gone, registered)."""
    task = _task(db, district, task_uuid)
    if task.status != TAKEN:
        raise TaskTransitionError(f"a task that is {task.status} cannot be resolved", ["status"])
    task.status, task.outcome, task.note, task.resolved_at = RESOLVED, outcome, note, now
    db.flush()
    return task


def _task(db: Session, district: District, task_uuid: str) -> Task:
    task = db.scalars(select(Task).where(Task.district_id == district.id, Task.uuid == task_uuid)).first()
    if task is None:
        raise UnknownTaskError(f"no task {task_uuid} in {district.slug}")
    return task
