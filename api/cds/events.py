"""CDS Events API: devices push events; staff read them back and see device status.

The HTTP shell of POST /cds/<district>/events/event, GET /cds/<district>/events/events,
GET /cds/<district>/events/status: each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from api.auth import clock_now, require_device, require_staff
from api.bodies import check_nesting
from api.cds.common import envelope, event_max_age, negotiate, page_args, page_links
from api.database import get_db
from api.district_cache import district_for
from api.errors import ApiError
from api.v1.staff.plate_access import reads_plates
from enforcement.event_listing import EventFilter, list_events_as
from parking.errors import N_, Message
from parking.inventory import get_district
from parking.models import Bay, Road
from sensors.models import DATA_FEED, HANDHELD_POS, Device, device_bay, device_road
from sensors.services import Push, take_pushed_batch

bp = Blueprint("cds_events", __name__, url_prefix="/cds/<district>/events")

_SOURCE_TYPE = {
    "video_stake": "camera",
    HANDHELD_POS: "in_person",
    DATA_FEED: "data_feed",
    "patrol_car": "camera",
}


@bp.post("/event")
def push_events(district: str) -> Response:
    """Push a batch of up to MAX_BATCH_EVENTS curb events (CDS `POST /events/event`)."""
    media_type = negotiate()
    db = get_db()
    # SQLite has one writer at a time: the token is read and the batch parsed and checked
    # before the write lock is taken, so that writers queue only for their writes (a stake's
    # single arrival as much as a big batch). PostgreSQL locks only the rows written: each push
    # is one transaction.
    one_transaction = db.get_bind().dialect.name != "sqlite"

    def read_push() -> Push:
        place = district_for(db, district)
        device = require_device(db, place)
        return Push(place, device, _batch())

    skew = timedelta(seconds=current_app.config["EVENT_MAX_SKEW_SECONDS"])
    result = take_pushed_batch(
        db, read_push, clock_now(), skew, event_max_age(), check_first=not one_transaction
    )
    body = {
        "success": result.success,
        "total": result.total,
        "failures": [
            {
                "item": f.item,
                "error": f.error,
                "error_description": f.description,
                "error_details": f.details,
            }
            for f in result.failures
        ],
    }
    response = jsonify(body)
    response.headers["Content-Type"] = media_type
    return response


def _batch() -> list[Any]:
    raw = request.get_data(cache=False)
    limit = current_app.config["MAX_BATCH_EVENTS"]
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "the request body is not JSON") from None
    if not isinstance(items, list):
        raise ApiError(400, "not_an_array", "the request body must be a JSON array of curb events")
    if len(items) > limit:
        raise ApiError(
            413,
            "too_many_events",
            Message(
                N_("a batch holds at most %(limit)s events, this one %(count)s"),
                {"limit": limit, "count": len(items)},
            ),
        )
    check_nesting(items, current_app.config["MAX_JSON_DEPTH"])
    return items


@bp.get("/events")
def list_events(district: str) -> Response:
    """Events of one UTC hour (`event_time=YYYY-MM-DDTHH`, default the last 60 minutes),
    newest first, optionally at one area, zone or space."""
    media_type = negotiate()
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    now = clock_now()
    since, until = _hour_window(request.args.get("event_time"), now)
    args = request.args
    where = EventFilter(
        since, until, args.get("curb_space_id"), args.get("curb_zone_id"), args.get("curb_area_id")
    )
    page, size = page_args()
    query = request.query_string.decode()
    found = list_events_as(db, place, staff, reads_plates(staff), where, page, size, query, now)
    items, total = found.items, found.total
    return envelope(place, "events", items, now, media_type, page_links(page, size, total))


@bp.get("/status")
def device_status(district: str) -> Response:
    """The online status of every device, optionally those at one zone or space."""
    media_type = negotiate()
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    query = select(Device).where(Device.district_id == place.id).order_by(Device.id)
    space, zone = request.args.get("curb_space_id"), request.args.get("curb_zone_id")
    if space or zone:
        bays = select(Bay.id).join(Road, Road.id == Bay.road_id)
        bays = bays.where(Bay.uuid == space) if space else bays.where(Road.uuid == zone)
        roads = select(Bay.road_id).where(Bay.id.in_(bays))
        query = query.where(
            (Device.kind == DATA_FEED)
            | Device.id.in_(select(device_bay.c.device_id).where(device_bay.c.bay_id.in_(bays)))
            | Device.id.in_(select(device_road.c.device_id).where(device_road.c.road_id.in_(roads)))
        )
    status = [
        {
            "data_source_device_id": d.uuid,
            "data_source_type": _SOURCE_TYPE[d.kind],
            "sensor_status_is_commissioned": True,
            "sensor_status_is_online": d.online,
        }
        for d in db.scalars(query)
    ]
    return envelope(place, "status", status, clock_now(), media_type)


def _hour_window(raw: str | None, now: datetime) -> tuple[datetime, datetime]:
    if raw is None:
        return now - timedelta(minutes=60), now + timedelta(microseconds=1)
    try:
        start = datetime.strptime(raw, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(400, "bad_param", "event_time must be YYYY-MM-DDTHH (UTC)", ["event_time"]) from None
    return start, start + timedelta(hours=1)
