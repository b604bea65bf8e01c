"""A patrol car's plate reads: `POST /api/v1/<district>/patrol/reads` with the car's device
token. The HTTP shell only: the rules are `enforcement.patrol`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import Schema, fields, validate

from api.auth import clock_now, require_device
from api.database import get_db
from api.errors import ApiError, json_body
from api.openapi import documented
from api.schemas import AwareDateTime
from enforcement.patrol import PatrolRules, PlateRead, check_reads
from parking.errors import N_, Message
from parking.inventory import get_district
from parking.unit_of_work import writing

bp = Blueprint("patrol", __name__, url_prefix="/api/v1/<district>/patrol")


class PlateReadIn(Schema):
    plate = fields.String(required=True, validate=validate.Length(min=1, max=32))
    confidence = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100))
    read_at = AwareDateTime(required=True)
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    bay = fields.String(load_default=None, validate=validate.Length(min=1, max=36))


class PatrolReadsIn(Schema):
    reads = fields.List(fields.Nested(PlateReadIn), required=True, validate=validate.Length(min=1))


class PatrolHitOut(Schema):
    plate = fields.String()
    bay = fields.String(
        allow_none=True, metadata={"description": "the curb space id the read was matched to"}
    )
    reasons = fields.List(
        fields.String(),
        metadata={"description": "overstayed, unpaid, arrears, citation, restriction, unregistered"},
    )


class PatrolConfirmOut(Schema):
    plate = fields.String()
    bay = fields.String(allow_none=True)
    confidence = fields.Integer()
    why = fields.String(metadata={"description": "low_confidence or unreadable_plate"})


class PatrolReadsOut(Schema):
    checked = fields.Integer()
    hits = fields.List(fields.Nested(PatrolHitOut))
    confirm = fields.List(fields.Nested(PatrolConfirmOut))


@bp.post("/reads")
@documented(
    "A patrol car's batch of plate reads: only the hits come back, and the reads to confirm by eye",
    PatrolReadsOut,
    body=PatrolReadsIn,
    auth="device",
    errors=(400, 401, 403, 404, 413),
)
def reads(district: str) -> Response:
    """Each read is matched to its bay by position (or the bay it names) and audited; reads
    below PATROL_MIN_CONFIDENCE are never hits. At most PATROL_MAX_READS a request."""
    config = current_app.config
    raw = json_body()
    db = get_db()
    place = get_district(db, district)
    car = require_device(db, place)
    body: dict[str, Any] = PatrolReadsIn().load(raw)
    _check_size(len(body["reads"]), int(config["PATROL_MAX_READS"]))
    batch = [
        PlateRead(r["plate"], r["confidence"], r["read_at"], r["lat"], r["lng"], r["bay"])
        for r in body["reads"]
    ]
    rules = PatrolRules(int(config["PATROL_MIN_CONFIDENCE"]), float(config["PATROL_MATCH_RADIUS_M"]))
    with writing(db):  # the checks and their audit rows are one write transaction
        answer = check_reads(db, place, car, batch, rules, clock_now())
    return jsonify(PatrolReadsOut().dump(answer))


def _check_size(count: int, limit: int) -> None:
    if count > limit:
        raise ApiError(
            413,
            "too_many_reads",
            Message(N_("at most %(limit)s reads a request"), {"limit": limit}),
            ["reads"],
        )
