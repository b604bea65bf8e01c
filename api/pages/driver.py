"""The driver's page (`/drive/<district>`): free bays around me on a map drawn from the road
outlines, a road's bays, tariff and forecast, paying a plate without an account, and my stays
once signed in. It loads nothing from another host but Stripe.js (its card form) and, when
the district has them, its map tiles; the CSP allows exactly those origins: Stripe's for
scripts, frames and requests, the tiles' for images (`driver_policy`)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for

from api.database import get_db
from api.pages.handheld import PAGE_POLICY
from api.v1.drivers.card_payments import StripeJs, stripe_js
from parking.inventory import district_centre, get_district
from parking.map_tiles import TileSource, tile_source

bp = Blueprint("pages_driver", __name__)


@bp.get("/drive/<district>")
def driver_page(district: str) -> Response:
    """Starts at the centre of the district's roads until the driver shares a location."""
    db = get_db()
    place = get_district(db, district)
    centre = district_centre(db, place.id)
    api_base = url_for("vacancy.vacancy", district=place.slug).removesuffix("/vacancy")
    stripe = stripe_js()
    tiles = tile_source(place)
    html = render_template(
        "driver.html",
        district=place,
        centre=centre,
        api_base=api_base,
        zones_url=url_for("cds_curbs.zones", district=place.slug),
        drivers_base=url_for("drivers.me").removesuffix("/me"),
        card_setups_url=url_for("card_payments.create_card_setup", district=place.slug),
        stripe=stripe,
        map_config={
            "tiles": None
            if tiles is None
            else {"url": tiles.url, "attribution": tiles.attribution, "crs": tiles.crs}
        },
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = driver_policy(stripe, tiles)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


def driver_policy(stripe: StripeJs, tiles: TileSource | None = None) -> str:
    """The pages' policy, plus Stripe.js: its script, its frames (card fields, 3-D Secure) and
    the provider API it calls; plus the district's tile server for images, when it has one;
    nothing else from another host."""
    policy = PAGE_POLICY.replace("script-src 'self'", f"script-src 'self' {stripe.script_origin}")
    policy = policy.replace("connect-src 'self'", f"connect-src 'self' {stripe.connect_origin}")
    if tiles is not None:
        policy = policy.replace("img-src 'self'", f"img-src 'self' {tiles.origin()}")
    return policy + f"; frame-src {stripe.frame_origin}"
