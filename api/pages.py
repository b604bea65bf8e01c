"""Pages for people at the curb: the warden's handheld (`/handheld/<district>`).

A page is a template plus plain JS and CSS under `api/static/`; it talks to the native API
with the bearer token the user pastes in. Nothing is loaded from another host: the
Content-Security-Policy says so, and the browser tests check it.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, url_for
from sqlalchemy import select

from api.database import get_db
from parking.inventory import get_district
from parking.models import Bay, Road

bp = Blueprint("pages", __name__)

# Same-origin only; images may be local previews (blob:) of the photo about to be sent.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' blob: data:; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@bp.get("/handheld/<district>")
def handheld(district: str) -> Response:
    """The warden's handheld: sign in, tasks nearest first, plate checks, resolving tasks."""
    place = get_district(get_db(), district)
    api_base = url_for("warden.get_me", district=place.slug).removesuffix("/staff/me")
    html = render_template("handheld.html", district=place, api_base=api_base)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/handheld/<district>/bays.json")
def bay_directory(district: str) -> Response:
    """Every bay's name, id, road and place, so the handheld can turn "I'm at bay BY-01-001"
    into a position and a plate check's `bay`. Public, like the CDS curb spaces it mirrors;
    the page keeps a copy for when the network drops."""
    db = get_db()
    place = get_district(db, district)
    rows = db.execute(
        select(Bay.uuid, Bay.name, Road.name, Bay.lat, Bay.lng)
        .join(Road, Road.id == Bay.road_id)
        .where(Bay.district_id == place.id)
        .order_by(Bay.road_id, Bay.space_number)
    )
    bays = [{"id": i, "name": n, "road": r, "lat": lat, "lng": lng} for i, n, r, lat, lng in rows]
    response = jsonify({"district": place.slug, "bays": bays})
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
