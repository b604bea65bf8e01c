"""Native staff API: stays by road, bay, plate and time, and the timeline's anomaly counts.

The HTTP shell of GET /api/v1/<district>/stays, GET /api/v1/<district>/timeline/anomalies: each
view parses, calls the domain, writes the answer."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request

from api.auth import clock_now, require_staff
from api.database import get_db
from api.openapi import documented
from api.schemas import AnomalyCount, AnomalyPage, StayPage, StayQuery
from api.v1.staff.plate_access import reads_plates, refuse_plate_filter
from enforcement.lookup_services import search_stays
from parking.inventory import get_district
from parking.stay_search import StayFilter, anomaly_counts

bp = Blueprint("staff", __name__, url_prefix="/api/v1/<district>")


@bp.get("/stays")
@documented("Stays by road, bay, plate and time", StayPage, query=StayQuery, errors=(400, 401, 403, 404))
def list_stays(district: str) -> Response:
    """Stays overlapping [since, until), filtered by road, bay, plate or open/closed. Plates
    only for the roles that enforce, and every answer that carries one is audited: a search
    by plate as a lookup of that plate, in the same unit of work; a listing as one row per
    answer. The bureau and city get the stays without plates (403 `plates_not_allowed` for
    a search by plate)."""
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    refuse_plate_filter(staff, request.args.get("plate"))
    args = StayQuery().load(request.args)
    page, size = args.pop("page"), args.pop("page_size")
    stays, total = search_stays(
        db,
        place,
        staff,
        StayFilter(**args),
        clock_now(),
        offset=(page - 1) * size,
        limit=size,
        shows_plates=reads_plates(staff),
        query=request.query_string.decode()[:300],
    )
    body = {"stays": [asdict(stay) for stay in stays], "page": page, "page_size": size, "total": total}
    return jsonify(StayPage().dump(body))


@bp.get("/timeline/anomalies")
@documented("How often each timeline rule for odd sequences applied", AnomalyPage, errors=(401, 403, 404))
def list_anomalies(district: str) -> Response:
    """How often each timeline rule for odd event sequences was applied (docs/TIMELINE.md)."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    counts = anomaly_counts(db, place.id)
    return jsonify(
        {
            "anomalies": AnomalyCount(many=True).dump(
                [{"kind": k, "count": v} for k, v in sorted(counts.items())]
            )
        }
    )
