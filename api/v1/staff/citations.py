"""Fines as data (read by anyone, set by an administrator) and the citation lifecycle after
issue: a citation read with its audit trail, voided by staff, appealed by anyone who holds
its id, and the appeal decided by the bureau.

The HTTP shell of GET /api/v1/<district>/citations/<citation_id>,
POST /api/v1/<district>/citations/<citation_id>/appeal,
POST /api/v1/<district>/citations/<citation_id>/decision,
POST /api/v1/<district>/citations/<citation_id>/void, GET /api/v1/<district>/fines,
POST /api/v1/<district>/fines: each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from api.auth import clock_now, require_staff
from api.database import get_db
from api.errors import json_body
from api.openapi import documented
from api.v1.schemas.citations import (
    AppealDecisionIn,
    CitationOut,
    FineIn,
    FineList,
    FineOut,
    ReasonIn,
)
from enforcement.citations import change_citation_status, citation_history, find_citation, violation_rule
from enforcement.citations import decide_appeal as decide_appealed
from enforcement.fines import ALWAYS, list_fines, set_fine
from enforcement.models import APPEALED, VOIDED, Citation
from parking.inventory import get_district
from parking.models import District
from parking.unit_of_work import writing

bp = Blueprint("citations", __name__, url_prefix="/api/v1/<district>")


@bp.get("/fines")
@documented("Every version of the district's fines, with the ones in force now", FineList, auth=None)
def fines(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    rows = list_fines(db, place, clock_now())
    out = [
        {**_fine_columns(fine), "currency": place.currency, "in_force": in_force} for fine, in_force in rows
    ]
    return jsonify(FineList().dump({"fines": out}))


@bp.post("/fines")
@documented(
    "Set a fine for a rule from a date on (a new version; the same date corrects it)",
    FineOut,
    body=FineIn,
    errors=(400, 401, 403, 404),
    status=201,
)
def put_fine(district: str) -> tuple[Response, int]:
    """`amount` in minor units of the district's currency; `effective_from` left out means
    the fine has always applied. A citation is issued at the version in force when issued."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        staff = require_staff(db, place)
        body = FineIn().load(json_body())
        now = clock_now()
        fine = set_fine(
            db,
            place,
            body["rule"],
            body["amount"],
            body.get("effective_from", ALWAYS),
            created_by=staff.name,
            now=now,
        )
    in_force = any(f.id == fine.id and current for f, current in list_fines(db, place, now))
    out = {**_fine_columns(fine), "currency": place.currency, "in_force": in_force}
    return jsonify(FineOut().dump(out)), 201


def _fine_columns(fine: Any) -> dict[str, Any]:
    return {name: getattr(fine, name) for name in ("rule", "amount", "effective_from", "created_by")}


@bp.get("/citations/<citation_id>")
@documented("One citation with its audit trail", CitationOut, errors=(401, 403, 404))
def get_citation(district: str, citation_id: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    return jsonify(_citation_out(db, place, citation_id))


@bp.post("/citations/<citation_id>/void")
@documented("Void a citation, with a reason", CitationOut, body=ReasonIn, errors=(400, 401, 403, 404, 409))
def void(district: str, citation_id: str) -> Response:
    """Only a citation that is issued or appealed (not paid or upheld) can be voided."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        staff = require_staff(db, place)
        body = ReasonIn().load(json_body())
        change_citation_status(
            db, place, citation_id, VOIDED, clock_now(), by=staff.name, reason=body["reason"]
        )
    return jsonify(_citation_out(db, place, citation_id))


@bp.post("/citations/<citation_id>/appeal")
@documented(
    "Appeal a citation, with a reason (anyone who holds its id, as with paying by plate)",
    CitationOut,
    body=ReasonIn,
    auth=None,
    errors=(400, 404, 409),
)
def appeal(district: str, citation_id: str) -> Response:
    """A citation that is issued can be appealed once; the bureau decides the appeal."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        body = ReasonIn().load(json_body())
        change_citation_status(
            db, place, citation_id, APPEALED, clock_now(), by="appellant", reason=body["reason"]
        )
    return jsonify(_citation_out(db, place, citation_id))


@bp.post("/citations/<citation_id>/decision")
@documented(
    "Decide an appeal: upheld (the fine stands) or voided, with a reason",
    CitationOut,
    body=AppealDecisionIn,
    errors=(400, 401, 403, 404, 409),
)
def decide_appeal(district: str, citation_id: str) -> Response:
    with writing(get_db()) as db:
        place = get_district(db, district)
        staff = require_staff(db, place)
        body = AppealDecisionIn().load(json_body())
        decide_appealed(
            db, place, citation_id, body["outcome"], clock_now(), by=staff.name, reason=body["reason"]
        )
    return jsonify(_citation_out(db, place, citation_id))


def _citation_out(db: Any, place: District, citation_id: str) -> dict[str, Any]:
    citation: Citation = find_citation(db, place, citation_id)
    out: dict[str, Any] = CitationOut().dump(citation)
    out["rule"] = violation_rule(db, citation)
    out["history"] = CitationOut().dump({"history": citation_history(db, citation)})["history"]
    return out
