"""Open data, public and without a token: road-level hourly occupancy of a day, blurred
(parking/open_data.py, docs/OPEN_DATA.md), with the tariff in force; and the tariffs in plain
words. Not under /api/v1; errors are problem+json like every non-CDS path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import clock_now
from api.cds.metrics import csv_lines
from api.database import get_db
from api.errors import ApiError
from api.v1.schemas.pricing import OpenOccupancyQuery
from billing.models import TariffVersion
from billing.tariff import Tariff
from billing.tariff_document import hhmm
from billing.tariff_parts import DAY_TYPES
from billing.tariffs import TariffBook
from parking.errors import N_, Message
from parking.inventory import get_district
from parking.metrics import local_hours
from parking.metrics_queries import load_bays, load_stays
from parking.models import District, Road
from parking.open_data import BlurRule, RoadHour, published_hours, road_hours
from sensors.watch import unwatched_of

bp = Blueprint("open_data", __name__, url_prefix="/open/<district>")
EARLIEST_DAY = date(2000, 1, 1)  # events are taken from 2000 on (sensors/cds.py)

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


@dataclass(frozen=True)
class RoadDay:
    """A day of open data: the district's roads, their published road-hours, the tariffs."""

    roads: list[Road]
    rows: list[RoadHour]
    book: TariffBook
    start: datetime
    rule: BlurRule

    def by_road(self) -> dict[str, list[RoadHour]]:
        out: dict[str, list[RoadHour]] = {}
        for row in self.rows:
            out.setdefault(row.road_uuid, []).append(row)
        return out


def open_day(place: District, asked: date | None) -> date:
    """The local day asked for (default yesterday): 400 before open data starts or when it
    has not begun."""
    zone = ZoneInfo(place.time_zone)
    today = clock_now().astimezone(zone).date()
    day = asked or today - timedelta(days=1)
    if day > today:
        message = Message(
            N_("%(day)s has not begun in %(zone)s"), {"day": day.isoformat(), "zone": place.time_zone}
        )
        raise ApiError(400, "date_in_future", message, ["date"])
    if day < EARLIEST_DAY:  # nothing was recorded before; year 1 cannot even be turned into UTC
        message = Message(N_("open data starts on %(day)s"), {"day": EARLIEST_DAY.isoformat()})
        raise ApiError(400, "date_out_of_range", message, ["date"])
    return day


def road_day(db: Session, place: District, day: date) -> RoadDay:
    """The published road-hours of `day` (blurred: parking/open_data.py) and what prices them."""
    now, zone, rule = clock_now(), ZoneInfo(place.time_zone), blur_rule()
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    hours = published_hours(local_hours(start, end, zone), now, rule)
    bays = load_bays(db, place.id)
    rows: list[RoadHour] = []
    if hours:
        window = (hours[0].start, hours[-1].end)
        stays = list(load_stays(db, place.id, *window))
        rows = road_hours(bays, hours, stays, unwatched_of(db, place.id)(bays, window), now, rule)
    roads = list(db.scalars(select(Road).where(Road.district_id == place.id).order_by(Road.name)))
    return RoadDay(roads, rows, TariffBook.load(db, place), start, rule)


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


@dataclass(frozen=True)
class ShownTariff:
    code: str
    roads: list[str]
    versions: list[tuple[TariffVersion, Tariff]]


def tariffs_shown(db: Session, place: District) -> list[ShownTariff]:
    """Each tariff code with the names of the roads it prices, its version in force now and
    any version already published for later."""
    now = clock_now()
    book = TariffBook.load(db, place)
    roads: dict[str, list[str]] = {}
    for road in db.scalars(select(Road).where(Road.district_id == place.id).order_by(Road.name)):
        roads.setdefault(road.tariff_code, []).append(road.name)
    out = []
    for code, versions in sorted(book.versions.items()):
        current = book.in_force(code, now)
        later = [v for v in versions if v.effective_from > now]
        shown = ([current[0]] if current else []) + later
        if shown:
            pairs = [(v, Tariff(v.document, place.time_zone)) for v in shown]
            out.append(ShownTariff(code, roads.get(code, []), pairs))
    return out


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
                        "rate_per_minute": t.amount // t.increment_minutes,
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
            band_name = tariff.band_at(row.hour.start)
            first = next(b for b in tariff.bands if b.name == band_name).tiers[0]
            code, version, band, rate = (
                version_row.code,
                version_row.version,
                band_name,
                first.amount // first.increment_minutes,
            )
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
