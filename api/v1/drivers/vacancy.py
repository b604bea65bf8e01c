"""The HTTP shell of the driver's vacancy use cases (`sensors.vacancy`): GET
/api/v1/<district>/vacancy, /roads/<road>/bays and /forecast. Each view parses its query,
calls one service with the rows' source (the per-process cache, api/v1/drivers/vacancy_cache.py)
and the district's tariffs worded in the request's language, and writes the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from api.auth import clock_now
from api.database import get_db
from api.openapi import documented
from api.place_args import Near, one_place
from api.v1.drivers.vacancy_cache import Place, tariff_versions, vacancy_reads
from api.v1.drivers.vacancy_cache import district as cached_district
from api.v1.schemas.vacancy import (
    ForecastOut,
    ForecastQuery,
    RoadBaysOut,
    VacancyOut,
    VacancyQuery,
    day_ahead,
    tariff_line,
)
from billing.holidays import district_holidays
from billing.tariff import Tariff
from billing.tariffs import tariff_version, version_in_force
from parking.inventory import get_district
from parking.models import District
from sensors.vacancy import (
    SearchArea,
    TariffNow,
    find_road,
    forecast_for_road,
    road_bays_now,
    vacancy_near,
)

bp = Blueprint("vacancy", __name__, url_prefix="/api/v1/<district>")

_QUERY = VacancyQuery()  # a schema keeps no state between loads


@bp.get("/vacancy")
@documented(
    "Free bays near a point or in a box", VacancyOut, query=VacancyQuery, auth=None, errors=(400, 404)
)
def vacancy(district: str) -> Response:
    """Roads nearest first (to the point, or to the box's centre), each with free, occupied and
    unknown bays, the age of its newest report, its tariff now and its free bays."""
    db = get_db()
    place = cached_district(db, district)
    where = one_place(request.args, current_app.config["MAX_RADIUS_M"])  # before the schema: its codes
    area = (
        SearchArea.near(where.lat, where.lng, where.radius_m)
        if isinstance(where, Near)
        else SearchArea.in_box(where)
    )
    limit = _QUERY.load(request.args)["limit"]
    now = clock_now()
    reads = vacancy_reads(db, place.id, now)
    body = vacancy_near(reads, _TariffsNow(db, place, now), place.slug, area, limit, now, _stale_minutes())
    # Built as VacancyOut describes it and encoded by orjson: marshmallow's dump of a few
    # hundred bays took longer than the queries.
    return Response(orjson.dumps(body), mimetype="application/json")


@bp.get("/roads/<road>/bays")
@documented("A road's bays: free, occupied or unknown", RoadBaysOut, auth=None, errors=(404,))
def road_bays(district: str, road: str) -> Response:
    """Every bay of one road with its state, and the road's tariff now."""
    db = get_db()
    place = get_district(db, district)
    found = find_road(db, place.id, place.slug, road)
    now = clock_now()
    reads = vacancy_reads(db, place.id, now)
    body = road_bays_now(reads, _TariffsNow(db, place, now), found, now, _stale_minutes())
    return jsonify(RoadBaysOut().dump(body))


@bp.get("/forecast")
@documented(
    "The chance a road has a free bay at arrival",
    ForecastOut,
    query=ForecastQuery,
    auth=None,
    errors=(400, 404),
)
def forecast(district: str) -> Response:
    """From the road's own history by day class and 15-minute slot (see docs/FORECAST.md):
    the probability that at least one bay is free `in` minutes from now, or `at` a time.
    Up to CURRENT_HORIZON ahead (`in` only), the road's bays now are carried forward too."""
    db = get_db()
    place = get_district(db, district)
    args = ForecastQuery().load(request.args)
    found = find_road(db, place.id, place.slug, args["road"])
    now = clock_now()
    body = forecast_for_road(
        db,
        vacancy_reads(db, place.id, now),
        found,
        now,
        place.time_zone,
        district_holidays(db, place.id),
        _stale_minutes(),
        at=args.get("at"),
        in_minutes=args.get("in_minutes"),
    )
    return jsonify(ForecastOut().dump(body))


class _TariffsNow:
    """`sensors.vacancy.TariffsNow`: the district's tariffs in force at one moment, by code,
    worded in the request's language. Reads only the versions' keys (cached per process); a
    version's compiled tariff is cached by `billing.tariffs.compiled` (versions never change)."""

    def __init__(self, db: Session, place: District | Place, now: datetime) -> None:
        self._db, self._place, self._now = db, place, now
        self._versions = tariff_versions(db, place.id)
        self._found: dict[str, TariffNow] = {}

    def of(self, code: str) -> TariffNow:
        found = self._found.get(code)
        if found is None:
            found = self._found[code] = self._describe(code)
        return found

    def day_ahead(self, code: str) -> dict[str, Any]:
        return day_ahead(self._tariff(code), self._now, self._place.currency)

    def _tariff(self, code: str) -> Tariff | None:
        uuid = version_in_force(self._versions.get(code, []), self._now)
        return tariff_version(self._db, uuid, self._place.time_zone) if uuid is not None else None

    def _describe(self, code: str) -> TariffNow:
        tariff = self._tariff(code)
        if tariff is None:
            return TariffNow(None, None, None)
        restriction = tariff.restriction_at(self._now)
        return TariffNow(
            tariff_line(tariff, self._now, self._place.currency),
            tariff.max_stay_minutes,
            restriction.name if restriction else None,
        )


def _stale_minutes() -> int:
    return int(current_app.config["VACANCY_STALE_MINUTES"])
