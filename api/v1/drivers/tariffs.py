"""Billing endpoints: tariffs (published by staff, read by anyone) and quotes.

The HTTP shell of GET /api/v1/<district>/quote, GET /api/v1/<district>/tariffs,
POST /api/v1/<district>/tariffs: each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, jsonify, request

from api.auth import clock_now, require_staff
from api.database import get_db
from api.errors import ApiError, json_body
from api.openapi import documented
from api.v1.schemas.billing import QuoteOut, QuoteQuery, TariffIn, TariffList, TariffOut
from billing.tariffs import TariffBook, publish_tariff, tariff_versions
from parking.errors import N_, Message
from parking.inventory import get_district
from parking.road_search import find_road
from parking.unit_of_work import writing

bp = Blueprint("billing", __name__, url_prefix="/api/v1/<district>")


@bp.get("/tariffs")
@documented("Every version of the district's tariffs", TariffList, auth=None, errors=(404,))
def list_tariffs(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    return jsonify(TariffList().dump({"tariffs": tariff_versions(db, place)}))


@bp.post("/tariffs")
@documented(
    "Publish a new version of a tariff",
    TariffOut,
    body=TariffIn,
    errors=(400, 401, 403, 404, 409),
    status=201,
)
def create_tariff(district: str) -> tuple[Response, int]:
    """A new version of tariff `code`, in force from `effective_from` (not in the past, and
    after the current version's start). The document is checked whole: gaps and overlaps
    between bands, and rates CDS cannot express, are refused with every problem listed."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        require_staff(db, place)
        body = TariffIn().load(json_body())
        version = publish_tariff(
            db, place, body["code"], body["document"], body["effective_from"], clock_now()
        )
    return jsonify(TariffOut().dump(version)), 201


@bp.get("/quote")
@documented("Price a planned stay on a road", QuoteOut, query=QuoteQuery, auth=None, errors=(400, 404))
def quote(district: str) -> Response:
    """What a stay of `minutes` from `arrival` on `road` would cost, by the tariff version in
    force at arrival, with the breakdown; and whether it would break the maximum stay."""
    db = get_db()
    place = get_district(db, district)
    args = QuoteQuery().load(request.args)
    road = find_road(db, place, args["road"])
    version, tariff = TariffBook.load(db, place).current(road.tariff_code, args["arrival"])
    vehicle_class = args.get("vehicle_class")
    if vehicle_class is not None and vehicle_class not in tariff.vehicle_classes:
        known = ", ".join(sorted(tariff.vehicle_classes)) or "none"
        raise ApiError(
            400,
            "unknown_vehicle_class",
            Message(N_("vehicle classes of this tariff: %(classes)s"), {"classes": known}),
            ["vehicle_class"],
        )
    departure = args["arrival"] + timedelta(minutes=args["minutes"])
    fee = tariff.price(args["arrival"], departure, vehicle_class)
    restriction = tariff.restriction_at(args["arrival"])
    body = {
        "road": road.uuid,
        "road_name": road.name,
        "arrival": args["arrival"],
        "departure": departure,
        "minutes": args["minutes"],
        "amount": fee.amount,
        "currency": place.currency,
        "band_at_arrival": tariff.band_at(args["arrival"]),
        "max_stay_minutes": tariff.max_stay_minutes,
        "exceeds_max_stay": tariff.max_stay_minutes is not None and args["minutes"] > tariff.max_stay_minutes,
        "restriction_at_arrival": restriction.name if restriction else None,
        "breakdown": {"tariff": version.code, "version": version.version, **fee.breakdown()},
    }
    return jsonify(QuoteOut().dump(body))
