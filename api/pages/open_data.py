"""The open data as a page people read (`/open/<district>`): each road's occupancy hour by
hour on a day (blurred exactly as the feed, docs/OPEN_DATA.md), the tariffs in plain words,
and links to the JSON and CSV. Public, no script, in the request's language (docs/I18N.md);
road and tariff names are the operator's data and are shown as they are."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date
from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext

from api.database import get_db
from api.i18n import locale_name
from api.v1.open_data import open_day, road_day, tariffs_shown
from api.v1.schemas.pricing import OpenDayQuery
from api.v1.schemas.vacancy import band_line
from billing.tariff import Tariff
from billing.tariff_document import hhmm
from billing.tariff_parts import DAY_TYPES, RESTRICTION_WORDS
from parking.errors import N_
from parking.inventory import get_district
from parking.open_data import OFFLINE_STATUS, SUPPRESSED, RoadHour
from reports.open_data import ShownTariff

bp = Blueprint("pages_open_data", __name__)

POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_DAYS = {
    "mon": N_("Mon"),
    "tue": N_("Tue"),
    "wed": N_("Wed"),
    "thu": N_("Thu"),
    "fri": N_("Fri"),
    "sat": N_("Sat"),
    "sun": N_("Sun"),
    "holiday": N_("public holidays"),
}
STATUS_WORDS = {
    SUPPRESSED: N_("too few stays to publish"),
    OFFLINE_STATUS: N_("sensors offline"),
}


@bp.get("/open/<district>")
def open_data_page(district: str) -> Response:
    """The day asked for with `?date=` (default yesterday, local), like the feed."""
    db = get_db()
    place = get_district(db, district)
    day = open_day(place, OpenDayQuery().load(request.args).get("date"))
    found = road_day(db, place, day)
    by_road = found.by_road()
    html = render_template(
        "open_data.html",
        district=place,
        day=day.isoformat(),
        day_text=_day(day),
        rule=found.rule,
        delay_minutes=int(found.rule.delay.total_seconds() // 60),
        hours=range(24),
        roads=[(road.name, _cells(by_road.get(road.uuid, []))) for road in found.roads],
        tariffs=[_tariff(shown, place.currency) for shown in tariffs_shown(db, place)],
        links={
            "occupancy_json": url_for("open_data.occupancy", district=place.slug, date=day.isoformat()),
            "occupancy_csv": url_for(
                "open_data.occupancy", district=place.slug, date=day.isoformat(), format="csv"
            ),
            "tariffs_json": url_for("open_data.tariffs", district=place.slug),
        },
        status_words={status: gettext(text) for status, text in STATUS_WORDS.items()},
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _cells(rows: list[RoadHour]) -> dict[int, tuple[str, str]]:
    """(shown, status) by local hour; an hour not yet published is left out."""
    return {
        r.hour.hour: ("–" if r.occupancy_percent is None else f"{r.occupancy_percent:g}", r.status)
        for r in rows
    }


def _tariff(shown: ShownTariff, currency: str) -> dict[str, Any]:
    return {
        "name": shown.versions[0][1].name,
        "roads": gettext(", ").join(shown.roads),
        "versions": [
            {"from": _day(version.effective_from.date()), **_terms(tariff, currency)}
            for version, tariff in shown.versions
        ],
    }


def _terms(tariff: Tariff, currency: str) -> dict[str, Any]:
    return {
        "max_stay": tariff.max_stay_minutes,
        "bands": [
            (_when(band.days, band.windows), band_line(tariff, band, currency)) for band in tariff.bands
        ],
        "restrictions": [
            (_when(r.days, r.windows), gettext(RESTRICTION_WORDS.get(r.activity, r.activity)))
            for r in tariff.restrictions
        ],
    }


def _day(day: date) -> str:
    return format_date(day, "long", locale=locale_name())


def _when(days: frozenset[str], windows: tuple[tuple[int, int], ...]) -> str:
    """`Mon, Tue, Wed 08:00–20:00` in the request's language."""
    named = gettext(", ").join(gettext(_DAYS[d]) for d in DAY_TYPES if d in days)
    return f"{named} {' '.join(f'{hhmm(a)}–{hhmm(b)}' for a, b in windows)}"
