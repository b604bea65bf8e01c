"""A signed-in driver's own stays, what their plates owe, paying it, and their notifications:
every endpoint, its 401, and that another driver's plate never shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api import create_app
from billing.ledger import mark_arrears
from billing.models import ARREARS, PAID, Payment, PaymentAllocation, StayFee
from billing.notifications import collect_events
from billing.tariffs import price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.models import Stay
from sensors.intake import ingest_batch
from tests.support.fake_gateway import FakeGateway

ALICE_PLATE, BOB_PLATE = "贵A12345", "贵B54321"
SKEW = timedelta(seconds=120)
# 300 per started 30 minutes, at most 120 minutes: a 70-minute stay costs 900.
TARIFF = {
    "name": "flat",
    "max_stay_minutes": 120,
    "bands": [
        {
            "name": "all day",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "windows": [["00:00", "24:00"]],
            "tiers": [{"increment_minutes": 30, "amount": 300}],
        }
    ],
}
ME = "/api/v1/drivers/me"


@dataclass
class Drivers:
    town: SmallDistrict
    client: FlaskClient
    alice: dict[str, str]
    bob: dict[str, str]


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def app(connection: Connection, clock: FixedClock, gateway: FakeGateway) -> Flask:
    return create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "GATEWAY": gateway})


@pytest.fixture
def drivers(db: Session, client: FlaskClient, clock: FixedClock) -> Drivers:
    town = build_small_district(db, clock.now() - timedelta(days=40))
    publish_tariff(db, town.district, "standard", TARIFF, clock.now() - timedelta(days=30), clock.now())
    _, admin = issue_staff_token(db, town.district, "admin", "admin one", clock.now())
    clock.advance(-timedelta(days=10))  # the plates are linked ten days ago
    alice = sign_up(client, "alice@example.org", ALICE_PLATE, admin)
    bob = sign_up(client, "bob@example.org", BOB_PLATE, admin)
    clock.advance(timedelta(days=10))
    return Drivers(town, client, alice, bob)


def sign_up(client: FlaskClient, email: str, plate: str, admin: str) -> dict[str, str]:
    """A driver who signed up and signed in, with `plate` linked (staff approved the claim)."""
    password = "correct horse battery"
    assert client.post("/api/v1/drivers", json={"email": email, "password": password}).status_code == 202
    token = client.post("/api/v1/drivers/sessions", json={"email": email, "password": password})
    auth = {"Authorization": f"Bearer {token.get_json()['token']}"}
    link(client, auth, plate, admin)
    return auth


def link(client: FlaskClient, auth: dict[str, str], plate: str, admin: str) -> None:
    asked = client.post(f"{ME}/plates", json={"plate": plate}, headers=auth)
    assert asked.status_code == 202, asked.get_json()
    claim = asked.get_json()["claim"]
    staff = {"Authorization": f"Bearer {admin}"}
    approved = client.post(f"/api/v1/testville/plate-claims/{claim}/approve", headers=staff)
    assert approved.status_code == 200, approved.get_json()


def park(
    db: Session, town: SmallDistrict, plate: str, start: datetime, minutes: int | None, bay: int = 0
) -> Stay:
    """A stay seen by a stake: ended and priced after `minutes`, or still open (None)."""
    stake, where = town.stake_a, town.bays[bay]
    events = [cds_event(stake, where, "park_start", start, plate=plate, confidence=95)]
    end = start + timedelta(minutes=minutes or 0)
    if minutes is not None:
        events.append(cds_event(stake, where, "park_end", end))
    assert ingest_batch(db, stake.device, events, end, SKEW).success == len(events)
    price_ended_stays(db, town.district, end)
    return db.scalars(select(Stay).where(Stay.bay_id == where.id).order_by(Stay.started_at.desc())).one()


def get(d: Drivers, path: str, auth: dict[str, str], **query: Any) -> Any:
    response = d.client.get(f"{ME}{path}", headers=auth, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/stays/current"),
        ("get", "/stays/history"),
        ("get", "/outstanding"),
        ("post", "/payments"),
        ("get", "/notifications"),
        ("post", "/callback"),
    ],
)
def test_my_endpoints_need_a_valid_driver_token(client: FlaskClient, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer dr_not-a-token"}):
        response = getattr(client, method)(f"{ME}{path}", headers=headers, json={})
        assert response.status_code == 401
        assert response.get_json()["code"] == "unauthorized"


def test_a_current_stay_shows_its_fee_so_far_the_time_left_and_the_band(
    db: Session, drivers: Drivers, clock: FixedClock
) -> None:
    stay = park(db, drivers.town, ALICE_PLATE, clock.now() - timedelta(minutes=70), None)
    park(db, drivers.town, ALICE_PLATE, clock.now() - timedelta(hours=5), 20, bay=1)  # ended: not current
    [current] = get(drivers, "/stays/current", drivers.alice)["stays"]
    assert current["id"] == stay.uuid and current["plate"] == ALICE_PLATE
    assert (current["bay"], current["road"], current["district"]) == ("T1-1", "Jianshan Road", "testville")
    assert current["elapsed_seconds"] == 70 * 60
    assert (current["fee_so_far"], current["currency"]) == (900, "CNY")  # three started half hours
    assert (current["max_stay_minutes"], current["time_left_seconds"]) == (120, 50 * 60)
    assert current["band"] == "all day"
    clock.advance(timedelta(hours=1))
    [later] = get(drivers, "/stays/current", drivers.alice)["stays"]
    assert (later["fee_so_far"], later["time_left_seconds"]) == (1500, 0)  # past the max stay


def test_history_lists_my_ended_stays_newest_first_in_pages_with_their_receipts(
    db: Session, drivers: Drivers, clock: FixedClock
) -> None:
    now = clock.now()
    oldest = park(db, drivers.town, ALICE_PLATE, now - timedelta(hours=9), 70)
    middle = park(db, drivers.town, ALICE_PLATE, now - timedelta(hours=6), 20, bay=1)
    newest = park(db, drivers.town, ALICE_PLATE, now - timedelta(hours=3), 40, bay=2)
    paid = drivers.client.post(
        f"{ME}/payments", json={"amount": 900, "payment_method": "pm_ok"}, headers=drivers.alice
    )
    assert paid.status_code == 201, paid.get_json()

    first = get(drivers, "/stays/history", drivers.alice, page_size=2)
    assert (first["total"], first["page"], first["page_size"]) == (3, 1, 2)
    assert [s["id"] for s in first["stays"]] == [newest.uuid, middle.uuid]
    assert first["stays"][0] | {"id": None} == {
        "id": None,
        "district": "testville",
        "plate": ALICE_PLATE,
        "bay": "T1-3",
        "road": "Jianshan Road",
        "started_at": first["stays"][0]["started_at"],
        "ended_at": first["stays"][0]["ended_at"],
        "fee": 600,
        "paid": 0,
        "currency": "CNY",
        "status": "due",
        "receipt_urls": [],
    }
    [last] = get(drivers, "/stays/history", drivers.alice, page=2, page_size=2)["stays"]
    assert last["id"] == oldest.uuid
    assert (last["fee"], last["paid"], last["status"]) == (900, 900, PAID)
    assert last["receipt_urls"] == [paid.get_json()["receipt_url"]]
    assert drivers.client.get(last["receipt_urls"][0]).status_code == 200
    bad = drivers.client.get(f"{ME}/stays/history?page_size=1000", headers=drivers.alice)
    assert bad.status_code == 400


def test_another_drivers_plate_is_never_visible(db: Session, drivers: Drivers, clock: FixedClock) -> None:
    now = clock.now()
    park(db, drivers.town, BOB_PLATE, now - timedelta(minutes=30), None)
    park(db, drivers.town, BOB_PLATE, now - timedelta(hours=4), 70, bay=1)
    mark_arrears(db, drivers.town.district, now + timedelta(days=2))
    collect_events(db, now + timedelta(days=2), timedelta(days=7))
    alice = drivers.alice
    assert get(drivers, "/stays/current", alice)["stays"] == []
    assert get(drivers, "/stays/history", alice) | {"page_size": 0} == {
        "stays": [],
        "page": 1,
        "page_size": 0,
        "total": 0,
    }
    assert get(drivers, "/outstanding", alice) == {"districts": []}
    assert get(drivers, "/notifications", alice) == {"notifications": [], "cursor": 0}
    paying = drivers.client.post(
        f"{ME}/payments", json={"amount": 900, "payment_method": "pm_ok"}, headers=alice
    )
    assert paying.status_code == 409 and paying.get_json()["code"] == "nothing_to_pay"
    taken = drivers.client.post(f"{ME}/plates", json={"plate": BOB_PLATE}, headers=alice)
    assert taken.status_code == 202 and taken.get_json()["status"] == "pending"  # staff decide it
    assert get(drivers, "/stays/current", alice)["stays"] == []
    # Bob sees his own.
    assert len(get(drivers, "/stays/current", drivers.bob)["stays"]) == 1
    assert get(drivers, "/stays/history", drivers.bob)["total"] == 1
    assert [n["kind"] for n in get(drivers, "/notifications", drivers.bob)["notifications"]] == ["arrears"]


def test_stays_that_ended_before_i_linked_the_plate_stay_private(
    db: Session, drivers: Drivers, clock: FixedClock
) -> None:
    park(db, drivers.town, ALICE_PLATE, clock.now() - timedelta(days=20), 70)  # its former driver
    mine = park(db, drivers.town, ALICE_PLATE, clock.now() - timedelta(hours=2), 70, bay=1)
    assert [s["id"] for s in get(drivers, "/stays/history", drivers.alice)["stays"]] == [mine.uuid]


def test_i_pay_what_my_plates_owe_with_my_saved_card_oldest_arrears_first_once_per_key(
    db: Session, drivers: Drivers, clock: FixedClock, gateway: FakeGateway
) -> None:
    now = clock.now()
    client, alice = drivers.client, drivers.alice
    second_plate = "贵A99999"
    admin = issue_staff_token(db, drivers.town.district, "admin", "admin two", now)[1]
    link(client, alice, second_plate, admin)
    old = park(db, drivers.town, ALICE_PLATE, now - timedelta(days=3), 70)  # 900, in arrears
    recent = park(db, drivers.town, second_plate, now - timedelta(hours=2), 20, bay=1)  # 300, due
    mark_arrears(db, drivers.town.district, now)

    owed = get(drivers, "/outstanding", alice)["districts"]
    assert [(d["district"], d["outstanding"], d["arrears"]) for d in owed] == [("testville", 1200, 900)]
    assert [(s["stay"], s["plate"], s["owed"], s["status"]) for s in owed[0]["stays"]] == [
        (old.uuid, ALICE_PLATE, 900, ARREARS),
        (recent.uuid, second_plate, 300, "due"),
    ]

    no_card = client.post(f"{ME}/payments", json={"amount": 1000}, headers=alice)
    assert no_card.status_code == 409 and no_card.get_json()["code"] == "no_saved_card"
    assert client.put(f"{ME}/card", json={"payment_method": "pm_ok"}, headers=alice).status_code == 200

    key = {**alice, "Idempotency-Key": "pay-1"}
    paid = client.post(f"{ME}/payments", json={"amount": 1000}, headers=key)
    assert paid.status_code == 201, paid.get_json()
    body = paid.get_json()
    assert (body["amount"], body["status"], body["channel"], body["plate"]) == (
        1000,
        "succeeded",
        "account",
        None,
    )
    assert body["receipt_url"].endswith(body["id"])
    payment = db.scalars(select(Payment).where(Payment.uuid == body["id"])).one()
    assert payment.payment_method_id == "pm_ok" and gateway.captured_amount == 1000
    allocated = {
        r.stay_id: r.amount for r in db.execute(select(PaymentAllocation.stay_id, PaymentAllocation.amount))
    }
    assert allocated == {old.id: 900, recent.id: 100}
    assert db.get_one(StayFee, old.id).status == PAID
    assert get(drivers, "/outstanding", alice)["districts"][0]["outstanding"] == 200

    again = client.post(f"{ME}/payments", json={"amount": 1000}, headers=key)
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert db.scalar(select(func.count()).select_from(Payment)) == 1 and gateway.captured_amount == 1000

    too_much = client.post(f"{ME}/payments", json={"amount": 201}, headers=alice)
    assert too_much.status_code == 409 and too_much.get_json()["code"] == "amount_mismatch"
    unknown = client.post(f"{ME}/payments", json={"amount": 200, "district": "nowhere"}, headers=alice)
    assert unknown.status_code == 404
    declined = client.post(
        f"{ME}/payments", json={"amount": 200, "payment_method": "pm_declined"}, headers=alice
    )
    assert declined.status_code == 402 and declined.get_json()["code"] == "payment_declined"
    assert get(drivers, "/outstanding", alice)["districts"][0]["outstanding"] == 200
    for bad in ({"amount": 9.5}, {"amount": "200"}, {}, {"amount": -1}):
        response = client.post(f"{ME}/payments", json=bad, headers=alice)
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_parameters"


def test_my_notifications_are_read_after_a_cursor(db: Session, drivers: Drivers, clock: FixedClock) -> None:
    now = clock.now()
    first = park(db, drivers.town, ALICE_PLATE, now - timedelta(days=3), 70)
    mark_arrears(db, drivers.town.district, now)
    collect_events(db, now, timedelta(days=7))
    page = get(drivers, "/notifications", drivers.alice)
    [notice] = page["notifications"]
    assert notice["kind"] == "arrears" and notice["data"]["stay"] == first.uuid
    assert notice["data"]["owed"] == 900 and "arrears" in notice["message"]
    assert page["cursor"] == notice["id"]

    second = park(db, drivers.town, ALICE_PLATE, now - timedelta(days=2), 20, bay=1)
    mark_arrears(db, drivers.town.district, now)
    collect_events(db, now, timedelta(days=7))
    newer = get(drivers, "/notifications", drivers.alice, after=page["cursor"])
    assert [n["data"]["stay"] for n in newer["notifications"]] == [second.uuid]
    assert newer["cursor"] > page["cursor"]
    assert get(drivers, "/notifications", drivers.alice, after=newer["cursor"])["notifications"] == []
    assert len(get(drivers, "/notifications", drivers.alice, limit=1)["notifications"]) == 1


def test_a_callback_is_an_http_url_to_a_public_address_and_gets_a_new_secret_each_time(
    drivers: Drivers,
) -> None:
    client, alice = drivers.client, drivers.alice
    for url, code in [
        ("ftp://example.org/hook", "invalid_parameters"),
        ("not a url", "invalid_parameters"),
        ("http://127.0.0.1:9000/hook", "invalid_callback_url"),
        ("http://10.1.2.3/hook", "invalid_callback_url"),
        ("http://localhost/hook", "invalid_callback_url"),
        ("https://user:pw@example.org/hook", "invalid_callback_url"),
    ]:
        response = client.post(f"{ME}/callback", json={"url": url}, headers=alice)
        assert response.status_code == 400, url
        assert response.get_json()["code"] == code, url
    first = client.post(f"{ME}/callback", json={"url": "https://app.example.org/hook"}, headers=alice)
    assert first.status_code == 201
    body = first.get_json()
    assert body["url"] == "https://app.example.org/hook"
    assert body["secret"].startswith("nsec_") and body["signature_header"] == "X-Parking-Signature"
    second = client.post(f"{ME}/callback", json={"url": "https://app.example.org/v2"}, headers=alice)
    assert second.get_json()["secret"] != body["secret"]


def test_a_notification_reads_in_the_language_the_driver_asks_for(
    db: Session, drivers: Drivers, clock: FixedClock
) -> None:
    now = clock.now()
    park(db, drivers.town, ALICE_PLATE, now - timedelta(days=3), 70)
    mark_arrears(db, drivers.town.district, now)
    collect_events(db, now, timedelta(days=7))

    chinese = get(drivers, "/notifications", {**drivers.alice, "Accept-Language": "zh-CN"})["notifications"][
        0
    ]
    english = get(drivers, "/notifications", {**drivers.alice, "Accept-Language": "en"})["notifications"][0]

    assert chinese["message"].startswith("您在") and "现已转为欠费：¥9.00" in chinese["message"]
    assert "is unpaid and now in arrears: CN¥9.00" in english["message"]
    assert chinese["data"] == english["data"]
