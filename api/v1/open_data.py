"""Open data, public and without a token: road-level hourly occupancy of a day, blurred
(parking/open_data.py, docs/OPEN_DATA.md), with the tariff in force; and the tariffs in plain
words. Not under /api/v1; errors are problem+json like every non-CDS path.

The HTTP shell of GET /open/<district>/occupancy, GET /open/<district>/tariffs: each view
parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from api.auth import clock_now
from api.cds.metrics import csv_lines
from api.database import get_db
from api.v1.schemas.pricing import OpenOccupancyQuery
from billing.tariff import Tariff
from billing.tariff_document import hhmm
from billing.tariff_parts import DAY_TYPES
from billing.tariffs import TariffBook
from parking.inventory import get_district
from parking.models import District, Road
from parking.open_data import BlurRule, RoadHour
from reports import open_data as open_reports
from reports.open_data import RoadDay, ShownTariff, band_rate_at, rate_per_minute
from sensors.watch import unwatched_of

bp = Blueprint("open_data", __name__, url_prefix="/open/<district>")

CSV_COLUMNS = (
    "date",
    "hour",
    "road_id",
    "road_name",
    "occupancy_percent",
    "status",
    "tariff_code",
    "tariff_version",
    "band",
    "rate_per_minute",
)


@bp.get("/occupancy")
def occupancy(district: str) -> Response:
    """Each road's hourly occupancy on `date` (default yesterday, local), JSON or
    `?format=csv`; hours appear once over for the publication delay."""
    db = get_db()
    place = get_district(db, district)
    args = OpenOccupancyQuery().load(request.args)
    day = open_day(place, args.get("date"))
    found = road_day(db, place, day)
    if args["format"] == "csv":
        rows = _csv_rows(found.roads, found.rows, found.book, day)
        return Response(csv_lines(CSV_COLUMNS, rows), mimetype="text/csv")
    body = {
        "district": place.slug,
        "date": day.isoformat(),
        "time_zone": place.time_zone,
        "currency": place.currency,
        "rules": _rules_body(found.rule),
        "roads": [
            _road_body(road, found.by_road().get(road.uuid, []), found.book, found.start)
            for road in found.roads
        ],
    }
    return jsonify(body)


def open_day(place: District, asked: date | None) -> date:
    """The local day asked for (default yesterday, `reports.open_data.open_day`)."""
    return open_reports.open_day(place.time_zone, asked, clock_now())


def road_day(db: Session, place: District, day: date) -> RoadDay:
    """The published road-hours of `day` with this app's blurring rule."""
    return open_reports.road_day(db, place, day, unwatched_of(db, place.id), blur_rule(), clock_now())


def tariffs_shown(db: Session, place: District) -> list[ShownTariff]:
    return open_reports.tariffs_shown(db, place, clock_now())


@bp.get("/tariffs")
def tariffs(district: str) -> Response:
    """Each tariff in force now (and any version already published for later), in plain
    terms, with the roads it prices."""
    db = get_db()
    place = get_district(db, district)
    out = [
        {
            "code": shown.code,
            "roads": shown.roads,
            "versions": [_version_body(v.version, v.effective_from, tariff) for v, tariff in shown.versions],
        }
        for shown in tariffs_shown(db, place)
    ]
    return jsonify(
        {"district": place.slug, "currency": place.currency, "time_zone": place.time_zone, "tariffs": out}
    )


def blur_rule() -> BlurRule:
    config = current_app.config
    return BlurRule(
        min_stays=int(config["OPEN_DATA_MIN_STAYS"]),
        round_to=int(config["OPEN_DATA_ROUND_PERCENT"]),
        delay=timedelta(minutes=int(config["OPEN_DATA_DELAY_MINUTES"])),
    )


def _rules_body(rule: BlurRule) -> dict[str, Any]:
    return {
        "min_stays_per_road_hour": rule.min_stays,
        "occupancy_rounded_to_percent": rule.round_to,
        "delay_minutes": int(rule.delay.total_seconds() // 60),
    }


def _road_body(road: Road, rows: list[RoadHour], book: TariffBook, day_start: datetime) -> dict[str, Any]:
    found = book.in_force(road.tariff_code, day_start)
    tariff = None
    if found is not None:
        tariff = {"code": found[0].code, **_version_body(found[0].version, found[0].effective_from, found[1])}
    return {
        "road_id": road.uuid,
        "road_name": road.name,
        "tariff": tariff,
        "hours": [
            {
                "hour": r.hour.hour,
                "start": r.hour.start.isoformat(),
                "occupancy_percent": r.occupancy_percent,
                "status": r.status,
            }
            for r in rows
        ],
    }


def _version_body(version: int, effective_from: datetime, tariff: Tariff) -> dict[str, Any]:
    return {
        "version": version,
        "effective_from": effective_from.isoformat(),
        "name": tariff.name,
        "free_minutes": tariff.free_ms // 60_000,
        "max_stay_minutes": tariff.max_stay_minutes,
        "cap_per_day": tariff.cap_per_day,
        "cap_per_stay": tariff.cap_per_stay,
        "bands": [
            {
                "name": band.name,
                "days": _days(band.days),
                "windows": [[hhmm(a), hhmm(b)] for a, b in band.windows],
                "tiers": [
                    {
                        "until_minute": None if t.until_ms is None else t.until_ms // 60_000,
                        "increment_minutes": t.increment_minutes,
                        "amount": t.amount,
                        "rate_per_minute": rate_per_minute(t),
                    }
                    for t in band.tiers
                ],
            }
            for band in tariff.bands
        ],
        "vehicle_classes": {name: {"percent": c.percent} for name, c in tariff.vehicle_classes.items()},
        "restrictions": [
            {
                "name": r.name,
                "activity": r.activity,
                "days": _days(r.days),
                "windows": [[hhmm(a), hhmm(b)] for a, b in r.windows],
            }
            for r in tariff.restrictions
        ],
    }


def _csv_rows(roads: list[Road], rows: list[RoadHour], book: TariffBook, day: date) -> Any:
    names = {road.uuid: road for road in roads}
    for row in rows:
        road = names[row.road_uuid]
        found = book.in_force(road.tariff_code, row.hour.start)
        code: str = ""
        version: int | str = ""
        band: str = ""
        rate: int | str = ""
        if found is not None:
            version_row, tariff = found
            band, rate = band_rate_at(tariff, row.hour.start)
            code, version = version_row.code, version_row.version
        yield (
            day.isoformat(),
            row.hour.hour,
            road.uuid,
            road.name,
            "" if row.occupancy_percent is None else row.occupancy_percent,
            row.status,
            code,
            version,
            band,
            rate,
        )


def _days(days: frozenset[str]) -> list[str]:
    return [d for d in DAY_TYPES if d in days]
