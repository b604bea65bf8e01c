"""Staff decisions on drivers' plate claims (docs/PRIVACY.md, "Linking a plate"): the
admin or the bureau list the district's claims and approve or refuse them. Approving links
the plate to the claimant from now on and ends another account's link to it.

The HTTP shell of GET /api/v1/<district>/plate-claims,
POST /api/v1/<district>/plate-claims/<claim_id>/approve,
POST /api/v1/<district>/plate-claims/<claim_id>/refuse: each view parses, calls the domain,
writes the answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from api.auth import clock_now, require_staff
from api.database import get_db
from api.openapi import documented
from api.v1.schemas.identity import PlateClaimList, PlateClaimOut, PlateClaimQuery
from billing.models import PlateClaim
from billing.plate_links import claimant_of, decide_claim, list_claims
from parking.inventory import get_district
from parking.unit_of_work import writing

bp = Blueprint("plate_claims", __name__, url_prefix="/api/v1/<district>/plate-claims")


@bp.get("")
@documented(
    "Drivers' claims to link a plate (admin, bureau), oldest first",
    PlateClaimList,
    query=PlateClaimQuery,
    errors=(400, 401, 403, 404),
)
def list_all(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    status = PlateClaimQuery().load(request.args)["status"]
    claims = [
        _claim_out(claim, email, elsewhere) for claim, email, elsewhere in list_claims(db, place, status)
    ]
    return jsonify(PlateClaimList().dump({"claims": claims}))


@bp.post("/<claim_id>/approve")
@documented(
    "Approve a claim: the plate is the claimant's from now; another account's link ends",
    PlateClaimOut,
    errors=(401, 403, 404, 409),
)
def approve(district: str, claim_id: str) -> Response:
    return _decide(district, claim_id, approve=True)


@bp.post("/<claim_id>/refuse")
@documented("Refuse a claim", PlateClaimOut, errors=(401, 403, 404, 409))
def refuse(district: str, claim_id: str) -> Response:
    return _decide(district, claim_id, approve=False)


def _decide(district: str, claim_id: str, *, approve: bool) -> Response:
    """409 `claim_decided` for a claim that is not pending any more."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        staff = require_staff(db, place)
        claim = decide_claim(db, place, claim_id, approve, staff.name, clock_now())
    email, elsewhere = claimant_of(db, claim)
    return jsonify(PlateClaimOut().dump(_claim_out(claim, email, elsewhere)))


def _claim_out(claim: PlateClaim, email: str, linked_elsewhere: bool) -> dict[str, Any]:
    return {
        "uuid": claim.uuid,
        "plate": claim.plate,
        "email": email,
        "status": claim.status,
        "proof": claim.proof,
        "evidence": claim.evidence,
        "linked_elsewhere": linked_elsewhere,
        "created_at": claim.created_at,
        "decided_at": claim.decided_at,
        "decided_by": claim.decided_by,
    }
