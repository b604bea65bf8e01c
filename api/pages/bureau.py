"""The transport bureau's dashboard (`/bureau/<district>`): the report of a place over a day,
week or month beside the period before, its charts (SVG drawn on the server by
`reports.charts`), the top problem roads, CSV and XLSX exports and the monthly PDF.

The page itself is public and holds no figures: it reads them from `/api/v1/<d>/reports/...`
with the token of a staff account signed in on the page (admin, bureau or city). Like every page, it loads
nothing from another host (see `api.pages.handheld`).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, url_for
from sqlalchemy import select

from api.auth import clock_now
from api.database import get_db
from api.pages.handheld import PAGE_POLICY
from parking.inventory import get_district
from parking.models import Area, Road

bp = Blueprint("pages_bureau", __name__)


@bp.get("/bureau/<district>")
def bureau_page(district: str) -> Response:
    """Opens on the last complete local day (today's figures fill in only hour by hour); the
    place picker lists the district's areas and roads."""
    db = get_db()
    place = get_district(db, district)
    areas = db.execute(select(Area.uuid, Area.name).where(Area.district_id == place.id).order_by(Area.name))
    roads = db.execute(select(Road.uuid, Road.name).where(Road.district_id == place.id).order_by(Road.name))
    today = clock_now().astimezone(ZoneInfo(place.time_zone)).date()
    html = render_template(
        "bureau.html",
        district=place,
        today=today.isoformat(),
        last_complete_day=(today - timedelta(days=1)).isoformat(),
        areas=list(areas),
        roads=list(roads),
        reports_base=url_for("reports.summary", district=place.slug).removesuffix("/summary"),
        staff_base=url_for("staff_auth.sign_in", district=place.slug).removesuffix("/sign-in"),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response
