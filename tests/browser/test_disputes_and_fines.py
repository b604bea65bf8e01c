"""A driver pays a citation and disputes a fee on the driver page, and the bureau decides
the dispute on the handheld (fee adjusted, driver notified), in a real Chromium against a
real localstripe (issue 15)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Page, expect
from sqlalchemy import select

from billing.models import Notice, StayFee
from billing.plate_links import link_plate
from billing.tariffs import price_ended_stays
from enforcement.citations import issue_citation
from enforcement.models import Citation, Dispute, Violation
from identity.drivers import sign_up
from parking.inventory import get_district
from parking.models import Stay
from tests.browser.conftest import LiveSite, stake_of
from tests.browser.test_driver_page import THREE_D_SECURE_CARD, type_card
from tests.browser.test_handheld import account, open_handheld, sign_in


@pytest.fixture(scope="module")
def live_site_config(localstripe: str) -> dict[str, Any]:
    return {"STRIPE_API_BASE": localstripe}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def find_plate(page: Page, site: LiveSite, plate: str) -> None:
    page.goto(f"/drive/{site.slug}")
    page.get_by_role("button", name="Pay by plate").click()
    page.get_by_label("Plate", exact=True).fill(plate)
    page.get_by_role("button", name="Find unpaid stays").click()


def pay_with_test_card(page: Page, total: str) -> None:
    type_card(page.locator("#card-element"), "4242 4242 4242 4242")
    page.locator("#card-form").get_by_role("button", name=f"Pay {total}").click()


def test_a_driver_pays_a_citation_by_plate_and_the_plate_then_owes_nothing(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A80001", live_site.bay("BY-09-002")
    with live_site.session() as db:
        district = get_district(db, live_site.slug)
        violation = Violation(
            district_id=district.id, rule="overstay", stay_id=uuid.uuid4().int % 2**31, bay_id=bay.id,
            road_id=bay.road_id, plate=plate, stay_started_at=now - timedelta(hours=4),
            started_at=now - timedelta(hours=2), detected_at=now - timedelta(hours=2), evidence={},
        )  # fmt: skip
        db.add(violation)
        db.flush()
        issue_citation(db, district, violation.uuid, "Demo warden", now)
    page = browser_page
    find_plate(page, live_site, plate)
    expect(page.locator("#unpaid-list li.citation")).to_contain_text("Citation: overstay")
    expect(page.locator("#unpaid-total")).to_have_text("To pay: ¥50.00")  # the demo's overstay fine

    pay_with_test_card(page, "¥50.00")
    expect(page.locator("#paid")).to_contain_text(f"Paid ¥50.00 for {plate}.")
    with live_site.session() as db:
        assert db.scalars(select(Citation.status).where(Citation.plate == plate)).one() == "paid"
    find_plate(page, live_site, plate)
    expect(page.locator("#unpaid-total")).to_have_text("Nothing to pay.")


def test_a_driver_disputes_a_fee_and_the_bureau_adjusts_it_and_the_driver_is_told(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A80002", "BY-09-010"
    live_site.push(
        stake_of(bay),
        [
            live_site.camera_event(bay, "park_start", now - timedelta(hours=3), plate),
            live_site.camera_event(bay, "park_end", now - timedelta(hours=1), plate),
        ],
    )
    with live_site.session() as db:
        price_ended_stays(db, get_district(db, live_site.slug), now)
        driver = sign_up(db, "fang@example.org", "correct horse battery", "Fang", now)
        link_plate(db, driver, plate, now - timedelta(hours=4))
        driver_id = driver.id
    page = browser_page
    find_plate(page, live_site, plate)
    stay_row = page.locator("#unpaid-list li.stay").first
    stay_row.get_by_role("button", name="Dispute", exact=True).click()
    stay_row.get_by_label("Why do you dispute it?").fill("I left an hour earlier")
    stay_row.get_by_role("button", name="Send dispute", exact=True).click()
    expect(stay_row).to_contain_text("Dispute sent: the bureau will decide")

    open_handheld(page, live_site)
    sign_in(page, account(live_site, "Analyst Zhou", "bureau"))
    expect(page.get_by_role("heading", name="Open disputes")).to_be_visible()
    card = page.locator("#dispute-list li", has_text=plate)
    expect(card).to_contain_text("I left an hour earlier")
    card.get_by_label("Uphold / Adjust / Cancel it").select_option("adjusted")
    card.get_by_label("New amount").fill("3")
    card.get_by_label("Reason for the driver").fill("the stake missed your departure")
    card.get_by_role("button", name="Decide", exact=True).click()

    expect(page.locator("#flash")).to_have_text("Dispute adjusted: now ¥3.00. The driver is told.")
    expect(page.locator("#dispute-list li", has_text=plate)).to_have_count(0)
    with live_site.session() as db:
        stay = db.scalars(select(Stay).where(Stay.plate == plate)).one()
        assert db.get_one(StayFee, stay.id).amount == 300
        dispute = db.scalars(select(Dispute).where(Dispute.plate == plate)).one()
        assert (dispute.outcome, dispute.decided_by) == ("adjusted", "Analyst Zhou")
        notice = db.scalars(select(Notice).where(Notice.account_id == driver_id)).one()
        assert notice.kind == "dispute_decided" and "adjusted" in notice.message


def test_a_signed_in_driver_pays_a_citation_of_their_plate_from_the_account_and_sees_the_receipt(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A80003", live_site.bay("BY-09-020")
    with live_site.session() as db:
        district = get_district(db, live_site.slug)
        violation = Violation(
            district_id=district.id, rule="overstay", stay_id=uuid.uuid4().int % 2**31, bay_id=bay.id,
            road_id=bay.road_id, plate=plate, stay_started_at=now - timedelta(hours=4),
            started_at=now - timedelta(hours=2), detected_at=now - timedelta(hours=2), evidence={},
        )  # fmt: skip
        db.add(violation)
        db.flush()
        citation = issue_citation(db, district, violation.uuid, "Demo warden", now).uuid
        driver = sign_up(db, "wang@example.org", "correct horse battery", "Wang", now)
        link_plate(db, driver, plate, now - timedelta(days=1))
    page = browser_page
    page.goto(f"/drive/{live_site.slug}")
    page.get_by_role("button", name="My stays").click()
    page.get_by_label("Email").fill("wang@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("#citation-list li")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"Citation: overstay · {plate}")

    row.get_by_role("button", name="Pay ¥50.00").click()  # the demo's overstay fine
    form = page.locator("#citation-pay-form")
    expect(form).to_contain_text("Pay ¥50.00 for the citation (overstay)")
    expect(form.get_by_role("button", name="Pay with my saved card")).to_be_hidden()  # none saved
    type_card(form, THREE_D_SECURE_CARD)
    form.get_by_role("button", name="Pay with this card").click()
    # The bank's challenge (localstripe's stand-in asks on setting the card up, then on paying).
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("button", name="Complete authentication").click()

    expect(page.locator("#citation-paid")).to_contain_text("Paid ¥50.00 for the citation (overstay).")
    expect(page.locator("#citation-list li")).to_have_count(0)
    expect(page.locator("#no-citations")).to_be_visible()
    with live_site.session() as db:
        assert db.scalars(select(Citation.status).where(Citation.uuid == citation)).one() == "paid"
    page.get_by_role("link", name="Receipt").click()
    expect(page).to_have_url(re.compile(r"/receipts/[0-9a-f-]{36}$"))
    for text in (citation, plate, "50.00"):
        expect(page.locator("body")).to_contain_text(text)
