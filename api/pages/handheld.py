"""Pages for people at the curb: the warden's handheld (`/handheld/<district>`).

A page is a template plus plain JS and CSS under `api/pages/static/`; it talks to the native API
with the bearer token the user pastes in. Nothing is loaded from another host: the
Content-Security-Policy says so, and the browser tests check it.

The HTTP shell of GET /handheld/<district>, GET /handheld/<district>/bays.json,
GET /handheld/sw.js: each view parses, calls the domain, writes the answer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for
from sqlalchemy import select

from api.database import get_db
from parking.inventory import get_district
from parking.models import Bay, Road
from sensors.models import HANDHELD_POS, Device, device_road

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
    worker = url_for("pages.handheld_worker")
    html = render_template("handheld.html", district=place, api_base=api_base, worker=worker)
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
        select(Bay.uuid, Bay.name, Road.name, Bay.lat, Bay.lng, Bay.road_id)
        .join(Road, Road.id == Bay.road_id)
        .where(Bay.district_id == place.id)
        .order_by(Bay.road_id, Bay.space_number)
    )
    pos = _pos_of_roads(db, place.id)
    bays = [
        {"id": i, "name": n, "road": r, "lat": lat, "lng": lng, "pos": pos.get(road_id)}
        for i, n, r, lat, lng, road_id in rows
    ]
    response = jsonify({"district": place.slug, "bays": bays})
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _pos_of_roads(db: Any, district_id: int) -> dict[int, str]:
    """The handheld POS whose beat holds each road (the first by name): registrations by
    hand go through the intake as that terminal."""
    rows = db.execute(
        select(device_road.c.road_id, Device.uuid)
        .join(Device, Device.id == device_road.c.device_id)
        .where(Device.district_id == district_id, Device.kind == HANDHELD_POS)
        .order_by(Device.name.desc())
    )
    return {road_id: uuid for road_id, uuid in rows}


# The scripts and styles handheld.html loads (static paths): the shell the service worker keeps.
SHELL_FILES = (
    "handheld/handheld.css",
    "i18n/i18n.js",
    "shared/api.js",
    "handheld/api.js",
    "handheld/handheld.js",
    "handheld/queue.js",
    "handheld/fieldwork.js",
)


@bp.get("/handheld/sw.js")
def handheld_worker() -> Response:
    """The handheld's service worker, served at /handheld/ so that it may control every
    district's handheld page (it keeps the page's shell for opening it offline). It starts
    with the shell's files and their digest: a changed file is a changed worker, which the
    browser installs, caching that version's files afresh."""
    static = Path(current_app.static_folder or "")
    worker = (static / "handheld" / "sw.js").read_bytes()
    digest = hashlib.sha256(worker)
    for name in SHELL_FILES:
        digest.update((static / name).read_bytes())
    assets = [url_for("static", filename=name) for name in SHELL_FILES]
    head = f"const SHELL_VERSION = {json.dumps(digest.hexdigest()[:16])};\n"
    head += f"const SHELL_ASSETS = {json.dumps(assets)};\n"
    response = Response(head.encode() + worker, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/handheld/"
    response.headers["Cache-Control"] = "no-cache"
    return response
