"""The driver's page in a real Chromium, phone-sized: free bays around a point drawn from the
road outlines and coloured by what is known, a road's bays, tariff and forecast, paying a
plate by card through Stripe.js (the stand-in localstripe serves) against a real localstripe,
3-D Secure included, and a signed-in driver's current stay, payment and saved card."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api import create_app
from billing.models import Payment
from billing.tariffs import price_ended_stays
from fixtures.demo import DEMO_DRIVER_PASSWORD, DEMO_DRIVER_PLATES, demo_driver_email, demo_layout
from identity.models import DriverAccount
from parking.forecast import day_class
from parking.forecast_models import RoadForecast
from parking.inventory import get_district
from parking.models import Road
from tests.browser.conftest import LiveSite, PageRecord, stake_of

# Around the district centre (the page's default point), within the page's 1,000 m.
GREEN_ROAD, AMBER_ROAD, RED_ROAD, GREY_ROAD = 1, 8, 9, 2
CORE_LINE = "¥1.50 per 15 min first hour, then ¥6.00 per 30 min; first 15 min free; max ¥60/day"


@pytest.fixture(scope="module")
def live_site_config(localstripe: str) -> dict[str, Any]:
    # Every test of the module types cards from 127.0.0.1 under one fixed clock, so the
    # per-address card-setup limit (tested in tests/integration/test_card_payments.py) is
    # lifted here rather than counted across tests.
    return {"STRIPE_API_BASE": localstripe, "CARD_SETUPS_PER_IP": 1000}


THREE_D_SECURE_CARD = "4000 0027 6000 3184"  # Stripe's (and localstripe's) "always authenticate"


def type_card(form: Any, number: str) -> None:
    """Type a card into the Stripe.js card field inside `form` (the stand-in's plain inputs)."""
    digits = {"number": number.replace(" ", ""), "exp_month": "12", "exp_year": "34", "cvc": "123"}
    for name, value in (digits | {"postal_code": "55001"}).items():
        form.locator(f"input[placeholder='{name}']").fill(value)


def road_plan(number: int) -> Any:
    return next(r for r in demo_layout().roads if r.number == number)


def stakes_of_road(number: int) -> list[Any]:
    names = {b.name for b in road_plan(number).bays}
    return [s for s in demo_layout().stakes if set(s.bay_names) & names]


def road_uuid(site: LiveSite, number: int) -> str:
    with site.session() as db:
        return db.scalars(select(Road.uuid).where(Road.name == road_plan(number).name)).one()


def report(site: LiveSite, bay: str, event_type: str, plate: str = "贵A00000") -> dict[str, Any]:
    """A CDS event from the stake watching `bay`, now; only park_start carries a plate."""
    event = site.camera_event(bay, event_type, site.clock.now(), plate)
    if event_type != "park_start":
        del event["vehicle_license_plate"], event["vehicle_license_plate_confidence"]
    return event


@pytest.fixture(scope="module")
def curb(live_site: LiveSite) -> dict[str, str]:
    """Green: every stake of road 1 heard now, one bay taken, one stake lost its link (its bays
    unknown). Amber: one stake of road 8 heard, all but two of its bays taken, the rest of
    road 8 unheard. Red: every bay of road 9 taken. Grey: road 2, never heard."""
    green = stakes_of_road(GREEN_ROAD)
    for stake in green:
        live_site.push(stake.name, [report(live_site, stake.bay_names[0], "scheduled_report")])
    live_site.push(stake_of("BY-01-005"), [report(live_site, "BY-01-005", "park_start", "贵A66001")])
    lost = green[-1]
    live_site.push(lost.name, [report(live_site, lost.bay_names[0], "comms_lost")])

    amber = next(s for s in stakes_of_road(AMBER_ROAD) if len(s.bay_names) == 4)
    taken = [report(live_site, bay, "park_start", f"贵A6610{i}") for i, bay in enumerate(amber.bay_names[2:])]
    live_site.push(amber.name, [report(live_site, amber.bay_names[0], "scheduled_report"), *taken])

    for stake in stakes_of_road(RED_ROAD):
        events = [
            report(live_site, bay, "park_start", f"贵A7{i:04d}") for i, bay in enumerate(stake.bay_names)
        ]
        live_site.push(stake.name, events)
    return {"lost_bays": str(len(lost.bay_names))}


def open_driver_page(page: Page, site: LiveSite) -> None:
    page.goto(f"/drive/{site.slug}")
    expect(page.locator("#road-list li.road-item").first).to_be_visible()


def owed_stay(site: LiveSite, plate: str, bay: str, now: datetime) -> None:
    """A two-hour stay of `plate` at `bay` that ended an hour ago, priced: it owes."""
    site.push(
        stake_of(bay),
        [
            site.camera_event(bay, "park_start", now - timedelta(hours=3), plate),
            site.camera_event(bay, "park_end", now - timedelta(hours=1), plate),
        ],
    )
    with site.session() as db:
        price_ended_stays(db, get_district(db, site.slug), now)


def look_up_plate(page: Page, site: LiveSite, plate: str) -> None:
    """The driver page's pay-by-plate screen, showing what `plate` owes."""
    open_driver_page(page, site)
    page.get_by_role("button", name="Pay by plate").click()
    page.get_by_label("Plate", exact=True).fill(plate)
    page.get_by_role("button", name="Find unpaid stays").click()


def road_item(page: Page, site: LiveSite, number: int) -> Any:
    return page.locator(f"#road-list li[data-road-id='{road_uuid(site, number)}']")


def test_free_bays_around_a_point_are_drawn_and_coloured_by_what_is_known(
    browser_page: Page, live_site: LiveSite, curb: dict[str, str], page_record: PageRecord
) -> None:
    page = browser_page
    open_driver_page(page, live_site)

    expected = {GREEN_ROAD: "many", AMBER_ROAD: "few", RED_ROAD: "none", GREY_ROAD: "unknown"}
    for number, availability in expected.items():
        shape = page.locator(f"#map path[data-road-id='{road_uuid(live_site, number)}']")
        expect(shape).to_have_attribute("data-availability", availability)
        expect(shape).to_have_class(re.compile(rf"\broad {availability}\b"))
        expect(road_item(page, live_site, number)).to_have_attribute("data-availability", availability)
    expect(page.locator(".legend")).to_contain_text("unknown")

    lost = int(curb["lost_bays"])
    green = road_item(page, live_site, GREEN_ROAD)
    expect(green.locator(".counts")).to_have_text(f"{132 - lost - 1} free / 132 · {lost} unknown")
    expect(green.locator(".meta")).to_have_text(re.compile(r"^\d+ m · data 0 min old$"))
    expect(green.locator(".tariff")).to_have_text(CORE_LINE)
    expect(green.locator(".max-stay")).to_have_text("Max stay: 4 h 0 min")
    expect(road_item(page, live_site, AMBER_ROAD).locator(".counts")).to_have_text("2 free / 84 · 80 unknown")
    expect(road_item(page, live_site, RED_ROAD).locator(".counts")).to_have_text("0 free / 82")
    expect(road_item(page, live_site, GREY_ROAD).locator(".counts")).to_have_text(
        "0 free / 118 · 118 unknown"
    )
    expect(road_item(page, live_site, GREY_ROAD).locator(".meta")).to_contain_text("no data yet")

    distances = [
        float(d.split(" m")[0]) for d in page.locator("#road-list .meta").all_inner_texts() if " m ·" in d
    ]
    assert distances == sorted(distances) and len(distances) == 4, "nearest first"
    assert all("127.0.0.1" in url for url in page_record.requests)


def test_use_my_location_searches_around_the_phone(
    browser_page: Page, live_site: LiveSite, curb: dict[str, str]
) -> None:
    bay = live_site.bay("BY-05-010")  # road 5 is far from the district centre
    page = browser_page
    page.context.grant_permissions(["geolocation"], origin=live_site.url)
    page.context.set_geolocation({"latitude": bay.lat, "longitude": bay.lng, "accuracy": 5})
    open_driver_page(page, live_site)
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#where")).to_have_text(f"Around you ({bay.lat:.5f}, {bay.lng:.5f})")
    expect(road_item(page, live_site, 5)).to_be_visible()
    expect(road_item(page, live_site, GREEN_ROAD)).to_have_count(0)


def test_a_tapped_road_shows_its_bays_tariff_and_forecast(
    browser_page: Page, live_site: LiveSite, curb: dict[str, str]
) -> None:
    with live_site.session() as db:
        district = get_district(db, live_site.slug)
        road = db.scalars(select(Road).where(Road.name == road_plan(GREEN_ROAD).name)).one()
        now = live_site.clock.now()
        db.add_all(
            RoadForecast(
                road_id=road.id, day_class=kind, slot=slot, district_id=district.id,
                probability=0.8, samples=40, free_samples=32, fitted_at=now,
            )
            for kind in {day_class(now.date(), frozenset()), "weekday", "saturday", "sunday_holiday"}
            for slot in range(96)
        )  # fmt: skip
    page = browser_page
    open_driver_page(page, live_site)
    page.locator(f"#map path[data-road-id='{road_uuid(live_site, GREEN_ROAD)}']").click()

    expect(page.locator("#road-title")).to_have_text(road_plan(GREEN_ROAD).name)
    expect(page.locator("#road-tariff")).to_have_text(CORE_LINE)
    expect(page.locator("#road-max-stay")).to_have_text("4 h 0 min")
    expect(page.locator("#road-restriction")).to_have_text("none")
    expect(page.locator("#forecast-15")).to_have_text("80%")
    expect(page.locator("#forecast-30")).to_have_text("80%")
    expect(page.locator("#bay-list li")).to_have_count(132)
    expect(page.locator("#bay-list li[data-bay='BY-01-005']")).to_have_attribute("data-state", "occupied")
    expect(page.locator("#bay-list li[data-bay='BY-01-001']")).to_have_attribute("data-state", "free")
    lost = stakes_of_road(GREEN_ROAD)[-1].bay_names[0]
    expect(page.locator(f"#bay-list li[data-bay='{lost}']")).to_have_attribute("data-state", "unknown")

    page.get_by_role("button", name="Back to the map").click()
    road_item(page, live_site, AMBER_ROAD).get_by_role("button").click()  # from the list
    expect(page.locator("#road-title")).to_have_text(road_plan(AMBER_ROAD).name)
    expect(page.locator("#forecast-15")).to_have_text("no forecast yet")
    expect(page.locator("#bay-list li[data-state='free']")).to_have_count(2)


def test_a_road_shows_the_rest_of_its_day_and_its_counts_refresh_by_themselves(
    browser_page: Page, live_site: LiveSite, curb: dict[str, str]
) -> None:
    page = browser_page
    page.clock.install()
    open_driver_page(page, live_site)
    road_item(page, live_site, RED_ROAD).get_by_role("button").click()
    expect(page.locator("#road-counts")).to_have_text("0 free / 82")
    stake = stakes_of_road(RED_ROAD)[0]
    live_site.clock.advance(timedelta(minutes=1))
    try:
        live_site.push(stake.name, [report(live_site, stake.bay_names[0], "park_end")])
        page.clock.run_for(31_000)  # one refresh period: no tap, no reload
        expect(page.locator("#road-counts")).to_have_text("1 free / 82")
        live_site.push(stake.name, [report(live_site, stake.bay_names[0], "park_start", "贵A70000")])
    finally:
        live_site.clock.advance(timedelta(minutes=-1))

    page.get_by_role("button", name="Back to the map").click()
    clearway = road_item(page, live_site, 7)
    if not clearway.count():  # road 7 is outside the default radius: look around it
        bay = next(b for b in road_plan(7).bays)
        page.context.grant_permissions(["geolocation"], origin=live_site.url)
        located = live_site.bay(bay.name)
        page.context.set_geolocation({"latitude": located.lat, "longitude": located.lng, "accuracy": 5})
        page.get_by_role("button", name="Use my location").click()
    road_item(page, live_site, 7).get_by_role("button").click()
    expect(page.locator("#road-day li")).to_have_text(
        [
            "10:00–20:00 ¥2.40 per 30 min first 2 h, then ¥4.80 per 30 min; first 15 min free; max ¥30/day",
            "20:00–24:00 free",
            "17:00–19:00 No stopping (晚高峰禁停)",
        ]
    )


def test_paying_a_plate_by_card_through_stripe_js_leads_to_its_receipt(
    browser_page: Page, live_site: LiveSite, page_record: PageRecord, localstripe: str
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A55001", "BY-05-020"
    owed_stay(live_site, plate, bay, now)
    road = road_plan(5).name

    page = browser_page
    open_driver_page(page, live_site)
    page.get_by_role("button", name="Pay by plate").click()
    page.get_by_label("Plate", exact=True).fill("贵a 55001")
    page.get_by_role("button", name="Find unpaid stays").click()
    expect(page.locator("#unpaid-list li")).to_have_count(1)
    expect(page.locator("#unpaid-list li")).to_contain_text(f"Bay {bay} · {road}")
    total = page.locator("#unpaid-total").inner_text().removeprefix("To pay: ")
    assert re.fullmatch(r"¥\d+\.\d\d", total), total

    type_card(page.locator("#card-element"), "4242 4242 4242 4242")
    page.locator("#card-form").get_by_role("button", name=f"Pay {total}").click()
    expect(page.locator("#paid")).to_contain_text(f"Paid {total} for 贵A55001.")
    page.get_by_role("link", name="Receipt").click()
    expect(page).to_have_url(re.compile(r"/receipts/[0-9a-f-]{36}$"))
    receipt = page.locator("body")
    for text in (bay, road, total.replace("¥", "")):
        expect(receipt).to_contain_text(text)
    stripe_js = f"{localstripe}/js.stripe.com/v3/"
    assert stripe_js in page_record.requests  # the stand-in localstripe itself serves
    assert any(url.startswith(f"{localstripe}/v1/setup_intents/") for url in page_record.requests)
    assert f"{live_site.url}/api/v1/{live_site.slug}/card-setups" in page_record.requests
    lookups = [url for url in page_record.requests if "unpaid" in url]
    assert lookups and all(url.endswith("/plates/unpaid") for url in lookups)  # the plate in a body (L10)

    page.goto(f"/drive/{live_site.slug}")
    page.get_by_role("button", name="Pay by plate").click()
    page.get_by_label("Plate", exact=True).fill("贵A55001")
    page.get_by_role("button", name="Find unpaid stays").click()
    expect(page.locator("#unpaid-total")).to_have_text("Nothing to pay.")


def test_a_declined_card_leaves_the_stay_payable_and_says_why(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A55002", "BY-05-040"
    owed_stay(live_site, plate, bay, now)
    page = browser_page
    look_up_plate(page, live_site, plate)
    type_card(page.locator("#card-element"), "4000 0000 0000 0341")  # declined when charged
    page.locator("#card-form").get_by_role("button", name=re.compile(r"^Pay ¥")).click()
    expect(page.locator("#pay-error")).to_contain_text("payment_declined")
    expect(page.locator("#paid")).to_be_hidden()
    expect(page.locator("#unpaid-list li")).to_have_count(1)


def test_a_demo_driver_signs_in_and_sees_the_stay_going_on_with_its_fee_so_far(
    browser_page: Page, live_site: LiveSite
) -> None:
    plate, bay = DEMO_DRIVER_PLATES[0], "BY-06-010"  # road 6: the core tariff
    live_site.push(
        stake_of(bay),
        [live_site.camera_event(bay, "park_start", live_site.clock.now() - timedelta(minutes=50), plate)],
    )
    page = browser_page
    open_driver_page(page, live_site)
    page.get_by_role("button", name="My stays").click()
    page.get_by_label("Email").fill(demo_driver_email(0))
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_have_text("bad_credentials: the email or the password is wrong")

    page.get_by_label("Password").fill(DEMO_DRIVER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#whoami")).to_have_text("Signed in as Demo driver 1")
    stay = page.locator("#current-list li")
    expect(stay).to_have_count(1)
    expect(stay.locator(".where")).to_contain_text(f"{plate} · Bay {bay}")
    expect(stay.locator("[data-field='elapsed']")).to_contain_text("Parked 50 min")
    # First 15 minutes free, then ¥1.50 per started 15 minutes: 15, 30 and 45 have begun.
    expect(stay.locator("[data-field='fee']")).to_have_text("Fee so far: ¥4.50")
    expect(stay.locator("[data-field='time-left']")).to_have_text("Time left: 3 h 10 min")
    expect(page.locator("#outstanding")).to_have_text("Nothing owed.")

    page.reload()  # the token is kept for the tab's life (sessionStorage)
    page.get_by_role("button", name="My stays").click()
    expect(page.locator("#whoami")).to_have_text("Signed in as Demo driver 1")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_signing_out_revokes_the_token_on_the_server_not_only_in_the_page(
    browser_page: Page, live_site: LiveSite
) -> None:
    """Issue 12 follow-up: "Sign out" only forgot the token, which then kept working."""
    page = browser_page
    open_driver_page(page, live_site)
    page.get_by_role("button", name="My stays").click()
    page.get_by_label("Email").fill(demo_driver_email(1))
    page.get_by_label("Password").fill(DEMO_DRIVER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#whoami")).to_have_text("Signed in as Demo driver 2")
    token = page.evaluate("sessionStorage.getItem('parking.driver.token')")
    me = f"{live_site.url}/api/v1/drivers/me"
    assert page.request.get(me, headers={"Authorization": f"Bearer {token}"}).status == 200

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('parking.driver.token')") is None
    after = page.request.get(me, headers={"Authorization": f"Bearer {token}"})
    assert after.status == 401, after.text()


def test_a_signed_in_driver_pays_what_is_outstanding_and_gets_the_receipt_in_the_history(
    browser_page: Page, live_site: LiveSite
) -> None:
    plate, bay = DEMO_DRIVER_PLATES[1], "BY-06-020"  # road 6: the core tariff
    now = live_site.clock.now()
    live_site.push(
        stake_of(bay),
        [
            live_site.camera_event(bay, "park_start", now - timedelta(minutes=50), plate),
            # ended now: a driver's history holds the stays begun since the plate was linked
            live_site.camera_event(bay, "park_end", now, plate),
        ],
    )
    with live_site.session() as db:
        price_ended_stays(db, get_district(db, live_site.slug), now)
    page = browser_page
    open_driver_page(page, live_site)
    page.get_by_role("button", name="My stays").click()
    page.get_by_label("Email").fill(demo_driver_email(1))
    page.get_by_label("Password").fill(DEMO_DRIVER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#whoami")).to_have_text("Signed in as Demo driver 2")
    # 50 minutes on the core tariff: free for 15, then three started quarters at ¥1.50.
    expect(page.locator("#outstanding")).to_have_text("¥4.50 owed for 1 stay(s)")
    history = page.locator("#history-list li")
    expect(history).to_have_count(1)
    expect(history.locator("a.receipt")).to_have_count(0)

    form = page.locator("#account-pay-form")
    type_card(form, "4242 4242 4242 4242")
    form.get_by_role("button", name="Pay outstanding").click()
    expect(page.locator("#outstanding")).to_have_text("Nothing owed.")
    expect(form).to_be_hidden()
    expect(history).to_contain_text(f"{plate} · Bay {bay}")
    history.get_by_role("link", name="Receipt").click()
    expect(page).to_have_url(re.compile(r"/receipts/[0-9a-f-]{36}$"))
    for text in (bay, plate, "4.50"):
        expect(page.locator("body")).to_contain_text(text)


def test_a_3d_secure_card_completes_in_the_browser_and_the_stay_is_paid(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A55003", "BY-05-060"
    owed_stay(live_site, plate, bay, now)
    page = browser_page
    look_up_plate(page, live_site, plate)
    expect(page.locator("#unpaid-list li")).to_have_count(1)
    total = page.locator("#unpaid-total").inner_text().removeprefix("To pay: ")
    type_card(page.locator("#card-element"), THREE_D_SECURE_CARD)
    page.locator("#card-form").get_by_role("button", name=f"Pay {total}").click()
    # The bank's challenge (localstripe's stand-in asks on setting the card up, then on paying).
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.locator("#paid")).to_contain_text(f"Paid {total} for {plate}.")
    page.get_by_role("link", name="Receipt").click()
    expect(page.locator("body")).to_contain_text(bay)
    with live_site.session() as db:
        payment = db.scalars(select(Payment).where(Payment.plate == plate)).one()
        assert (payment.status, payment.failure_code) == ("succeeded", None)


def test_a_failed_3d_secure_challenge_leaves_the_stay_payable(
    browser_page: Page, live_site: LiveSite
) -> None:
    now, plate, bay = live_site.clock.now(), "贵A55004", "BY-05-080"
    owed_stay(live_site, plate, bay, now)
    page = browser_page
    look_up_plate(page, live_site, plate)
    type_card(page.locator("#card-element"), THREE_D_SECURE_CARD)
    page.locator("#card-form").get_by_role("button", name=re.compile(r"^Pay ¥")).click()
    page.get_by_role("button", name="Complete authentication").click()  # setting the card up
    page.get_by_role("button", name="Fail authentication").click()  # paying
    expect(page.locator("#pay-error")).to_contain_text("payment_declined")
    expect(page.locator("#paid")).to_be_hidden()
    expect(page.locator("#unpaid-list li")).to_have_count(1)


def test_a_signed_in_driver_saves_a_card_through_a_setup_intent(
    browser_page: Page, live_site: LiveSite
) -> None:
    page = browser_page
    open_driver_page(page, live_site)
    page.get_by_role("button", name="My stays").click()
    page.get_by_label("Email").fill(demo_driver_email(2))
    page.get_by_label("Password").fill(DEMO_DRIVER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    form = page.locator("#save-card-form")
    type_card(form, "4242 4242 4242 4242")
    form.get_by_role("button", name="Save this card").click()
    expect(page.locator("#saved-card")).to_have_text("Card saved: it is charged when your stays end.")
    with live_site.session() as db:
        account = db.scalars(select(DriverAccount).where(DriverAccount.email == demo_driver_email(2))).one()
        assert account.payment_method_id is not None and account.payment_method_id.startswith("pm_")


def test_the_page_loads_stripe_js_from_exactly_the_configured_origin(
    live_site: LiveSite, localstripe: str
) -> None:
    def page_of(settings: dict[str, Any]) -> Any:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": live_site.engine.url.render_as_string(hide_password=False),
                "SQLITE_CHECKPOINT_SECONDS": 0,
            }
            | settings
        )
        page = app.test_client().get(f"/drive/{live_site.slug}")
        cards = app.test_client().post(f"/api/v1/{live_site.slug}/test-cards", json={"number": "4242"})
        app.extensions["parking.engine"].dispose()
        return page, cards

    local, cards = page_of({"STRIPE_API_BASE": localstripe})
    policy = local.headers["Content-Security-Policy"]
    assert f'<script src="{localstripe}/js.stripe.com/v3/" defer>' in local.get_data(as_text=True)
    assert f"script-src 'self' {localstripe};" in policy
    assert f"frame-src {localstripe}" in policy and f"connect-src 'self' {localstripe};" in policy
    assert 'data-stripe-key="pk_test_localstripe"' in local.get_data(as_text=True)
    assert cards.status_code == 404  # no server-side card numbers, test mode or not

    real, _ = page_of(
        {
            "STRIPE_API_KEY": "sk_live_51Hreal",
            "STRIPE_PUBLISHABLE_KEY": "pk_live_51Hreal",
            "STRIPE_WEBHOOK_SECRET": "whsec_from_the_dashboard",
        }
    )
    policy = real.headers["Content-Security-Policy"]
    assert '<script src="https://js.stripe.com/v3/" defer>' in real.get_data(as_text=True)
    assert "script-src 'self' https://js.stripe.com;" in policy
    assert "frame-src https://js.stripe.com https://hooks.stripe.com" in policy
    assert "connect-src 'self' https://api.stripe.com;" in policy
    assert localstripe not in policy and 'data-stripe-key="pk_live_51Hreal"' in real.get_data(as_text=True)
