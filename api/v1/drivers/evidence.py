"""Evidence views for whoever holds a stay's or a citation's id (the plate's ledger gives
them, as paying by plate does): the events behind it, the tariff and fee, the photos.

The HTTP shell of GET /api/v1/<district>/citations/<citation_id>/evidence,
GET /api/v1/<district>/citations/<citation_id>/photos/<task_id>,
GET /api/v1/<district>/stays/<stay_id>/evidence: each view parses, calls the domain, writes the
answer."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for

from api.database import get_db
from api.errors import ApiError
from api.openapi import documented
from api.v1.schemas.evidence import CitationEvidenceOut, PhotoBytes, StayEvidenceOut
from enforcement.evidence import citation_evidence, citation_photo, stay_evidence
from parking.errors import N_, Message
from parking.inventory import get_district

bp = Blueprint("evidence", __name__, url_prefix="/api/v1/<district>")


@bp.get("/stays/<stay_id>/evidence")
@documented(
    "The evidence behind a stay's fee: its events (device, kind, time, plate read, confidence, "
    "who registered it), the tariff version and the fee breakdown",
    StayEvidenceOut,
    auth=None,
)
def stay(district: str, stay_id: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    return jsonify(StayEvidenceOut().dump(stay_evidence(db, place, stay_id)))


@bp.get("/citations/<citation_id>/evidence")
@documented(
    "The evidence behind a citation: its violation, audit trail, photos and its stay's events",
    CitationEvidenceOut,
    auth=None,
)
def citation(district: str, citation_id: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    found = citation_evidence(db, place, citation_id)
    found["photo_urls"] = [
        url_for(".photo", district=place.slug, citation_id=citation_id, task_id=task)
        for task in found.pop("photo_tasks")
    ]
    return jsonify(CitationEvidenceOut().dump(found))


@bp.get("/citations/<citation_id>/photos/<task_id>")
@documented(
    "A photo taken for a citation (image bytes)",
    PhotoBytes,
    auth=None,
    media=("image/jpeg", "image/png", "image/webp"),
)
def photo(district: str, citation_id: str, task_id: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    found = citation_photo(db, place, citation_id, task_id)
    if found is None:
        raise ApiError(
            404,
            "no_photo",
            Message(
                N_("citation %(citation)s has no photo %(photo)s"),
                {"citation": citation_id, "photo": task_id},
            ),
        )
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
