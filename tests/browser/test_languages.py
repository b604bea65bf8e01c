"""The three pages as a person in Guiyang sees them: Chinese by the district's default with
no English label left (a walk over the visible text), English on request (kept in a cookie).
Screenshots of each (phone size for the driver and handheld, desktop for the dashboard) are
saved under the test's tmp dir."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import select

from billing.tariffs import price_ended_stays
from enforcement.citations import issue_citation
from enforcement.disputes import Contest, open_dispute
from enforcement.models import Violation
from parking.inventory import get_district
from parking.models import Stay
from tests.browser.conftest import STAFF_PASSWORD, LiveSite, stake_of

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Visible words with lower-case Latin letters are English labels, except these: the switch to
# English names itself in English.
ALLOWED = {"English"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[a-z][A-Za-z'’]*")

VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest("script,style,[hidden]")) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === "hidden" || style.display === "none" || box.width === 0 || box.height === 0) continue;
    out.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll("input[placeholder], [aria-label], img[alt]")) {
    if (el.closest("[hidden]")) continue;
    out.push(el.getAttribute("placeholder") || el.getAttribute("aria-label") || el.getAttribute("alt"));
  }
  out.push(document.title);
  return out;
}"""


def english_words(page: Page, data: tuple[str, ...] = ()) -> list[str]:
    """Words of English left in what the page shows; `data` (such as the signed-in person's
    name) is the users' own text, not a label."""
    texts: list[str] = page.evaluate(VISIBLE_TEXT)
    for name in data:
        texts = [text.replace(name, "") for text in texts if text]
    return sorted({w for text in texts for w in _WORD.findall(text or "")} - ALLOWED)


def keep_chart(route: Route, charts: list[str]) -> None:
    """Passes a chart through to the page, keeping the SVG it drew."""
    answer = route.fetch()
    charts.append(answer.text())
    route.fulfill(response=answer)


def chart_words(charts: list[str]) -> list[str]:
    """English words the dashboard's charts draw (titles, axes, legends): matplotlib draws
    text as paths, each run after a comment holding it."""
    texts = [t.strip() for svg in charts for t in re.findall(r"<!-- (.*?) -->", svg, re.S)]
    assert texts, "the charts draw text"
    return sorted({w for text in texts for w in _WORD.findall(text)})


def open_page(
    browser: Browser, site: LiveSite, path: str, viewport: dict[str, int], language: str | None
) -> Page:
    """A fresh context (no cookie). `language` None: a browser asking for a language the
    system has no catalogue for (French), so the district's default decides."""
    context = browser.new_context(
        viewport=viewport, base_url=site.url, service_workers="block", locale=language or "fr-FR"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(path)
    return page


def sign_in(page: Page, username: str) -> None:
    page.locator("#username").fill(username)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("#sign-in-form button[type=submit]").click()


def save(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_driver_page_speaks_the_districts_language_or_english_on_request(
    browser: Browser, live_site: LiveSite, tmp_path: Path, language: str
) -> None:
    path = f"/drive/{live_site.slug}" + ("?lang=en" if language == "en" else "")
    page = open_page(browser, live_site, path, PHONE, None)
    expect(page.locator("#road-list li").first).to_be_visible()
    save(page, tmp_path, f"driver-{language}")

    if language == "zh":
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        expect(page.locator("#tabs")).to_contain_text("找泊位")
        assert english_words(page) == [], ", ".join(english_words(page))
    else:
        expect(page.locator("#tabs")).to_contain_text("Find a bay")
        page.goto(f"/drive/{live_site.slug}")  # the choice is kept
        expect(page.locator("#tabs")).to_contain_text("Find a bay")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_handheld_speaks_the_districts_language_or_english_on_request(
    browser: Browser, live_site: LiveSite, tmp_path: Path, language: str
) -> None:
    username = live_site.staff_account(f"Handheld Warden {language}", "warden")
    path = f"/handheld/{live_site.slug}" + ("?lang=en" if language == "en" else "")
    page = open_page(browser, live_site, path, PHONE, None)
    sign_in(page, username)
    expect(page.locator("#whoami")).to_be_visible()
    save(page, tmp_path, f"handheld-{language}")

    if language == "zh":
        expect(page.locator("#whoami")).to_contain_text("巡查员")
        left = english_words(page, (f"Handheld Warden {language}",))
        assert left == [], ", ".join(left)
    else:
        expect(page.locator("#whoami")).to_contain_text("Signed in as")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_bureau_dashboard_speaks_the_districts_language_or_english_on_request(
    browser: Browser, live_site: LiveSite, tmp_path: Path, language: str
) -> None:
    username = live_site.staff_account(f"Dashboard Analyst {language}", "bureau")
    path = f"/bureau/{live_site.slug}" + ("?lang=en" if language == "en" else "")
    page = open_page(browser, live_site, path, DESKTOP, None)
    charts: list[str] = []
    page.route("**/reports/charts/**", lambda route: keep_chart(route, charts))
    sign_in(page, username)
    expect(page.locator("#dashboard")).to_have_attribute("data-state", "ready", timeout=60_000)
    save(page, tmp_path, f"bureau-{language}")

    if language == "zh":
        expect(page.locator("#figures")).to_contain_text("平均占用率")
        left = english_words(page, (f"Dashboard Analyst {language}",))
        assert left == [], ", ".join(left)
        in_charts = chart_words(charts)
        assert in_charts == [], ", ".join(in_charts)
    else:
        expect(page.locator("#figures")).to_contain_text("Mean occupancy")
    page.context.close()


def test_an_attendants_registration_screen_and_upload_queue_read_chinese(
    browser: Browser, live_site: LiveSite, tmp_path: Path
) -> None:
    now, bay = live_site.clock.now(), "BY-05-030"
    live_site.push(
        stake_of(bay), [live_site.camera_event(bay, "park_start", now - timedelta(minutes=5), "贵A56565")]
    )
    username = live_site.staff_account("Attendant Zh", "attendant")
    page = open_page(browser, live_site, f"/handheld/{live_site.slug}", PHONE, None)
    sign_in(page, username)
    page.locator('#tabs button[data-screen="register"]').click()
    expect(page.get_by_role("heading", name="泊位登记")).to_be_visible()
    page.locator("#register-bay").fill(bay)
    page.get_by_label("更正车牌").check()
    page.locator("#register-plate").fill("贵A56566")
    page.get_by_role("button", name="确认登记", exact=True).click()

    warning = page.locator("#pending-list li.warning")
    expect(warning).to_contain_text("已上传，但视频桩在该泊位识别到 贵A56565，置信度 95%。")
    expect(warning.locator(".status")).to_have_text("请核实")
    save(page, tmp_path, "handheld-register-zh")
    left = english_words(page, ("Attendant Zh",))
    assert left == [], ", ".join(left)
    page.context.close()


@pytest.mark.parametrize(("role", "screen"), [("city", "street"), ("bureau", "disputes")])
def test_the_street_report_and_dispute_screens_read_chinese(
    browser: Browser, live_site: LiveSite, tmp_path: Path, role: str, screen: str
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A80777", "BY-09-012"
    if screen == "disputes":  # one open dispute of a priced stay's fee for the bureau's queue
        live_site.push(
            stake_of(bay),
            [
                live_site.camera_event(bay, "park_start", now - timedelta(hours=3), plate),
                live_site.camera_event(bay, "park_end", now - timedelta(hours=1), plate),
            ],
        )
        with live_site.session() as db:
            place = get_district(db, live_site.slug)
            price_ended_stays(db, place, now)
            stay = db.scalars(select(Stay).where(Stay.plate == plate)).one()
            open_dispute(db, place, Contest(plate, "我提前一小时离开", stay=stay.uuid), now)
            db.commit()
    name = f"Field {role.title()}"
    username = live_site.staff_account(name, role)
    page = open_page(browser, live_site, f"/handheld/{live_site.slug}", PHONE, None)
    sign_in(page, username)
    expect(page.locator("#whoami")).to_be_visible()
    page.locator(f'#tabs button[data-screen="{screen}"]').click()
    expect(page.locator(f"#screen-{screen}")).to_be_visible()
    if screen == "disputes":
        expect(page.locator("#dispute-list li").first).to_contain_text("申诉金额")
    else:
        expect(page.locator("#street-kind")).to_contain_text("占道经营")
    save(page, tmp_path, f"handheld-{screen}-zh")
    left = english_words(page, (name,))
    assert left == [], ", ".join(left)
    page.context.close()


def test_a_plates_stays_and_citations_with_their_dispute_buttons_read_chinese_on_the_driver_page(
    browser: Browser, live_site: LiveSite, tmp_path: Path
) -> None:
    now, plate, bay_name = live_site.clock.now(), "贵A80888", "BY-09-014"
    live_site.push(
        stake_of(bay_name),
        [
            live_site.camera_event(bay_name, "park_start", now - timedelta(hours=3), plate),
            live_site.camera_event(bay_name, "park_end", now - timedelta(hours=1), plate),
        ],
    )
    bay = live_site.bay(bay_name)
    with live_site.session() as db:
        place = get_district(db, live_site.slug)
        price_ended_stays(db, place, now)
        violation = Violation(
            district_id=place.id, rule="overstay", stay_id=1, bay_id=bay.id, road_id=bay.road_id,
            plate=plate, stay_started_at=now - timedelta(hours=3), started_at=now - timedelta(hours=2),
            detected_at=now - timedelta(hours=2), evidence={},
        )  # fmt: skip
        db.add(violation)
        db.flush()
        issue_citation(db, place, violation.uuid, "Demo warden", now)
        db.commit()
    page = open_page(browser, live_site, f"/drive/{live_site.slug}", PHONE, None)
    page.locator('#tabs button[data-screen="pay"]').click()
    page.locator("#plate").fill(plate)
    page.locator("#plate-form button[type=submit]").click()
    expect(page.locator("#unpaid-list li.citation")).to_contain_text("罚单：超时停车")
    page.locator("#unpaid-list li.stay").first.get_by_role("button", name="申诉", exact=True).click()
    expect(page.get_by_label("申诉理由？").first).to_be_visible()
    save(page, tmp_path, "driver-citation-zh")
    left = english_words(page)
    assert left == [], ", ".join(left)
    page.context.close()


def test_a_chinese_browser_gets_chinese_even_after_nothing_was_chosen(
    browser: Browser, live_site: LiveSite
) -> None:
    page = open_page(browser, live_site, f"/drive/{live_site.slug}", PHONE, "zh-CN")

    expect(page.locator("#tabs")).to_contain_text("按车牌缴费")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_open_data_page_speaks_the_districts_language_or_english_on_request(
    browser: Browser, live_site: LiveSite, tmp_path: Path, language: str
) -> None:
    path = f"/open/{live_site.slug}" + ("?lang=en" if language == "en" else "")
    page = open_page(browser, live_site, path, PHONE, None)
    expect(page.locator("#occupancy")).to_be_visible()
    save(page, tmp_path, f"open-data-{language}")

    if language == "zh":
        expect(page.locator("h1")).to_contain_text("各路段占用情况")
        left = english_words(page)
        assert left == [], ", ".join(left)
    else:
        expect(page.locator("h1")).to_contain_text("How full the roads were on")
    page.context.close()
