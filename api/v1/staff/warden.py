"""The warden handheld: position and sign-in check, the team's tasks nearest first, taking
and resolving tasks (with a photo, and a citation when one is issued), plate checks with
their audit log, and bay registrations typed in by hand.

The HTTP shell of GET /api/v1/<district>/audit/plate-checks,
GET /api/v1/<district>/plates/<plate>/check, POST /api/v1/<district>/plates/check,
POST /api/v1/<district>/registrations, GET /api/v1/<district>/staff/me,
POST /api/v1/<district>/staff/position, GET /api/v1/<district>/tasks,
GET /api/v1/<district>/tasks/<task_id>/photo, POST /api/v1/<district>/tasks/<task_id>/resolve,
POST /api/v1/<district>/tasks/<task_id>/take: each view parses, calls the domain, writes the
answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from api.auth import clock_now, require_staff
from api.bodies import body_limit, refuse_nul
from api.cds.common import event_max_age
from api.database import get_db
from api.district_cache import district_for
from api.errors import ApiError, json_body, translate
from api.openapi import documented
from api.v1.schemas.warden import (
    AuditPage,
    AuditQuery,
    PhotoOut,
    PlateCheckIn,
    PlateCheckOut,
    PlateCheckQuery,
    PositionIn,
    RegistrationIn,
    RegistrationOut,
    ResolveForm,
    StaffMeOut,
    TaskList,
    TaskOut,
    TaskQuery,
)
from enforcement.lookup_services import check_plate_as, search_plate_checks
from enforcement.models import Task
from enforcement.plate_check import CheckedFrom
from enforcement.registrations import Registration
from enforcement.services import register_at_curb, resolve_task_as, take_task_as
from enforcement.tasks import MAX_PHOTO_BYTES, ListedTask, position_of, report_position, task_photo, tasks_for
from enforcement.teams import team_of
from identity.models import StaffToken
from identity.staff import beat_of
from parking.errors import N_, Message
from parking.inventory import get_district
from parking.models import District
from parking.unit_of_work import statements_commit_alone, writing

bp = Blueprint("warden", __name__, url_prefix="/api/v1/<district>")

# The whole multipart request may exceed the app's 4 MiB limit, so that a photo just over
# MAX_PHOTO_BYTES is answered `photo_too_large` rather than a bare 413.
MAX_RESOLVE_REQUEST_BYTES = MAX_PHOTO_BYTES + 2 * 1024 * 1024


@bp.post("/staff/position")
@documented("Report where my handheld is", StaffMeOut, body=PositionIn, errors=(400, 401, 404))
def post_position(district: str) -> Response:
    """The last reported position orders my task list by distance."""
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    body = PositionIn().load(request.get_json(silent=True) or {})
    with writing(db):
        report_position(db, staff, body["lat"], body["lng"], clock_now())
    return jsonify(StaffMeOut().dump(_me(db, staff)))


@bp.get("/staff/me")
@documented("Who my token stands for, my team and my last position", StaffMeOut, errors=(401, 404))
def get_me(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    return jsonify(StaffMeOut().dump(_me(db, staff)))


def _me(db: Any, staff: StaffToken) -> dict[str, Any]:
    position = position_of(db, staff)
    return {
        "name": staff.name,
        "role": staff.role,
        "team": team_of(staff.role),
        "position": position,
        "now": clock_now(),  # the server's clock: an offline handheld times its actions by it
    }


@bp.get("/tasks")
@documented(
    "My team's open, escalated and taken tasks and my own, nearest first, then oldest",
    TaskList,
    query=TaskQuery,
    errors=(400, 401, 403, 404),
)
def list_tasks(district: str) -> Response:
    """Distance is from my last reported position (`POST staff/position`); tasks without a
    place (arrears) come after those with one. An admin sees every team's tasks; a warden or
    attendant with a beat sees only the tasks on its roads."""
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    args = TaskQuery().load(request.args)
    position = position_of(db, staff)
    near = (position.lat, position.lng) if position else None
    team = team_of(staff.role)
    statuses = (args["status"],) if "status" in args else ("open", "escalated", "taken")
    now = clock_now()
    teams = None if team is None else [team]
    listed = tasks_for(
        db, place, teams, staff.name, now, near, statuses, beat=beat_of(db, staff), escalated=team == "police"
    )
    tasks = [_task_out(place, item.task, staff, listed=item) for item in listed]
    return jsonify(TaskList().dump({"tasks": tasks, "position": position}))


@bp.post("/tasks/<task_id>/take")
@documented("Take a task of my team", TaskOut, errors=(401, 403, 404, 409))
def take(district: str, task_id: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    task = take_task_as(db, place, staff, task_id, clock_now())
    return jsonify(TaskOut().dump(_task_out(place, task, staff)))


@bp.post("/tasks/<task_id>/resolve")
@documented(
    "Resolve my task (multipart/form-data: outcome, note, photo); citation_issued cites its violation",
    TaskOut,
    body=ResolveForm,
    body_media="multipart/form-data",
    files=("photo",),
    errors=(400, 401, 403, 404, 409, 413, 415),
)
@body_limit(MAX_RESOLVE_REQUEST_BYTES)
def resolve(district: str, task_id: str) -> Response:
    """`outcome` is one of the codes of my team (wardens and attendants: citation_issued,
    warned, vehicle_gone, false_alarm; police and city management: see docs/ENFORCEMENT.md),
    with a `note`; `photo` a JPEG, PNG or WebP of at most 5 MiB (required for citation_issued). All or nothing: the task, the
    photo and the citation are written together or not at all."""
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    form, photo = _resolve_form()
    done = resolve_task_as(db, place, staff, task_id, form["outcome"], form.get("note"), photo, clock_now())
    out = _task_out(place, done.task, staff, photo=photo is not None, citation=done.citation)
    return jsonify(TaskOut().dump(out))


def _resolve_form() -> tuple[dict[str, Any], bytes | None]:
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "multipart_required", "send the resolution as multipart/form-data")
    form = ResolveForm().load(refuse_nul(request.form.to_dict()))
    upload = request.files.get("photo")
    photo = upload.stream.read(MAX_PHOTO_BYTES + 1) if upload is not None else None
    return form, photo


@bp.get("/tasks/<task_id>/photo")
@documented(
    "The photo taken when the task was resolved (image bytes)",
    PhotoOut,
    errors=(401, 404),
    media=("image/jpeg", "image/png", "image/webp"),
)
def photo(district: str, task_id: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    found = task_photo(db, place, task_id)
    if found is None:
        raise ApiError(404, "no_photo", Message(N_("task %(task)s has no photo"), {"task": task_id}))
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _task_out(
    place: District,
    task: Task,
    staff: StaffToken,
    *,
    listed: ListedTask | None = None,
    photo: bool = False,
    citation: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: getattr(task, name)
        for name in (
            "team",
            "kind",
            "status",
            "taken_by",
            "created_at",
            "escalated_at",
            "taken_at",
            "resolved_at",
            "outcome",
            "note",
            "lat",
            "lng",
            "details",
        )  # fmt: skip
    }
    out.update(id=task.uuid, mine=task.taken_by == staff.name, citation=citation)
    out["photo_url"] = url_for(".photo", district=place.slug, task_id=task.uuid) if photo else None
    if listed is not None:
        out.update(bay=listed.bay, road=listed.road, age_minutes=int(listed.age.total_seconds() // 60))
        out["distance_m"] = None if listed.distance_m is None else round(listed.distance_m)
        violation, out["violation"] = listed.violation, None
        if violation is not None:
            out["violation"] = {
                "id": violation.uuid,
                "rule": violation.rule,
                "plate": violation.plate,
                "bay": listed.bay,
                "road": listed.road,
                "since": violation.started_at,
                "ended_at": violation.ended_at,
                "evidence": violation.evidence,
            }
    return out


# Made once: a schema made per request costs a plate check a tenth of its time (its fields
# are copied). Loading and dumping keep no state in the schema.
_CHECK_QUERY = PlateCheckQuery()
_CHECK_OUT = PlateCheckOut()


@bp.get("/plates/<plate>/check")
@documented(
    "Check a plate at the curb: where it is parked, paid or not, arrears, violations, citations",
    PlateCheckOut,
    query=PlateCheckQuery,
    errors=(400, 401, 403, 404),
)
def plate_check(district: str, plate: str) -> Response:
    """Every answered check is written to the audit log (who, when, plate, from where, what
    was disclosed) and committed before the answer leaves. Without `bay` or `lat`/`lng`, my
    last reported position is recorded. The reads run before the write transaction, so on
    SQLite the write lock is held only for the audit row."""
    return _plate_check(district, lambda: (plate, _CHECK_QUERY.load(request.args)))


@bp.post("/plates/check")
@documented(
    "Check a plate at the curb, the plate and position in the body (kept out of URLs and logs)",
    PlateCheckOut,
    body=PlateCheckIn,
    errors=(400, 401, 403, 404),
)
def plate_check_by_body(district: str) -> Response:
    """`GET .../plates/<plate>/check` with `{"plate", "bay"?, "lat"?, "lng"?}` as a JSON body."""

    def load() -> tuple[str, dict[str, Any]]:
        body = PlateCheckIn().load(json_body())
        return body.pop("plate"), body

    return _plate_check(district, load)


def _plate_check(district: str, load: Callable[[], tuple[str, dict[str, Any]]]) -> Response:
    """The check, once the staff member is known: `load` gives the plate and where from."""
    db = statements_commit_alone(get_db())
    place = district_for(db, district)
    staff = require_staff(db, place)
    plate, args = load()
    if ("lat" in args) != ("lng" in args):
        raise ApiError(400, "invalid_parameters", "give both lat and lng", ["lat", "lng"])
    where = CheckedFrom(str(args["bay"]) if "bay" in args else None, args.get("lat"), args.get("lng"))
    checked = check_plate_as(db, place, staff, plate, where, clock_now())
    return jsonify(_CHECK_OUT.dump({**checked.result, "check": checked.check}))


@bp.get("/audit/plate-checks")
@documented(
    "The plate-check audit log, newest first", AuditPage, query=AuditQuery, errors=(400, 401, 403, 404)
)
def plate_check_audit(district: str) -> Response:
    """Every staff lookup by plate, whichever route it came through (`route`); a search of
    the log by plate is itself a lookup, and goes on the log."""
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    args = AuditQuery().load(request.args)
    page, size = args["page"], args["page_size"]
    total, rows = search_plate_checks(
        db,
        place,
        staff,
        clock_now(),
        since=args.get("since"),
        until=args.get("until"),
        plate=args.get("plate"),
        staff_name=args.get("staff"),
        limit=size,
        offset=(page - 1) * size,
    )
    checks = [{**_columns(check), "bay": bay} for check, bay in rows]
    return jsonify(AuditPage().dump({"checks": checks, "page": page, "page_size": size, "total": total}))


def _columns(check: Any) -> dict[str, Any]:
    names = ("uuid", "staff_name", "staff_role", "checked_at", "route", "plate", "lat", "lng", "result")
    return {name: getattr(check, name) for name in names}


@bp.post("/registrations")
@documented(
    "Register an arrival, a plate or a departure at a bay by hand, as an in-person CDS event",
    RegistrationOut,
    body=RegistrationIn,
    errors=(400, 401, 403, 404, 422),
    status=201,
)
def register(district: str) -> tuple[Response, int]:
    """The event goes through the device intake as the handheld POS named by `device`, which
    must cover the bay; `client_id` is its event_id, so an offline queue uploaded twice
    creates nothing twice (201 the first time, 200 `duplicate` after). An event the intake
    refuses answers 422 with the intake's code (e.g. `bay_not_covered`). A warden or
    attendant with a beat registers only on its roads (403 `outside_beat`), and `at` goes
    back at most EVENT_MAX_AGE_HOURS (422 `event_too_old`). `conflict` says what the bay's
    stake saw otherwise (a departure while a stay is still open, another plate read), or is
    null."""
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    body = RegistrationIn().load(request.get_json(silent=True) or {})
    registration = Registration(
        client_id=str(body["client_id"]),
        bay=str(body["bay"]),
        device=str(body["device"]),
        kind=body["kind"],
        plate=body.get("plate"),
        at=body.get("at"),
        amount=body.get("amount"),
        method=body.get("method"),
    )
    max_skew = timedelta(seconds=current_app.config["EVENT_MAX_SKEW_SECONDS"])
    # event_max_age: None when lifted (0), for a replay of history
    done = register_at_curb(db, place, staff, registration, clock_now(), max_skew, event_max_age())
    out = {
        "event_id": done.event["event_id"],
        "event_type": done.event["event_type"],
        "event_time": done.event_time,
        "bay": done.event["curb_space_id"],
        "device": done.device.uuid,
        "result": "duplicate" if done.duplicate else "created",
        "conflict": translate(done.conflict) if done.conflict else None,
    }
    return jsonify(RegistrationOut().dump(out)), 200 if done.duplicate else 201
