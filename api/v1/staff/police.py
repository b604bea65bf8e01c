"""The traffic police feed: the police's own tasks and every escalated one, with evidence,
as JSON or CSV; and how fast each team's cases are taken, escalated and closed. (The police
and city management take and close their cases with the handheld's take and resolve routes.)

The HTTP shell of GET /api/v1/<district>/cases/timings, GET /api/v1/<district>/police/feed:
each view parses, calls the domain, writes the answer."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from api.auth import clock_now, require_staff
from api.csv_cells import csv_cell
from api.database import get_db
from api.errors import ApiError
from api.openapi import documented
from api.v1.schemas.street import TimingList, TimingQuery
from api.v1.schemas.warden import PoliceFeedOut, PoliceFeedQuery
from enforcement.case_timings import case_timings
from enforcement.tasks import police_feed, tasks_with_photos
from parking.inventory import get_district

bp = Blueprint("police", __name__, url_prefix="/api/v1/<district>")

DEFAULT_WINDOW = timedelta(hours=24)
CSV_COLUMNS = (
    "task", "team", "kind", "status", "created_at", "escalated_at", "rule", "plate", "bay", "road",
    "since", "lat", "lng", "event_ids", "photo_url",
)  # fmt: skip


@bp.get("/police/feed")
@documented(
    "Police feed: no-stopping tasks and escalated tasks since a time, with evidence (JSON or CSV)",
    PoliceFeedOut,
    query=PoliceFeedQuery,
    errors=(400, 401, 403, 404),
    media=("application/json", "text/csv"),
)
def feed(district: str) -> Response:
    """`since` defaults to 24 hours ago; `format=csv` answers text/csv, one row per task,
    event ids separated by spaces."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    args = PoliceFeedQuery().load(request.args)
    since: datetime = args.get("since") or clock_now() - DEFAULT_WINDOW
    items = police_feed(db, place, since)
    with_photo = tasks_with_photos(db, place, [item["task"] for item in items])
    for item in items:
        photo = (
            url_for("warden.photo", district=place.slug, task_id=item["task"])
            if item["task"] in with_photo
            else None
        )
        item["evidence"] = _evidence(item, photo)
    if args["format"] == "csv":
        return _csv(items, place.slug)
    return jsonify(PoliceFeedOut().dump({"since": since, "items": items}))


def _evidence(item: dict[str, Any], photo_url: str | None) -> dict[str, Any]:
    violation = item["violation"] or {}
    return {
        "event_ids": list((violation.get("evidence") or {}).get("event_ids") or []),
        "plate": violation.get("plate"),
        "bay": item["bay"],
        "road": item["road"],
        "since": violation.get("started_at"),
        "rule": violation.get("rule"),
        "photo_url": photo_url,
    }


def _csv(items: list[dict[str, Any]], slug: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        evidence = item["evidence"]
        row = {**{k: item[k] for k in CSV_COLUMNS if k in item}, **evidence}
        row["event_ids"] = " ".join(evidence["event_ids"])
        writer.writerow([csv_cell(row.get(k)) for k in CSV_COLUMNS])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="police-feed-{slug}.csv"'
    return response


@bp.get("/cases/timings")
@documented(
    "How fast each team's cases were escalated, taken and closed, and their outcomes",
    TimingList,
    query=TimingQuery,
    errors=(400, 401, 403, 404),
)
def timings(district: str) -> Response:
    """Tasks opened from `since` (default 7 days before `until`) to `until` (default now)."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    args = TimingQuery().load(request.args)
    until: datetime = args.get("until") or clock_now()
    since: datetime = args.get("since") or until - timedelta(days=7)
    if since >= until:
        raise ApiError(400, "invalid_parameters", "since must be before until", ["since", "until"])
    teams = case_timings(db, place, since, until + timedelta(microseconds=1))
    return jsonify(TimingList().dump({"since": since, "until": until, "teams": teams}))
