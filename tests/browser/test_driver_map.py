"""The driver's map as a phone shows it (390x844): Leaflet, served by the app, drawing the
roads around the driver with their names, coloured by free bays, and the driver's position.
With no tiles (the default, and the offline demo) it needs nothing but the app; with a
district's tiles it loads them from their server, and on GCJ-02 tiles it shifts what it draws
(positions stay WGS84). The page's GCJ-02 function agrees with the server's."""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from parking.gcj02 import wgs84_to_gcj02
from parking.inventory import get_district
from parking.map_tiles import clear_district_tiles, set_district_tiles
from tests.browser.conftest import LiveSite, PageRecord
from tests.browser.test_languages import english_words

PHONE = {"width": 390, "height": 844}
CREDIT = "© 测试瓦片 <b>tiles</b>"
# Points in China (Guiyang, Beijing, Shanghai, Urumqi, Harbin, Sanya) and outside it (Melbourne,
# Denver, London), and the edges of the box where GCJ-02 applies.
POINTS = [
    (26.5783, 106.7135), (26.6470, 106.6302), (39.911954, 116.377817), (31.1774276, 121.5272106),
    (43.8256, 87.6168), (45.8038, 126.5350), (18.2528, 109.5119), (22.543847, 113.912316),
    (-37.8136, 144.9631), (39.7392, -104.9903), (51.5072, -0.1276), (0.8293, 72.004), (55.8271, 137.8347),
]  # fmt: skip


def png(red: int, green: int, blue: int) -> bytes:
    """A one-pixel PNG of one colour (the map stretches it over the tile)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes([0, red, green, blue])))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A tile server on 127.0.0.1 answering every tile with a pale green PNG: (its base URL,
    the paths it was asked for)."""
    asked: list[str] = []
    tile = png(214, 232, 206)

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, name="tiles", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def phone_page(browser: Browser, site: LiveSite, path: str, record: PageRecord) -> Page:
    """A phone (390x844, touch) asking for no language the site has, so the district decides."""
    context = browser.new_context(
        viewport=PHONE,
        base_url=site.url,
        has_touch=True,
        is_mobile=True,
        service_workers="block",
        locale="fr-FR",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("request", lambda request: record.requests.append(request.url))
    page.on("pageerror", lambda error: record.errors.append(str(error)))
    page.on("console", record.console)
    page.goto(path)
    expect(page.locator("#road-list li.road-item").first).to_be_visible()
    return page


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_centre(page: Page) -> tuple[float, float]:
    data = page.evaluate(
        "() => [Number(document.body.dataset.centreLat), Number(document.body.dataset.centreLng)]"
    )
    return data[0], data[1]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_map_names_every_road_in_reach_on_a_plain_background_from_the_app_alone(
    browser: Browser, live_site: LiveSite, language: str
) -> None:
    record = PageRecord()
    path = f"/drive/{live_site.slug}" + ("?lang=en" if language == "en" else "")
    page = phone_page(browser, live_site, path, record)

    expect(page.locator("#map.leaflet-container.plain")).to_be_visible()
    names = page.locator("#road-list .road-item .name").all_inner_texts()
    streets = {name.split("（")[0] for name in names}  # 同心路（尖山路至艳山红路）西侧: 同心路
    labels = page.locator("#map .road-label")
    expect(labels).to_have_count(len(streets))
    assert set(labels.all_inner_texts()) == streets and all(
        street.endswith(("路", "道")) for street in streets
    )
    for label in labels.all():
        expect(label).to_be_in_viewport()
    for item in page.locator("#road-list .road-item").all():
        road, state = item.get_attribute("data-road-id"), item.get_attribute("data-availability")
        expect(page.locator(f"#map path.road[data-road-id='{road}']").first).to_have_attribute(
            "data-availability", state or ""
        )
    expect(page.locator("#map path.me")).to_have_count(1)
    expect(page.locator("#map .leaflet-tile")).to_have_count(0)
    expect(page.locator("#road-list")).to_be_visible()  # the list is still there, under the map
    page.wait_for_timeout(300)  # let the fitted view settle before the picture
    page.screenshot(path=f"/tmp/map-{language}.png")

    if language == "zh":
        expect(page.locator(".leaflet-control-zoom-in")).to_have_attribute("title", "放大")
        assert english_words(page) == [], ", ".join(english_words(page))
    stripe_js = page.evaluate("() => document.querySelector('script[src*=\"js.stripe.com\"]').src")
    foreign = [url for url in record.requests if origin(url) != live_site.url and url != stripe_js]
    assert foreign == [], "the map asked something of another origin"
    assert any("/static/vendor/leaflet/leaflet.js" in url for url in record.requests)
    assert record.errors == []
    page.context.close()


def test_the_map_zooms_and_pans_by_touch_on_a_phone(browser: Browser, live_site: LiveSite) -> None:
    record = PageRecord()
    page = phone_page(browser, live_site, f"/drive/{live_site.slug}", record)
    reach = page.locator("#map path.reach")
    box = page.locator("#map").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = reach.bounding_box()
    touch = page.context.new_cdp_session(page)  # real touch input, as a finger gives it

    def fingers(kind: str, *points: tuple[float, float]) -> None:
        touch.send(
            "Input.dispatchTouchEvent",
            {"type": kind, "touchPoints": [{"x": px, "y": py} for px, py in points]},
        )

    fingers("touchStart", (x - 30, y), (x + 30, y))  # pinch out: two fingers apart
    for step in range(1, 11):
        fingers("touchMove", (x - 30 - 8 * step, y), (x + 30 + 8 * step, y))
    fingers("touchEnd")
    page.wait_for_timeout(600)
    zoomed = reach.bounding_box()
    assert before and zoomed and zoomed["width"] > before["width"] * 1.5, "pinched in"

    fingers("touchStart", (x, y))  # one finger drags the map
    for step in range(1, 11):
        fingers("touchMove", (x + 8 * step, y + 6 * step))
    fingers("touchEnd")
    page.wait_for_timeout(600)
    moved = reach.bounding_box()
    assert moved and abs(moved["x"] - zoomed["x"] - 80) < 10 and abs(moved["y"] - zoomed["y"] - 60) < 10, (
        "panned"
    )
    assert record.errors == []
    page.context.close()


def test_the_pages_gcj02_shift_agrees_with_the_servers_within_a_millionth_of_a_degree(
    browser: Browser, live_site: LiveSite
) -> None:
    record = PageRecord()
    page = phone_page(browser, live_site, f"/drive/{live_site.slug}", record)
    shifted = page.evaluate("(points) => points.map(([lat, lng]) => wgs84ToGcj02(lat, lng))", POINTS)
    for point, (lat, lng) in zip(POINTS, shifted, strict=True):
        expected = wgs84_to_gcj02(*point)
        assert abs(lat - expected[0]) < 1e-6 and abs(lng - expected[1]) < 1e-6, point
    assert shifted[0] != list(POINTS[0]) and shifted[8] == list(POINTS[8])
    page.context.close()


@pytest.mark.parametrize("crs", ["gcj02", "wgs84"])
def test_a_district_with_tiles_loads_them_from_its_server_and_shifts_what_it_draws_onto_gcj02(
    browser: Browser, live_site: LiveSite, tile_server: tuple[str, list[str]], crs: str
) -> None:
    base, asked = tile_server
    with live_site.session() as db:
        set_district_tiles(get_district(db, live_site.slug), f"{base}/{{z}}/{{x}}/{{y}}.png", crs, CREDIT)
    try:
        record = PageRecord()
        page = phone_page(browser, live_site, f"/drive/{live_site.slug}", record)
        expect(page.locator("#map .leaflet-tile-loaded").first).to_be_visible()
        credit = page.locator("#map .leaflet-control-attribution")
        expect(credit).to_have_text(CREDIT)  # as text: the operator's markup is not the page's
        expect(credit.locator("b")).to_have_count(0)
        assert asked and all(path.endswith(".png") and path.count("/") == 3 for path in asked)
        lat, lng = page_centre(page)
        shown = page.evaluate("() => driverMap.shownPosition()")
        expected = wgs84_to_gcj02(lat, lng) if crs == "gcj02" else (lat, lng)
        assert shown == pytest.approx(expected, abs=1e-9)
        if crs == "gcj02":
            assert abs(shown[0] - lat) > 1e-3 and abs(shown[1] - lng) > 1e-3, "shifted, a few hundred metres"
            page.screenshot(path="/tmp/map-tiles-gcj02.png")
        assert {origin(url) for url in record.requests if url.endswith(".png") and "/static/" not in url} == {
            base
        }
        assert record.errors == [], "no request refused by the page's policy"
        page.context.close()
    finally:
        with live_site.session() as db:
            clear_district_tiles(get_district(db, live_site.slug))
