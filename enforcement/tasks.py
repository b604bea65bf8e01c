"""Tasks beyond the vehicle sweeps: device outages, arrears, escalation, the police feed, and
a team member listing, taking and resolving tasks (with a photo) from a handheld."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.orm import Session

from billing.models import ARREARS, StayFee
from enforcement.models import CANCELLED, ESCALATED, OPEN, RESOLVED, TAKEN, UNTAKEN, Task, Violation
from enforcement.models_warden import StaffPosition, TaskPhoto
from enforcement.violations import SweepResult, insert_skipping, task_row
from identity.models import StaffToken
from parking.clock import to_ms
from parking.errors import ConflictError, DomainError, InvalidInputError, NotFoundError
from parking.geo import distance_m
from parking.models import Bay, District, Road, Stay
from parking.plates import plate_key
from sensors.models import Device, device_bay

_TASK = cast(Table, Task.__table__)
ESCALATE_AFTER = timedelta(minutes=30)
ARREARS_AFTER = timedelta(days=7)


class UnknownTaskError(NotFoundError):
    code = "unknown_task"


class TaskTransitionError(ConflictError):
    code = "task_transition"


class OutsideBeatError(DomainError):
    code = "outside_beat"
    status = 403


class PhotoNotImageError(InvalidInputError):
    code = "photo_not_image"


class PhotoTooLargeError(InvalidInputError):
    code = "photo_too_large"
    status = 413


MAX_PHOTO_BYTES = 5 * 1024 * 1024
# How each accepted image format begins (WebP: a RIFF container whose form type is WEBP).
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


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
        .where(Device.district_id == district.id, Device.online.is_(False), Device.revoked_at.is_(None))
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
            f"arrears:{plate_key(plate)}:{day}",  # the keyed hash: a key outlives the retention
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


def position_of(db: Session, staff: StaffToken) -> StaffPosition | None:
    """Where the staff member's handheld last said it was."""
    return db.get(StaffPosition, staff.id)


def report_position(db: Session, staff: StaffToken, lat: float, lng: float, now: datetime) -> StaffPosition:
    """Keep where a staff member's handheld is now (only the last report is kept)."""
    position = db.get(StaffPosition, staff.id)
    if position is None:
        position = StaffPosition(staff_token_id=staff.id, district_id=staff.district_id, lat=lat, lng=lng)
        db.add(position)
    position.lat, position.lng, position.reported_at = lat, lng, now
    db.flush()
    return position


@dataclass(frozen=True)
class ListedTask:
    task: Task
    violation: Violation | None
    bay: str | None
    road: str | None
    distance_m: float | None
    age: timedelta


def tasks_for(
    db: Session,
    district: District,
    teams: Sequence[str] | None,
    taker: str,
    now: datetime,
    near: tuple[float, float] | None = None,
    statuses: Sequence[str] = (OPEN, ESCALATED, TAKEN),
    beat: Collection[int] | None = None,
    escalated: bool = False,
) -> list[ListedTask]:
    """The work of `teams` (None: every team) that is open, escalated or taken, and the tasks
    `taker` has taken in any team, and with `escalated` every team's escalated task (the
    police's queue); only on the roads of `beat` when there is one (None: the whole district);
    nearest to `near` first (tasks without a place last), then oldest first."""
    mine = and_(Task.status == TAKEN, Task.taken_by == taker)
    ours = and_(
        Task.status.in_((OPEN, ESCALATED, TAKEN)), *([Task.team.in_(teams)] if teams is not None else [])
    )
    if escalated:
        ours = or_(ours, Task.status == ESCALATED)
    on_beat = [Task.road_id.in_(beat)] if beat is not None else []
    rows = db.execute(
        select(Task, Violation, Bay.name, Road.name)
        .outerjoin(Violation, Violation.id == Task.violation_id)
        .outerjoin(Bay, Bay.id == Task.bay_id)
        .outerjoin(Road, Road.id == Task.road_id)
        .where(Task.district_id == district.id, or_(ours, mine), Task.status.in_(statuses), *on_beat)
    )
    listed = [
        ListedTask(task, violation, bay, road, _distance(task, near), now - task.created_at)
        for task, violation, bay, road in rows
    ]
    far = float("inf")
    listed.sort(
        key=lambda t: (t.distance_m if t.distance_m is not None else far, t.task.created_at, t.task.id)
    )
    return listed


def check_beat(task: Task, beat: Collection[int] | None) -> None:
    """Someone with a beat works only the tasks on its roads; a task on no road (arrears, a
    device) is outside every beat. No beat (None) is the whole district."""
    if beat is not None and task.road_id not in beat:
        raise OutsideBeatError("the task is not on a road of your beat", ["task"])


def _distance(task: Task, near: tuple[float, float] | None) -> float | None:
    if near is None or task.lat is None or task.lng is None:
        return None
    return distance_m(near[0], near[1], task.lat, task.lng)


def image_type(data: bytes) -> str | None:
    """The media type of a JPEG, PNG or WebP image, known by its first bytes; else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), None)


def attach_photo(db: Session, task: Task, data: bytes, uploaded_by: str, now: datetime) -> TaskPhoto:
    """Keep the photo of a task (one per task): a JPEG, PNG or WebP of at most 5 MiB."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLargeError(f"a photo is at most {MAX_PHOTO_BYTES} bytes", ["photo"])
    content_type = image_type(data)
    if content_type is None:
        raise PhotoNotImageError("the photo must be a JPEG, PNG or WebP image", ["photo"])
    photo = TaskPhoto(
        task_id=task.id,
        district_id=task.district_id,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=uploaded_by,
        uploaded_at=now,
    )
    db.add(photo)
    db.flush()
    return photo


def task_photo(db: Session, district: District, task_uuid: str) -> TaskPhoto | None:
    task = _task(db, district, task_uuid)
    return db.get(TaskPhoto, task.id)


def tasks_with_photos(db: Session, district: District, task_uuids: Sequence[str]) -> set[str]:
    """Which of these tasks have a photo."""
    if not task_uuids:
        return set()
    rows = db.scalars(
        select(Task.uuid)
        .join(TaskPhoto, TaskPhoto.task_id == Task.id)
        .where(Task.district_id == district.id, Task.uuid.in_(task_uuids))
    )
    return set(rows)


def find_task(db: Session, district: District, task_uuid: str) -> Task:
    """A task of the district by its id; `UnknownTaskError` when there is none."""
    return _task(db, district, task_uuid)
