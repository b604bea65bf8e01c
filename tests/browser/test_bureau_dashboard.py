"""The bureau dashboard in a real Chromium against a live site with two simulated days of
traffic (28 February and 1 March 2026, priced): sign in with a username and password (a wrong
one, or a role that may not read reports, is told so), it opens on the last complete day, the
charts load, changing the period
changes the figures, the CSV and XLSX downloads open, and the monthly PDF reads right."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from billing.tariffs import price_ended_stays
from fixtures.demo import DEMO_NAME, DEMO_TIME_ZONE
from fixtures.simulator import sim_bays, simulate_day
from parking.inventory import get_district
from parking.models import Bay, Road
from sensors.models import Device
from tests.browser.conftest import STAFF_PASSWORD, LiveSite

DAYS = (date(2026, 2, 28), date(2026, 3, 1))
STAYS_PER_DAY = 300
# A report and its four charts (matplotlib, drawn on the server) take seconds on a busy machine.
READY_MS = 30_000
CHARTS = ("hourly-occupancy", "occupancy-series", "revenue", "road-map")


@pytest.fixture(scope="module")
def history(live_site: LiveSite) -> str:
    """Two simulated days pushed by the demo devices, stakes before terminals (a POS payment
    then meets its stay), then priced as the nightly job would. The bureau's token."""
    with live_site.session() as db:
        spaces = {
            name: (space, zone)
            for name, space, zone in db.execute(
                select(Bay.name, Bay.uuid, Road.uuid).join(Road, Road.id == Bay.road_id)
            )
        }
        devices = {
            name: (uuid, kind)
            for name, uuid, kind in db.execute(select(Device.name, Device.uuid, Device.kind))
        }
    names = {uuid: name for name, (uuid, _) in devices.items()}
    bays = sim_bays(spaces, {name: uuid for name, (uuid, _) in devices.items()})
    for seed, day in enumerate(DAYS, start=1):
        start = datetime.combine(day, time(), ZoneInfo(DEMO_TIME_ZONE))
        by_device: dict[str, list[dict[str, Any]]] = {}
        for event in simulate_day(bays, start, seed, STAYS_PER_DAY):
            by_device.setdefault(names[event["data_source_device_id"]], []).append(event)
        for name in sorted(by_device, key=lambda n: devices[n][1] == "handheld_pos"):
            for first in range(0, len(by_device[name]), 1000):
                live_site.push(name, by_device[name][first : first + 1000])
    with live_site.session() as db:
        price_ended_stays(db, get_district(db, live_site.slug), live_site.clock.now())
    return live_site.staff_token("bureau", "bureau analyst")


def report(site: LiveSite, token: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{site.url}/api/v1/{site.slug}/reports/summary?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


@pytest.fixture(scope="module")
def analyst(live_site: LiveSite) -> str:
    """A bureau analyst's username (password STAFF_PASSWORD)."""
    return live_site.staff_account("Bureau Analyst", "bureau")


def sign_in(page: Page, site: LiveSite, username: str, password: str = STAFF_PASSWORD) -> None:
    page.goto(f"/bureau/{site.slug}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def signed_in(page: Page, site: LiveSite, username: str) -> None:
    sign_in(page, site, username)
    expect(page.locator("#who")).to_have_text("Signed in as Bureau Analyst (bureau)")
    expect(page.locator("#dashboard")).to_have_attribute("data-state", "ready", timeout=READY_MS)


def show(page: Page, period: str, start: str) -> None:
    page.locator("#start").fill(start)
    page.locator("#period").select_option(period)
    expect(page.locator("#dashboard")).to_have_attribute(
        "data-query", f"place_type=district&period={period}&start={start}", timeout=READY_MS
    )
    expect(page.locator("#dashboard")).to_have_attribute("data-state", "ready", timeout=READY_MS)


def figure(page: Page, label: str, column: int = 1) -> str:
    return page.locator("#figures tbody tr").filter(has_text=label).locator("td").nth(column - 1).inner_text()


def test_signed_in_bureau_sees_the_charts_as_svg(
    browser_page: Page, live_site: LiveSite, history: str, analyst: str
) -> None:
    page = browser_page
    signed_in(page, live_site, analyst)
    show(page, "day", "2026-03-01")
    for name in CHARTS:
        chart = page.locator(f"#chart-{name}")
        expect(chart).to_have_attribute("data-type", "image/svg+xml")
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    answer = page.request.get(
        f"/api/v1/{live_site.slug}/reports/charts/hourly-occupancy.svg?period=day&start=2026-03-01",
        headers={"Authorization": f"Bearer {history}"},
    )
    assert answer.ok and answer.headers["content-type"] == "image/svg+xml"
    svg = answer.text()
    assert "<svg" in svg and 'id="bar-current-9"' in svg
    expect(page.locator('#problems [data-ranking="highest_occupancy"] li')).to_have_count(5)


def test_changing_the_period_changes_the_figures(
    browser_page: Page, live_site: LiveSite, history: str, analyst: str
) -> None:
    page = browser_page
    signed_in(page, live_site, analyst)
    show(page, "day", "2026-03-01")
    day = report(live_site, history, "period=day&start=2026-03-01")
    assert figure(page, "Stays started") == str(day["current"]["stays"]["count"])
    assert figure(page, "Stays started", 2) == str(day["previous"]["stays"]["count"])
    show(page, "month", "2026-03-01")
    month = report(live_site, history, "period=month&start=2026-03-01")
    assert month["previous"]["stays"]["count"] == day["previous"]["stays"]["count"]  # Feb: only the 28th
    assert figure(page, "Stays started", 2) == str(month["previous"]["stays"]["count"])
    expect(page.locator("#period-title")).to_contain_text("2026-03-01 – 2026-03-31")
    assert "2026-02-01 – 2026-02-28" in page.locator("#period-title").inner_text()


def test_csv_and_xlsx_download_and_open(
    browser_page: Page, live_site: LiveSite, history: str, analyst: str
) -> None:
    page = browser_page
    signed_in(page, live_site, analyst)
    show(page, "day", "2026-03-01")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").click()
    assert csv_download.value.suggested_filename == f"report-{live_site.slug}-district-day-2026-03-01.csv"
    rows = list(csv.reader(io.StringIO(csv_download.value.path().read_text(encoding="utf-8"))))
    assert rows[0] == ["about"] and ["summary"] in rows
    stays = next(row for row in rows if row[:1] == ["stays_count"])
    day = report(live_site, history, "period=day&start=2026-03-01")
    assert stays[2:] == [str(day["current"]["stays"]["count"]), str(day["previous"]["stays"]["count"])]
    with page.expect_download() as xlsx_download:
        page.get_by_role("button", name="Download XLSX").click()
    book = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()), read_only=True)
    assert book.sheetnames[:3] == ["about", "summary", "occupancy_series"]
    assert "devices" in book.sheetnames
    book.close()


def test_the_monthly_pdf_downloads_with_its_figures(
    browser_page: Page, live_site: LiveSite, history: str, analyst: str
) -> None:
    page = browser_page
    signed_in(page, live_site, analyst)
    show(page, "month", "2026-03-01")
    with page.expect_download() as download:
        page.get_by_role("button", name="Monthly PDF").click()
    assert download.value.suggested_filename == f"report-{live_site.slug}-2026-03.pdf"
    data = download.value.path().read_bytes()
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    text = "\n".join(p.extract_text() for p in reader.pages)
    month = report(live_site, history, "period=month&start=2026-03-01")
    assert DEMO_NAME in text
    assert f"Stays started {month['current']['stays']['count']} {month['previous']['stays']['count']}" in text
    assert f"Page 1/{len(reader.pages)}" in text


def test_a_wrong_password_and_a_role_without_reports_are_told_so_on_the_page(
    browser_page: Page, live_site: LiveSite
) -> None:
    page = browser_page
    warden = live_site.staff_account("Street Warden", "warden")
    sign_in(page, live_site, warden, "not the password")
    error = page.locator("#sign-in-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("bad_credentials: the username or the password is wrong")
    expect(page.locator("#dashboard")).to_be_hidden()
    sign_in(page, live_site, warden)
    expect(error).to_have_text(
        "forbidden: the warden role may not read reports; sign in as bureau, admin or city"
    )
    expect(page.locator("#dashboard")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_the_dashboard_opens_on_the_last_complete_day(
    browser_page: Page, live_site: LiveSite, history: str, analyst: str
) -> None:
    page = browser_page
    signed_in(page, live_site, analyst)
    today = live_site.clock.now().astimezone(ZoneInfo(DEMO_TIME_ZONE)).date()
    expect(page.locator("#start")).to_have_value((today - timedelta(days=1)).isoformat())
    day = report(live_site, history, f"period=day&start={(today - timedelta(days=1)).isoformat()}")
    assert figure(page, "Stays started") == str(day["current"]["stays"]["count"])
