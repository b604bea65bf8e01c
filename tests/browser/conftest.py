"""Browser tests: the pages in a real headless Chromium (the system one, /usr/bin/chromium)
driven by Playwright, against a real server on 127.0.0.1.

Each test module gets its own server and its own SQLite file database, migrated and seeded
with the demo district; the server's clock is a FixedClock at TEST_NOW that the tests may
move. The browser tests use that SQLite file in the PostgreSQL run (`--postgres`) too: what
they test is the page in a real browser, the database is covered by the other suites.

Fixtures for page tests:
- `live_site`: the server (`url`, `slug`, `clock`), a `session()` to seed the database with,
  `staff_token(role, name)`, `staff_account(name, role)` (signs in with STAFF_PASSWORD), `bay(name)`, `camera_event(bay_name, event_type, at, plate)`
  and `push(device_name, events)` (over HTTP, with the demo device tokens; `stake_of(bay)`
  names the stake watching a bay). Tests of a module share the site: seed your own plates
  and bays, and put the clock back if you move it.
- `staff_token`: `live_site.staff_token` as a fixture.
- `live_site_config`: extra app settings for the module's site (default none); a module that
  pays by card overrides it with `{"STRIPE_API_BASE": localstripe}`, `localstripe` being a
  real localstripe on 127.0.0.1 for the module.
- `browser`: one Chromium per module (skipped when there is none, failed when `CI` is set).
- `browser_page`: a fresh phone-sized page (360×640) per test; it fails the test when the
  page throws a JavaScript error or requests anything from a host other than 127.0.0.1.
  `page_record` holds what it requested, for tests to check.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from api import create_app
from api.database import make_engine
from api.migrations import upgrade
from fixtures.demo import DEMO_SLUG, demo_layout, demo_token, seed_demo
from fixtures.localstripe import running_localstripe
from identity.passwords import hash_password
from identity.staff import create_account, issue_staff_token
from parking.clock import FixedClock, to_ms
from parking.inventory import get_district
from parking.models import Bay
from sensors.models import Device
from tests.conftest import TEST_NOW

CHROMIUM = Path(os.environ.get("PARKING_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: ViewportSize = {"width": 360, "height": 640}
LOCAL_HOSTS = {"127.0.0.1"}
STAFF_PASSWORD = "staff password for the browser tests"


@dataclass
class LiveSite:
    """A running app on 127.0.0.1 with the demo district, and ways to seed it."""

    url: str
    slug: str
    clock: FixedClock
    engine: Engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the server's database; committed when the block ends without error."""
        with Session(self.engine) as db:
            yield db
            db.commit()

    def staff_token(self, role: str = "warden", name: str = "warden one") -> str:
        with self.session() as db:
            district = get_district(db, self.slug)
            return issue_staff_token(db, district, role, name, self.clock.now())[1]

    def staff_account(self, name: str, role: str = "warden", password: str = STAFF_PASSWORD) -> str:
        """A staff account that signs in with `password`; its username (the name, lower case,
        spaces as dots)."""
        username = name.lower().replace(" ", ".")
        with self.session() as db:
            district = get_district(db, self.slug)
            create_account(
                db, district, username, password, name, role, self.clock.now(), hash_password=hash_password
            )
        return username

    def bay(self, name: str) -> Bay:
        with self.session() as db:
            district = get_district(db, self.slug)
            found = db.scalars(select(Bay).where(Bay.district_id == district.id, Bay.name == name)).one()
            db.expunge(found)
            return found

    def camera_event(self, bay_name: str, event_type: str, at: datetime, plate: str) -> dict[str, Any]:
        """A CDS event from the demo stake that watches the bay, reading `plate`."""
        with self.session() as db:
            device = db.scalars(select(Device.uuid).where(Device.name == stake_of(bay_name))).one()
        return {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "event_time": to_ms(at),
            "event_publication_time": to_ms(at),
            "curb_space_id": self.bay(bay_name).uuid,
            "data_source_type": "camera",
            "data_source_device_id": device,
            "vehicle_license_plate": plate,
            "vehicle_license_plate_confidence": 95,
        }

    def push(self, device_name: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Push CDS events as the demo device would (its published demo token)."""
        request = urllib.request.Request(
            f"{self.url}/cds/{self.slug}/events/event",
            data=json.dumps(events).encode(),
            headers={
                "Authorization": f"Bearer {demo_token(device_name)}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        with direct.open(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
        assert answer["failures"] == [], answer
        return answer


def stake_of(bay_name: str) -> str:
    """The name of the demo stake that watches a bay."""
    return next(s.name for s in demo_layout().stakes if bay_name in s.bay_names)


@pytest.fixture(scope="module")
def live_site_config() -> dict[str, Any]:
    """Extra app settings for a module's live site; override it in a test module."""
    return {}


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    """A real localstripe on 127.0.0.1 for the module; its base URL (for `STRIPE_API_BASE`)."""
    with running_localstripe() as base_url:
        yield base_url


@pytest.fixture(scope="module")
def live_site(
    tmp_path_factory: pytest.TempPathFactory, live_site_config: dict[str, Any]
) -> Iterator[LiveSite]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'site.db'}"
    upgrade(url)
    engine = make_engine(url)
    clock = FixedClock(TEST_NOW)
    with Session(engine) as db:
        seed_demo(db, clock.now())
        db.commit()
    settings = {
        "TESTING": True,
        "DATABASE_URL": url,
        "CLOCK": clock,
        "SQLITE_CHECKPOINT_SECONDS": 0,
        "VACANCY_CACHE_SECONDS": 0,  # tests change bays and ask again at once
        "EVENT_MAX_AGE_HOURS": 0,  # tests push days of history through the device API
        "DISTRICT_CACHE_SECONDS": 0,
    }
    app = create_app(settings | live_site_config)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-site", daemon=True)
    thread.start()
    try:
        yield LiveSite(f"http://127.0.0.1:{server.server_port}", DEMO_SLUG, clock, engine)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["parking.engine"].dispose()
        engine.dispose()


def under_ci(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether this run is CI's (`CI` set to anything but empty, 0 or false)."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def no_browser(message: str, environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """A missing Chromium skips a browser test on a developer's machine (scripts/test prints a
    banner) but fails it under CI, which installs Chromium: there it is a broken build."""
    if under_ci(environ):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        no_browser(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageRecord:
    """What a page did that a test may check: every URL it requested, every JS error."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        # An API answering 4xx is logged by Chromium as "Failed to load resource"; the page
        # shows those errors itself, and the tests check what it shows.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def foreign_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname not in LOCAL_HOSTS
        ]


@pytest.fixture
def page_record() -> PageRecord:
    return PageRecord()


@pytest.fixture
def browser_page(browser: Browser, live_site: LiveSite, page_record: PageRecord) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE,
        base_url=live_site.url,
        has_touch=True,
        is_mobile=True,
        service_workers="block",
        locale="en-GB",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("request", lambda request: page_record.requests.append(request.url))
    page.on("pageerror", lambda error: page_record.errors.append(str(error)))
    page.on("console", page_record.console)
    try:
        yield page
    finally:
        context.close()
    assert page_record.foreign_requests() == [], "the page reached beyond 127.0.0.1"
    assert page_record.errors == [], "the page logged errors"


StaffTokenFactory = Callable[..., str]


@pytest.fixture
def staff_token(live_site: LiveSite) -> StaffTokenFactory:
    """`staff_token(role="warden", name="warden one")`: a new bearer token on the live site."""
    return live_site.staff_token
