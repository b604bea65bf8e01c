"""Street-order reports (vending stalls, goods on the road, construction): a warden or a
city-management officer reports one from the handheld; it becomes a city-management task,
never a police one. The bureau and city management read them for the map and by road and hour.

The HTTP shell of GET /api/v1/<district>/street-reports,
POST /api/v1/<district>/street-reports: each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from api.auth import clock_now, require_staff
from api.bodies import refuse_nul
from api.database import get_db
from api.errors import ApiError
from api.openapi import documented
from api.v1.schemas.street import StreetReportIn, StreetReportList, StreetReportOut, StreetReportQuery
from enforcement.models import Task
from enforcement.street_reports import (
    StreetReport,
    report_street,
    reports_by_road_and_hour,
    street_reports,
)
from enforcement.tasks import MAX_PHOTO_BYTES, attach_photo, tasks_with_photos
from parking.inventory import get_district, road_name
from parking.models import District
from parking.unit_of_work import writing

bp = Blueprint("street_reports", __name__, url_prefix="/api/v1/<district>")

DEFAULT_WINDOW = timedelta(days=7)
MAX_REQUEST_BYTES = MAX_PHOTO_BYTES + 2 * 1024 * 1024


@bp.post("/street-reports")
@documented(
    "Report a vending stall, goods on the road, a construction site or other street disorder",
    StreetReportOut,
    body=StreetReportIn,
    files=("photo",),
    errors=(400, 401, 403, 404, 413),
    status=201,
)
def create(district: str) -> tuple[Response, int]:
    """JSON `{kind, lat, lng, note}`, or multipart/form-data with the same fields and a
    `photo` (JPEG, PNG or WebP, at most 5 MiB). Opens a task for city management."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        staff = require_staff(db, place)
        body, photo = _report_body()
        now = clock_now()
        report = StreetReport(
            body["kind"], body["lat"], body["lng"], body.get("note"), staff.name, "handheld"
        )
        task = report_street(db, place, report, now)
        if photo is not None:
            attach_photo(db, task, photo, staff.name, now)
    return jsonify(StreetReportOut().dump(_report_out(db, place, task, photo is not None))), 201


def _report_body() -> tuple[dict[str, Any], bytes | None]:
    if request.mimetype == "multipart/form-data":
        request.max_content_length = MAX_REQUEST_BYTES
        body = StreetReportIn().load(refuse_nul(request.form.to_dict()))
        upload = request.files.get("photo")
        return body, upload.stream.read(MAX_PHOTO_BYTES + 1) if upload is not None else None
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise ApiError(400, "invalid_json", "send a JSON object, or multipart/form-data with a photo")
    return StreetReportIn().load(raw), None


@bp.get("/street-reports")
@documented(
    "Street-order reports in a window (default: the last 7 days), with counts by road and hour",
    StreetReportList,
    query=StreetReportQuery,
    errors=(400, 401, 403, 404),
)
def list_reports(district: str) -> Response:
    """Each report with its place (for the dashboard's map) and its task's status."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    args = StreetReportQuery().load(request.args)
    until = args.get("until") or clock_now()
    since = args.get("since") or until - DEFAULT_WINDOW
    if since >= until:
        raise ApiError(400, "invalid_parameters", "since must be before until", ["since", "until"])
    tasks = street_reports(db, place, since, until)
    photos = tasks_with_photos(db, place, [task.uuid for task in tasks])
    out = {
        "since": since,
        "until": until,
        "reports": [_report_out(db, place, task, task.uuid in photos) for task in tasks],
        "by_road_and_hour": reports_by_road_and_hour(db, place, tasks),
    }
    return jsonify(StreetReportList().dump(out))


def _report_out(db: Any, place: District, task: Task, photo: bool) -> dict[str, Any]:
    road = road_name(db, task.road_id)
    details = task.details
    return {
        "id": task.uuid,
        "task": task.uuid,
        "kind": details.get("report"),
        "status": task.status,
        "lat": task.lat,
        "lng": task.lng,
        "road": road,
        "note": details.get("note"),
        "source": details.get("source"),
        "reported_by": details.get("reported_by"),
        "created_at": task.created_at,
        "outcome": task.outcome,
        "resolved_at": task.resolved_at,
        "photo_url": url_for("warden.photo", district=place.slug, task_id=task.uuid) if photo else None,
    }
