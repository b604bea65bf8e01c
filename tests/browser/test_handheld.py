"""The warden's handheld page in a real Chromium, phone-sized: signing in with a username and
password (and out, which revokes the token), checking a plate,
working a task from the list to resolved with a photo, the phone's location, and going
offline."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from billing.ledger import mark_arrears
from billing.models import StayFee
from billing.tariffs import price_ended_stays
from enforcement.models import Task
from enforcement.models_warden import StaffPosition, TaskPhoto
from enforcement.sweeps import sweep_overstays
from fixtures.demo import DEMO_STAFF_PASSWORD
from fixtures.tariffs import CORE
from identity.models import StaffToken
from identity.passwords import hash_password
from identity.staff import create_account
from parking.inventory import get_district
from parking.models import Stay
from tests.browser.conftest import LiveSite, PageRecord, stake_of

# Road 1 of the demo is priced by the core tariff (published by seed_demo with publish_tariff).
CORE_MAX_STAY = timedelta(minutes=CORE["max_stay_minutes"] + CORE["grace_minutes"])
PASSWORD = "handheld password"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes half a second a hash on a busy 2-core machine."""
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def account(site: LiveSite, name: str, role: str = "warden") -> str:
    """A staff account on the live site (password PASSWORD); its username."""
    username = name.lower().replace(" ", ".")
    with site.session() as db:
        create_account(
            db,
            get_district(db, site.slug),
            username,
            PASSWORD,
            name,
            role,
            site.clock.now(),
            hash_password=hash_password,
        )
    return username


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x99\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def open_handheld(page: Page, site: LiveSite) -> None:
    page.goto(f"/handheld/{site.slug}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_wrong_password_is_refused_clearly_and_the_right_one_shows_who_i_am_until_i_sign_out(
    browser_page: Page, live_site: LiveSite, page_record: PageRecord
) -> None:
    page = browser_page
    username = account(live_site, "Wang Wei")
    open_handheld(page, live_site)
    sign_in(page, username, "not the password")
    error = page.locator("#sign-in-error")
    expect(error).to_have_text("bad_credentials: the username or the password is wrong")
    expect(page.locator("#tabs")).to_be_hidden()

    sign_in(page, username)
    expect(page.locator("#whoami")).to_have_text("Signed in as Wang Wei (warden)")
    expect(page.locator("#sign-in-error")).to_be_hidden()
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_value("")

    page.reload()  # the token is kept for the tab's life (sessionStorage)
    expect(page.locator("#whoami")).to_have_text("Signed in as Wang Wei (warden)")
    with page.expect_response(lambda r: r.url.endswith("/staff/sign-out")) as signed_out:
        page.get_by_role("button", name="Sign out", exact=True).click()
    assert signed_out.value.ok
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    with live_site.session() as db:
        revoked = db.scalars(select(StaffToken.revoked_at).where(StaffToken.name == "Wang Wei")).all()
    assert len(revoked) == 1 and revoked[0] is not None  # signing out revoked the token
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page_record.foreign_requests() == []
    assert any("/staff/me" in url for url in page_record.requests)


def test_the_demo_warden_signs_in_with_the_published_password_and_is_told_when_locked_out(
    browser_page: Page, live_site: LiveSite
) -> None:
    page = browser_page
    open_handheld(page, live_site)
    for n in range(5):
        with page.expect_response(lambda r: r.url.endswith("/staff/sign-in")) as answer:
            sign_in(page, "warden-jianshan", f"guess {n}")
        assert answer.value.status == 401
        expect(page.locator("#sign-in-error")).to_contain_text("bad_credentials")
    sign_in(page, "warden-jianshan", DEMO_STAFF_PASSWORD)
    expect(page.locator("#sign-in-error")).to_have_text(
        "too_many_attempts: too many failed sign-ins for this username from this address: try again later "
        "(in 15 min)"
    )
    sign_in(page, "warden", DEMO_STAFF_PASSWORD)
    expect(page.locator("#whoami")).to_have_text("Signed in as Demo warden (warden)")


def test_a_plate_check_shows_the_bay_unpaid_and_the_arrears(
    browser_page: Page, live_site: LiveSite, page_record: PageRecord
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A88001", "BY-01-010"
    three_days_ago = now - timedelta(days=3)
    live_site.push(
        stake_of(bay),
        [
            live_site.camera_event(bay, "park_start", three_days_ago, plate),
            live_site.camera_event(bay, "park_end", three_days_ago + timedelta(hours=2), plate),
            live_site.camera_event(bay, "park_start", now - timedelta(minutes=50), plate),
        ],
    )
    with live_site.session() as db:
        district = get_district(db, live_site.slug)
        price_ended_stays(db, district, now)
        mark_arrears(db, district, now)
        owed = db.scalar(
            select(StayFee.amount).join(Stay, Stay.id == StayFee.stay_id).where(Stay.plate == plate)
        )
    assert owed, "the old stay is priced and in arrears"

    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Li Na"))
    page.get_by_role("button", name="Plate check", exact=True).click()
    page.get_by_label("Plate", exact=True).fill("贵a 88001")
    page.get_by_label("Bay (optional)").fill(bay)
    page.get_by_role("button", name="Check", exact=True).click()

    result = page.locator("#plate-result")
    expect(result.locator(".verdict")).to_have_text("UNPAID")
    expect(result.locator("[data-field='parked at']")).to_have_text(re.compile(rf"^Bay {bay} · "))
    expect(result.locator("[data-field='at this bay']")).to_have_text("yes")
    expect(result.locator("[data-field='since']")).to_contain_text("(50 min)")
    expect(result.locator("[data-field='arrears']")).to_have_text(f"¥{owed / 100:.2f}")
    expect(result).to_contain_text("Open violations (0)")
    assert page_record.foreign_requests() == []
    assert not [url for url in page_record.requests if "88001" in url]  # the plate went in a body (L10)


def test_a_warden_takes_an_overstay_task_and_resolves_it_warned_with_a_photo(
    browser_page: Page, live_site: LiveSite, page_record: PageRecord, tmp_path: Path
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A88002", "BY-01-020"
    live_site.push(
        stake_of(bay),
        [live_site.camera_event(bay, "park_start", now - CORE_MAX_STAY - timedelta(hours=1), plate)],
    )
    with live_site.session() as db:
        sweep_overstays(db, get_district(db, live_site.slug), now)
    photo = tmp_path / "curb.png"
    photo.write_bytes(png())

    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Zhao Lei"))
    page.get_by_label("I'm at bay").fill(bay)
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.locator("#position-status")).to_contain_text(f"At bay {bay}")

    task = page.locator("#task-list li.task", has_text=plate)
    expect(task).to_have_count(1)
    expect(task.locator(".kind")).to_have_text("Overstay")
    expect(task.locator(".distance")).to_have_text("0 m away")
    expect(task.locator(".age")).to_have_text("0 min old")
    task_id = task.get_attribute("data-task-id")
    task.get_by_role("button", name="Take", exact=True).click()

    expect(page.get_by_role("heading", name="Resolve task")).to_be_visible()
    expect(page.locator("#resolve-summary")).to_contain_text(plate)
    page.get_by_label("Citation issued").check()
    page.get_by_role("button", name="Submit", exact=True).click()  # a citation needs a photo
    expect(page.locator("#resolve-error")).to_have_text("photo_required: a citation needs a photo (photo)")
    page.get_by_label("Warned").check()
    page.get_by_label("Note (optional)").fill("driver came back, moved on")
    page.locator("#photo").set_input_files(str(photo))
    expect(page.locator("#photo-preview")).to_be_visible()
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.locator("#flash")).to_have_text(f"Task resolved: warned at bay {bay}")
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect(page.locator(f"#task-list li[data-task-id='{task_id}']")).to_have_count(0)
    with live_site.session() as db:
        done = db.scalars(select(Task).where(Task.uuid == task_id)).one()
        photos = db.scalar(select(func.count()).select_from(TaskPhoto).where(TaskPhoto.task_id == done.id))
        resolved = (done.status, done.outcome, done.taken_by, done.note)
    assert resolved == (
        "resolved",
        "warned",
        "Zhao Lei",
        "driver came back, moved on",
    )
    assert photos == 1
    assert page_record.foreign_requests() == []


def test_the_phones_location_is_reported_when_the_warden_allows_it(
    browser_page: Page, live_site: LiveSite
) -> None:
    page = browser_page
    bay = live_site.bay("BY-02-001")
    page.context.grant_permissions(["geolocation"], origin=live_site.url)
    page.context.set_geolocation({"latitude": bay.lat, "longitude": bay.lng, "accuracy": 5})
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Sun Mei"))
    expect(page.locator("#position-status")).to_contain_text(f"Position {bay.lat:.5f}, {bay.lng:.5f}")
    with live_site.session() as db:
        where = db.execute(
            select(StaffPosition.lat, StaffPosition.lng)
            .join(StaffToken, StaffToken.id == StaffPosition.staff_token_id)
            .where(StaffToken.name == "Sun Mei")
        ).one()
    assert tuple(where) == (bay.lat, bay.lng)


def test_offline_the_last_task_list_stays_on_screen_with_a_clear_note(
    browser_page: Page, live_site: LiveSite
) -> None:
    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Qian Hui"))
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect(page.locator("#tasks-note")).to_be_hidden()
    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("offline")
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.locator("#tasks-note")).to_contain_text("network: no network — showing the list from")
    page.context.set_offline(False)
    expect(page.locator("#net")).to_have_text("")
    expect(page.locator("#tasks-note")).to_be_hidden()


def test_a_task_someone_else_took_first_shows_the_conflict_and_who_has_it(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A88003", "BY-01-040"
    live_site.push(
        stake_of(bay),
        [live_site.camera_event(bay, "park_start", now - CORE_MAX_STAY - timedelta(minutes=5), plate)],
    )
    with live_site.session() as db:
        sweep_overstays(db, get_district(db, live_site.slug), now)
    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Zhou Min"))
    task = page.locator("#task-list li.task", has_text=plate)
    expect(task.get_by_role("button", name="Take", exact=True)).to_be_visible()

    other = live_site.staff_token("warden", "Wu Gang")
    answer = page.request.post(
        f"/api/v1/{live_site.slug}/tasks/{task.get_attribute('data-task-id')}/take",
        headers={"Authorization": f"Bearer {other}"},
    )
    assert answer.ok, answer.text()
    task.get_by_role("button", name="Take", exact=True).click()
    expect(page.locator("#tasks-error")).to_contain_text(
        "task_transition: a task that is taken cannot be taken"
    )
    expect(task).to_contain_text("Taken by Wu Gang")
