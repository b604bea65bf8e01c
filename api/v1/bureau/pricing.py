"""Pricing advice endpoints: SFpark-style advice per road and band, its what-if replay, and
publishing it as tariff versions (the rule is docs/PRICING.md, the code billing/pricing_advice.py).

The HTTP shell of GET /api/v1/<district>/pricing/advice,
POST /api/v1/<district>/pricing/advice/publish, GET /api/v1/<district>/pricing/advice/what-if:
each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from api.auth import clock_now, require_staff
from api.database import get_db
from api.errors import ApiError
from api.openapi import documented
from api.v1.schemas.pricing import AdviceOut, AdviceQuery, PublishIn, PublishOut, WhatIfOut
from billing.pricing_advice import PricingRule, RoadAdvice, publish_advice
from billing.pricing_month import advice_for_month, what_if
from billing.tariff_document import hhmm
from parking.inventory import get_district
from parking.models import District
from parking.unit_of_work import writing
from sensors.watch import unwatched_of

bp = Blueprint("pricing", __name__, url_prefix="/api/v1/<district>/pricing")

ASSUMPTION = (
    "Demand is unchanged: the month's actual stays (same roads, times and vehicle classes) are "
    "re-priced by the advised tariff. The figures show revenue at unchanged demand, not a "
    "prediction of occupancy or revenue after the change."
)


@bp.get("/advice")
@documented(
    "Demand-responsive pricing advice per road and band",
    AdviceOut,
    query=AdviceQuery,
    errors=(400, 401, 403, 404),
)
def get_advice(district: str) -> Response:
    """For each road and each band of its tariff in force now, the month's mean occupancy and
    the advised per-minute rate: one step up at 80 % or more, down below 60 %, at most once
    in 30 days, within the configured bounds."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    month, advice = _advice(db, place, AdviceQuery().load(request.args).get("month"))
    body = {
        "district": place.slug,
        "month": month,
        "time_zone": place.time_zone,
        "currency": place.currency,
        "rule": _rule_body(pricing_rule()),
        "roads": [_road_body(a) for a in advice],
    }
    return jsonify(AdviceOut().dump(body))


@bp.get("/advice/what-if")
@documented(
    "Last month's stays re-priced by the advised tariff",
    WhatIfOut,
    query=AdviceQuery,
    errors=(400, 401, 403, 404),
)
def get_what_if(district: str) -> Response:
    """Revenue per road of the month's priced stays at the current and the advised tariff,
    assuming unchanged demand (see `assumption` in the answer)."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    month, advice = _advice(db, place, AdviceQuery().load(request.args).get("month"))
    found = what_if(db, place, month, advice)
    body = {
        "district": place.slug,
        "month": month,
        "currency": place.currency,
        "assumption": ASSUMPTION,
        "roads": found.roads,
        "total": found.total,
    }
    return jsonify(WhatIfOut().dump(body))


@bp.post("/advice/publish")
@documented(
    "Publish the advice as tariff versions with an effective date",
    PublishOut,
    body=PublishIn,
    errors=(400, 401, 403, 404, 409),
    status=201,
)
def publish(district: str) -> tuple[Response, int]:
    """New tariff versions in force from `effective_from` for the advised roads (all, or
    `roads`): one version of a shared code when all its roads get the same advice, else a
    code of the road's own (docs/PRICING.md)."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        require_staff(db, place)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json", "the request body must be a JSON object")
        args = PublishIn().load(body)
        month, advice = _advice(db, place, args.get("month"))
        published = publish_advice(db, place, advice, args["effective_from"], clock_now(), args.get("roads"))
    answer = {
        "effective_from": args["effective_from"],
        "month": month,
        "published": [
            {
                "road": p.road.uuid,
                "road_name": p.road.name,
                "tariff_code": p.version.code,
                "version": p.version.version,
                "tariff_version_id": p.version.uuid,
                "forked_from": p.forked_from,
            }
            for p in published
        ],
    }
    return jsonify(PublishOut().dump(answer)), 201


# -- helpers ----------------------------------------------------------------------------------


def pricing_rule() -> PricingRule:
    config = current_app.config
    return PricingRule(
        min_per_minute=int(config["PRICING_MIN_PER_MINUTE"]),
        max_per_minute=int(config["PRICING_MAX_PER_MINUTE"]),
        step_percent=int(config["PRICING_STEP_PERCENT"]),
        raise_at=float(config["PRICING_RAISE_AT_PERCENT"]),
        lower_below=float(config["PRICING_LOWER_BELOW_PERCENT"]),
        hold=timedelta(days=int(config["PRICING_HOLD_DAYS"])),
    )


def _advice(db: Session, place: District, month: str | None) -> tuple[str, list[RoadAdvice]]:
    return advice_for_month(db, place, month, unwatched_of(db, place.id), pricing_rule(), clock_now())


def _rule_body(rule: PricingRule) -> dict[str, Any]:
    return {
        "min_per_minute": rule.min_per_minute,
        "max_per_minute": rule.max_per_minute,
        "step_percent": rule.step_percent,
        "raise_at_percent": rule.raise_at,
        "lower_below_percent": rule.lower_below,
        "hold_days": rule.hold.days,
    }


def _road_body(advice: RoadAdvice) -> dict[str, Any]:
    return {
        "road": advice.road.uuid,
        "road_name": advice.road.name,
        "tariff_code": advice.road.tariff_code,
        "tariff_version": advice.version.version,
        "held_until": advice.held_until,
        "changes": advice.changes,
        "bands": [
            {
                "band": b.band,
                "days": list(b.days),
                "windows": [[hhmm(a), hhmm(z)] for a, z in b.windows],
                "occupancy_percent": b.occupancy_percent,
                "hours_measured": b.hours_measured,
                "current_rate": b.current_rate,
                "advised_rate": b.advised_rate,
                "current_rates": list(b.current_rates),
                "advised_rates": list(b.advised_rates),
                "action": b.action,
                "reason": b.reason,
            }
            for b in advice.bands
        ],
    }
