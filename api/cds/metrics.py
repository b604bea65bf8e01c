"""CDS Metrics API: stays as sessions, and hourly aggregates per space, zone and area, as CSV.

The methodology is in docs/METRICS.md; the arithmetic in parking/metrics.py.

The HTTP shell of GET /cds/<district>/metrics/aggregates, GET /cds/<district>/metrics/sessions:
each view parses, calls the domain, writes the answer."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from api.auth import clock_now, require_staff
from api.database import get_db
from api.errors import ApiError
from parking.clock import from_ms, to_ms
from parking.errors import N_, Message
from parking.inventory import get_district
from parking.metrics import (
    METRICS,
    PLACE_TYPES,
    metrics_window,
)
from parking.metrics_queries import load_bays
from parking.models import District
from sensors.cds_metrics import hourly_aggregates, sessions

bp = Blueprint("cds_metrics", __name__, url_prefix="/cds/<district>/metrics")

CDS_CSV = "application/vnd.cds+csv;version=1.1"
_GEO_PARAMS = ("min_lat", "min_lng", "max_lat", "max_lng", "lat", "lng", "radius")
AGGREGATE_COLUMNS = ("curb_place_type", "curb_place_id", "metric_type", "date", "hour", "value")
SESSION_COLUMNS = (
    "session_type",
    "event_session_id",
    "event_id_start",
    "event_id_end",
    "event_location_start_latitude",
    "event_location_start_longitude",
    "event_location_end_latitude",
    "event_location_end_longitude",
    "event_time_start",
    "event_time_end",
    "curb_zone_id",
    "curb_space_id",
)


@bp.get("/aggregates")
def get_aggregates(district: str) -> Response:
    """Hourly `total_sessions`, `turnover`, `average_dwell_time` and `occupancy_percent`
    per area, zone and space (CDS `GET /metrics/aggregates`)."""
    media_type = negotiate_csv()
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    now = clock_now()
    zone = ZoneInfo(place.time_zone)
    window = window_args(now, zone)
    chosen = place_arg(db, place)
    place_types, metrics = place_types_arg(chosen), metric_arg()
    rows = (
        (a.curb_place_type, a.curb_place_id, a.metric_type, a.date.isoformat(), a.hour, _number(a.value))
        for a in hourly_aggregates(db, place.id, zone, window, chosen, place_types, metrics, now)
    )
    return Response(csv_lines(AGGREGATE_COLUMNS, rows), mimetype=media_type)


@bp.get("/sessions")
def get_sessions(district: str) -> Response:
    """Stays that started in the time range, one row each, without plates
    (CDS `GET /metrics/sessions`)."""
    media_type = negotiate_csv()
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    window = window_args(clock_now(), ZoneInfo(place.time_zone))
    rows = [
        ("parking", s.session_id, s.start_event_id, s.end_event_id, s.lat, s.lng, s.lat, s.lng)
        + (to_ms(s.started_at), _ms(s.ended_at), s.zone_id, s.space_id)
        for s in sessions(db, place.id, window, place_arg(db, place))
    ]
    return Response(csv_lines(SESSION_COLUMNS, rows), mimetype=media_type)


def negotiate_csv() -> str:
    """CDS Metrics answer CSV only: the CDS media type when asked for it, else `text/csv`."""
    header = request.headers.get("Accept", "").strip()
    if not header:
        return "text/csv"
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if opts.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        media = media.lower()
        if media == "application/vnd.cds+csv" and opts.get("version", "1.1").strip('"') in ("1.1", "1.1.0"):
            return CDS_CSV
        if media in ("text/csv", "text/*", "*/*"):
            return "text/csv"
    raise ApiError(
        406,
        "not_acceptable",
        Message(N_("CDS Metrics answer %(media)s or text/csv"), {"media": CDS_CSV}),
        ["Accept"],
    )


def window_args(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) from `start_time` and `end_time` (integer ms), as
    `parking.metrics.metrics_window` completes and bounds them."""
    return metrics_window(_ms_arg("start_time"), _ms_arg("end_time"), now, zone)


def _ms_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        ms = int(raw)
        if not 946_684_800_000 <= ms < 4_102_444_800_000:
            raise ValueError
    except ValueError:
        raise ApiError(
            400,
            "bad_param",
            Message(N_("%(name)s must be integer milliseconds between 2000 and 2100"), {"name": name}),
            [name],
        ) from None
    return from_ms(ms)


def place_arg(db: Session, district: District) -> tuple[str, str] | None:
    """(curb_place_type, curb_place_id) when an id is given; it must be of this district."""
    for name in _GEO_PARAMS:
        if request.args.get(name) not in (None, ""):
            raise ApiError(
                400, "unsupported_param", "filter by curb_place_type and curb_place_id instead", [name]
            )
    kind, place_id = request.args.get("curb_place_type"), request.args.get("curb_place_id")
    if kind is not None and kind not in PLACE_TYPES:
        raise ApiError(400, "bad_param", "curb_place_type must be area, zone or space", ["curb_place_type"])
    if place_id is None:
        return None
    if kind is None:
        raise ApiError(400, "bad_param", "curb_place_id needs curb_place_type", ["curb_place_type"])
    try:
        place_id = str(uuid.UUID(place_id))
    except ValueError:
        raise ApiError(400, "bad_param", "curb_place_id must be a UUID", ["curb_place_id"]) from None
    if not load_bays(db, district.id, (kind, place_id))[:1]:
        raise ApiError(
            404,
            "unknown_curb_place",
            Message(N_("no %(kind)s %(place)s with bays here"), {"kind": kind, "place": place_id}),
            ["curb_place_id"],
        )
    return kind, place_id


def place_types_arg(chosen: tuple[str, str] | None) -> tuple[str, ...]:
    """With a place, its rows and those of the places inside it; else `curb_place_type`
    alone picks the rows of one type, and without it every type is reported."""
    kind = request.args.get("curb_place_type")
    if chosen is not None:
        return PLACE_TYPES[PLACE_TYPES.index(chosen[0]) :]
    return (kind,) if kind else PLACE_TYPES


def metric_arg() -> tuple[str, ...]:
    """`metric_type`: one metric, or several separated by commas; all four by default."""
    raw = request.args.get("metric_type")
    if not raw:
        return METRICS
    asked = tuple(m.strip() for m in raw.split(","))
    unknown = [m for m in asked if m not in METRICS]
    if unknown:
        code = "unsupported_metric" if unknown == ["total_events"] else "bad_param"
        raise ApiError(
            400,
            code,
            Message(
                N_("metric_type must be among %(known)s; not %(unknown)s"),
                {"known": ", ".join(METRICS), "unknown": ", ".join(unknown)},
            ),
            ["metric_type"],
        )
    return asked


def csv_lines(columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """The header and the rows as CSV text, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % 5000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _ms(at: datetime | None) -> int | str:
    return "" if at is None else to_ms(at)
