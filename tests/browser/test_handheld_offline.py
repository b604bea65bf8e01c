"""The handheld opens without a network (issue 15): its service worker keeps the page's shell,
so an attendant whose tab is reloaded offline still gets the page, signed in, and can record
work that waits in the queue until the network returns. In a real Chromium whose context lets
service workers run (the other browser tests block them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from sensors.models import CurbEvent
from tests.browser.conftest import PHONE, LiveSite, PageRecord
from tests.browser.test_fieldwork import record
from tests.browser.test_handheld import account, open_handheld, sign_in


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def worker_context(browser: Browser, live_site: LiveSite) -> Iterator[BrowserContext]:
    """A phone-sized context where service workers may register (127.0.0.1 is a secure context)."""
    context = browser.new_context(
        viewport=PHONE, base_url=live_site.url, has_touch=True, is_mobile=True,
        service_workers="allow", locale="en-GB",
    )  # fmt: skip
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def worker_page(worker_context: BrowserContext, page_record: PageRecord) -> Iterator[Page]:
    page = worker_context.new_page()
    page.on("request", lambda request: page_record.requests.append(request.url))
    page.on("pageerror", lambda error: page_record.errors.append(str(error)))
    page.on("console", page_record.console)
    yield page
    assert page_record.foreign_requests() == [], "the page reached beyond 127.0.0.1"
    assert page_record.errors == [], "the page logged errors"


def kept_urls(page: Page) -> list[str]:
    """What the worker's caches hold, as paths."""
    return sorted(
        page.evaluate(
            """async () => {
                const urls = [];
                for (const name of await caches.keys()) {
                  for (const request of await (await caches.open(name)).keys()) {
                    urls.push(new URL(request.url).pathname);
                  }
                }
                return urls;
            }"""
        )
    )


def test_a_handheld_reloaded_offline_opens_from_the_service_worker_and_still_queues_work(
    worker_page: Page, live_site: LiveSite
) -> None:
    page = worker_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Zhao Lei", "attendant"))
    expect(page.locator("#whoami")).to_have_text("Signed in as Zhao Lei (attendant)")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    slug = live_site.slug
    assert {
        f"/handheld/{slug}",
        f"/handheld/{slug}/bays.json",
        "/static/handheld/queue.js",
        "/static/i18n/i18n.js",
    } <= set(kept_urls(page))

    page.context.set_offline(True)
    reloaded = page.reload()

    assert reloaded is not None and reloaded.from_service_worker
    expect(page.locator("#net")).to_have_text("offline")
    expect(page.locator("#whoami")).to_have_text("Signed in as Zhao Lei (attendant)")
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_role("heading", name="Register at a bay")).to_be_visible()
    record(page, "BY-07-001", "Arrival", "贵A70001")
    expect(page.locator("#pending-summary")).to_have_text("1 action waits for the network.")

    page.context.set_offline(False)
    expect(page.locator("#pending-summary")).to_have_text("Nothing waiting: every action is uploaded.")
    with live_site.session() as db:
        arrivals = [
            (e.event_type, e.plate)
            for e in db.scalars(select(CurbEvent).where(CurbEvent.data_source_type == "in_person"))
        ]
    assert arrivals == [("park_start", "贵A70001")]  # uploaded once
