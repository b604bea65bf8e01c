"""Disputes over HTTP: anyone who knows a plate (as with paying by plate) or a signed-in
driver contests a stay's fee or a citation; the bureau works the queue and decides, which
adjusts the fee (credit, or refund through the payment provider) and tells the driver.

The HTTP shell of GET /api/v1/<district>/disputes,
POST /api/v1/<district>/disputes/<dispute_id>/decision,
POST /api/v1/<district>/plates/<plate>/disputes, POST /api/v1/drivers/me/disputes: each view
parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request

from api.auth import clock_now, require_staff
from api.database import get_db
from api.errors import json_body
from api.openapi import documented
from api.payment_gateway import get_gateway
from api.v1.drivers.accounts import signed_in_driver
from api.v1.schemas.disputes import DisputeDecisionIn, DisputeIn, DisputeList, DisputeOut, DisputeQuery
from enforcement.disputes import (
    Contest,
    Decision,
    count_disputes,
    dispute_subjects,
    disputed_by,
    list_disputes,
    open_dispute,
)
from enforcement.models import Dispute
from enforcement.services import decide_dispute_and_refund
from parking.inventory import get_district
from parking.models import District
from parking.plate_rules import accept_plate
from parking.unit_of_work import writing

bp = Blueprint("disputes", __name__)

COUNT_WINDOW = timedelta(days=30)


@bp.post("/api/v1/<district>/plates/<plate>/disputes")
@documented(
    "Dispute a stay's fee or a citation of a plate, with a reason (anyone, as with paying by plate)",
    DisputeOut,
    body=DisputeIn,
    auth=None,
    errors=(400, 404, 409),
    status=201,
)
def dispute_by_plate(district: str, plate: str) -> tuple[Response, int]:
    """`{"stay": id}` or `{"citation": id}` of this plate, and a `reason`. Disputing a
    citation appeals it; one open dispute per stay or citation."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        body = DisputeIn().load(json_body())
        contest = Contest(
            accept_plate(place.plate_rule, plate), body["reason"], body.get("stay"), body.get("citation")
        )
        dispute = open_dispute(db, place, contest, clock_now())
    return jsonify(DisputeOut().dump(_out(db, place, dispute))), 201


@bp.post("/api/v1/drivers/me/disputes")
@documented(
    "Dispute the fee of one of my stays or a citation of one of my plates, with a reason",
    DisputeOut,
    body=DisputeIn,
    auth="driver",
    errors=(400, 401, 404, 409),
    status=201,
)
def dispute_mine() -> tuple[Response, int]:
    with writing(get_db()) as db:
        account = signed_in_driver(db)
        body = DisputeIn().load(json_body())
        place, plate = disputed_by(db, account, body.get("stay"), body.get("citation"))
        contest = Contest(plate, body["reason"], body.get("stay"), body.get("citation"), account.id)
        dispute = open_dispute(db, place, contest, clock_now())
    return jsonify(DisputeOut().dump(_out(db, place, dispute))), 201


@bp.get("/api/v1/<district>/disputes")
@documented(
    "The dispute queue (status=open) or every dispute, oldest first, with counts by outcome",
    DisputeList,
    query=DisputeQuery,
    errors=(400, 401, 403, 404),
)
def disputes(district: str) -> Response:
    """`counts` covers disputes opened from `since` (default 30 days before `until`) to
    `until` (default now): how many are open and how many were upheld, adjusted, cancelled."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    args = DisputeQuery().load(request.args)
    until = args.get("until") or clock_now()
    since = args.get("since") or until - COUNT_WINDOW
    rows = [_out(db, place, dispute) for dispute in list_disputes(db, place, args.get("status"))]
    counts = count_disputes(db, place, since, until + timedelta(microseconds=1))
    return jsonify(DisputeList().dump({"disputes": rows, "since": since, "until": until, "counts": counts}))


@bp.post("/api/v1/<district>/disputes/<dispute_id>/decision")
@documented(
    "Decide a dispute: upheld, adjusted (with the new amount) or cancelled, with a reason",
    DisputeOut,
    body=DisputeDecisionIn,
    errors=(400, 401, 403, 404, 409, 502),
)
def decide(district: str, dispute_id: str) -> Response:
    """Money paid beyond the new amount is refunded through the payment provider (cash and QR
    are recorded as given back); an unpaid fee is lowered. The driver gets a notice."""
    db = get_db()
    place = get_district(db, district)
    staff = require_staff(db, place)
    body = DisputeDecisionIn().load(json_body())
    decision = Decision(body["outcome"], body["reason"], staff.name, body.get("amount"))
    dispute = decide_dispute_and_refund(db, get_gateway(), place, dispute_id, decision, clock_now())
    return jsonify(DisputeOut().dump(_out(db, place, dispute)))


def _out(db: Any, place: District, dispute: Dispute) -> dict[str, Any]:
    stay, citation = dispute_subjects(db, dispute)
    columns = (
        "status", "plate", "reason", "amount_before", "amount_after", "currency", "outcome", "refunded",
        "decision_reason", "decided_by", "created_at", "decided_at",
    )  # fmt: skip
    out = {name: getattr(dispute, name) for name in columns}
    out.update(id=dispute.uuid, district=place.slug, stay=stay, citation=citation)
    return out
