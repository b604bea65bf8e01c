"""Field work on the handheld in a real Chromium (issue 15): an attendant's registrations made
offline are uploaded once, in order, when the network returns; a warden issues a citation
with a photo at the demo's fines; a police officer closes an escalated case; a city-management
officer reports a vending stall and closes it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Page, Route, expect
from sqlalchemy import select

from billing.models import Payment
from enforcement.models import Citation, Task, Violation
from enforcement.sweeps import sweep_overstays
from parking.inventory import get_district
from parking.models import Stay
from sensors.models import CurbEvent
from tests.browser.conftest import LiveSite, PageRecord, stake_of
from tests.browser.test_handheld import CORE_MAX_STAY, account, open_handheld, png, sign_in


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def record(page: Page, bay: str, kind: str, plate: str = "") -> None:
    screen = page.locator("#screen-register")
    screen.get_by_label("Bay", exact=True).fill(bay)
    screen.get_by_label(kind, exact=True).check()
    screen.get_by_label("Vehicle plate", exact=True).fill(plate)
    page.get_by_role("button", name="Record", exact=True).click()


def test_an_attendants_offline_registrations_are_uploaded_once_in_order_when_the_network_returns(
    browser_page: Page, live_site: LiveSite, page_record: PageRecord
) -> None:
    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Liu Fang", "attendant"))
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_role("heading", name="Register at a bay")).to_be_visible()

    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("offline")
    record(page, "BY-05-001", "Arrival", "贵A50001")
    record(page, "BY-05-002", "Arrival", "贵A50002")
    record(page, "BY-05-001", "Correct the plate", "贵A50007")
    record(page, "BY-05-002", "Departure")
    screen = page.locator("#screen-register")
    screen.get_by_label("Payment taken", exact=True).check()
    screen.get_by_label("Amount").fill("2")  # within what the stay may prepay
    screen.get_by_label("Paid by").select_option("qr")
    record(page, "BY-05-001", "Payment taken", "贵A50007")
    record(page, "BY-05-001", "Departure")
    expect(page.locator("#pending-summary")).to_have_text("6 actions wait for the network.")
    expect(page.locator("#pending-list li.pending")).to_have_count(6)

    page.context.set_offline(False)
    expect(page.locator("#pending-summary")).to_have_text("Nothing waiting: every action is uploaded.")
    page.get_by_role("button", name="Upload now", exact=True).click()  # a resend finds nothing to send
    expect(page.locator("#pending-list li")).to_have_count(0)

    with live_site.session() as db:
        events = [
            (e.event_type, (e.extra or {})["custom_attributes"]["registered_by"])
            for e in db.scalars(
                select(CurbEvent).where(CurbEvent.data_source_type == "in_person").order_by(CurbEvent.id)
            )
        ]
        paid = [(p.channel, p.method, p.amount, p.plate) for p in db.scalars(select(Payment))]
        stays = {
            (s.plate, s.ended_at is not None)
            for s in db.scalars(select(Stay).where(Stay.plate.in_(("贵A50007", "贵A50002"))))
        }
    assert events == [
        ("park_start", "Liu Fang"),
        ("park_start", "Liu Fang"),
        ("vehicle_detected", "Liu Fang"),
        ("park_end", "Liu Fang"),
        ("vehicle_detected", "Liu Fang"),
        ("park_end", "Liu Fang"),
    ]
    assert paid == [("pos", "digital_wallet", 200, "贵A50007")]
    assert stays == {("贵A50007", True), ("贵A50002", True)}
    assert page_record.foreign_requests() == []


def test_the_network_returning_during_a_failing_upload_sends_the_action_at_once(
    browser_page: Page, live_site: LiveSite
) -> None:
    """The network comes back while the upload begun offline is still failing: the page
    uploads again as soon as that attempt ends, not at the next timed try (30 s on)."""
    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "He Ping", "attendant"))
    page.get_by_role("button", name="Register", exact=True).click()
    held: list[Route] = []

    def first_held(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # the first upload waits here, as on a network that is down

    page.route("**/registrations", first_held)
    record(page, "BY-05-030", "Arrival", "贵A50030")
    expect(page.locator("#pending-summary")).to_have_text("1 action waits for the network.")
    for _ in range(100):  # the page sends it once the action is queued
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the page did not try to upload the action"
    page.evaluate("dispatchEvent(new Event('online'))")  # while that upload is under way
    held[0].abort("internetdisconnected")
    expect(page.locator("#pending-summary")).to_have_text("Nothing waiting: every action is uploaded.")
    with live_site.session() as db:
        sent = db.scalars(select(CurbEvent.event_type).where(CurbEvent.plate == "贵A50030")).all()
    assert sent == ["park_start"]  # uploaded once


def test_a_plate_the_stake_read_otherwise_comes_back_to_the_attendant_as_a_clear_message(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, bay = live_site.clock.now(), "BY-05-020"
    live_site.push(
        stake_of(bay), [live_site.camera_event(bay, "park_start", now - timedelta(minutes=5), "贵A55555")]
    )
    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Xu Jing", "attendant"))
    page.get_by_role("button", name="Register", exact=True).click()
    record(page, bay, "Correct the plate", "贵A55556")

    item = page.locator("#pending-list li.warning")
    expect(item).to_contain_text("Uploaded, but the stake read 贵A55555 at this bay, 95% sure.")
    expect(item.locator(".status")).to_have_text("check it")
    item.get_by_role("button", name="Dismiss", exact=True).click()
    expect(page.locator("#pending-list li")).to_have_count(0)
    page.locator("#register-bay").fill("BY-99-999")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.locator("#register-error")).to_have_text("unknown_bay: no bay BY-99-999 in this district")


def test_a_warden_issues_a_citation_with_a_photo_at_the_demo_fine(
    browser_page: Page, live_site: LiveSite, tmp_path: Path
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A60001", "BY-06-005"
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
    sign_in(page, account(live_site, "Qian Hao"))
    task = page.locator("#task-list li.task", has_text=plate)
    task.get_by_role("button", name="Take", exact=True).click()
    page.get_by_label("Citation issued").check()
    page.locator("#photo").set_input_files(str(photo))
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.locator("#flash")).to_contain_text(
        "Task resolved: citation issued at bay " + bay + " · citation "
    )
    with live_site.session() as db:
        citation = db.scalars(select(Citation).where(Citation.plate == plate)).one()
        assert (citation.amount, citation.status, citation.issued_by) == (5_000, "issued", "Qian Hao")


def test_a_police_officer_closes_an_escalated_case_from_the_handheld(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, bay = live_site.clock.now(), live_site.bay("BY-07-003")
    with live_site.session() as db:
        district = get_district(db, live_site.slug)
        violation = Violation(
            district_id=district.id, rule="overstay", stay_id=uuid.uuid4().int % 2**31, bay_id=bay.id,
            road_id=bay.road_id, plate="贵A70001", stay_started_at=now - timedelta(hours=4),
            started_at=now - timedelta(hours=2), detected_at=now - timedelta(hours=2), evidence={"event_ids": []},
        )  # fmt: skip
        db.add(violation)
        db.flush()
        violation_id = violation.id
        db.add(
            Task(
                district_id=district.id,
                key=f"browser:{uuid.uuid4()}",
                team="warden",
                kind="check_overstay",
                violation_id=violation.id,
                bay_id=bay.id,
                road_id=bay.road_id,
                lat=bay.lat,
                lng=bay.lng,
                details={},
                status="escalated",
                created_at=now - timedelta(hours=1),
                escalated_at=now - timedelta(minutes=30),
            )  # fmt: skip
        )
    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Officer Ma", "police"))
    expect(page.get_by_role("button", name="Register", exact=True)).to_be_hidden()
    task = page.locator("#task-list li.task", has_text="贵A70001")
    task.get_by_role("button", name="Take", exact=True).click()
    expect(page.get_by_label("Citation issued")).to_have_count(0)
    page.get_by_label("Towed").check()
    page.get_by_label("Note (optional)").fill("towed to the Baiyun depot")
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.locator("#flash")).to_have_text("Task resolved: towed at bay BY-07-003")
    with live_site.session() as db:
        done = db.scalars(select(Task).where(Task.violation_id == violation_id)).one()
        assert (done.status, done.outcome, done.taken_by, done.note) == (
            "resolved", "towed", "Officer Ma", "towed to the Baiyun depot",
        )  # fmt: skip


def test_city_management_reports_a_vending_stall_and_closes_it(
    browser_page: Page, live_site: LiveSite
) -> None:
    page = browser_page
    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Officer Tang", "city"))
    page.get_by_role("button", name="Street report", exact=True).click()
    page.get_by_label("What").select_option("vending")
    page.get_by_label("Near bay").fill("BY-08-004")
    page.get_by_label("Details for city management (optional)").fill("noodle stall on the pavement")
    page.get_by_role("button", name="Send report", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("Vending stall reported on ")

    page.get_by_role("button", name="Tasks", exact=True).click()
    task = page.locator("#task-list li.task", has_text="BY-08")
    expect(task).to_have_count(0)  # a report is placed on its road, not a bay
    task = page.locator("#task-list li.task").filter(has_text="street report")
    task.get_by_role("button", name="Take", exact=True).click()
    page.get_by_label("Stall removed").check()
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#flash")).to_have_text("Task resolved: stall removed")
    with live_site.session() as db:
        done = db.scalars(
            select(Task).where(Task.kind == "street_report", Task.taken_by == "Officer Tang")
        ).one()
        assert (done.team, done.status, done.outcome, done.details["report"]) == (
            "city", "resolved", "stall_removed", "vending",
        )  # fmt: skip
