"""Every way a stay gets paid: by plate and by a saved card against a real local
Stripe-compatible server; declines and authentication with the fake gateway (localstripe
cannot produce them); webhooks, refunds, POS cash through the intake, and arrears."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api import create_app
from billing.auto_charges import plan_auto_charges
from billing.gateway import StripeGateway
from billing.ledger import mark_arrears, plate_ledger
from billing.models import ARREARS, DUE, PAID, Notice, Payment, PaymentAllocation, StayFee, StripeEvent
from billing.payments import pay
from billing.plate_links import link_plate
from billing.saved_cards import save_card
from billing.tariffs import price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from fixtures.localstripe import TEST_API_KEY, create_card_payment_method, running_localstripe
from identity.drivers import sign_up
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.models import Stay
from sensors.intake import ingest_batch
from sensors.services import log_pushed_batch
from tests.support.fake_gateway import FakeGateway, sign_webhook

PLATE = "贵A12345"
SKEW = timedelta(seconds=120)
# 300 per started 30 minutes, no free minutes: a 70-minute stay costs 900.
TARIFF = {
    "name": "flat",
    "bands": [
        {
            "name": "all day",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "windows": [["00:00", "24:00"]],
            "tiers": [{"increment_minutes": 30, "amount": 300}],
        }
    ],
}


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    town = build_small_district(db, clock.now())
    publish_tariff(db, town.district, "standard", TARIFF, clock.now() - timedelta(days=30), clock.now())
    return town


def park(
    db: Session, town: SmallDistrict, start: datetime, minutes: int, plate: str = PLATE, bay: int = 0
) -> Stay:
    """A stay of `minutes` seen by a stake, ended and priced."""
    stake, where = town.stake_a, town.bays[bay]
    events = [
        cds_event(stake, where, "park_start", start, plate=plate, confidence=95),
        cds_event(stake, where, "park_end", start + timedelta(minutes=minutes)),
    ]
    result = ingest_batch(db, stake.device, events, start + timedelta(minutes=minutes), SKEW)
    assert result.success == 2, result.failures
    price_ended_stays(db, town.district, start + timedelta(minutes=minutes))
    return db.scalars(select(Stay).where(Stay.bay_id == where.id).order_by(Stay.started_at.desc())).first()  # type: ignore[return-value]


def app_with(connection: Connection, clock: FixedClock, gateway: Any) -> Flask:
    return create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "GATEWAY": gateway})


# --- pay by plate ----------------------------------------------------------------------------


def test_anyone_pays_a_plates_stays_by_card_against_localstripe(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict, localstripe: str
) -> None:
    t0 = clock.now() - timedelta(hours=5)
    first = park(db, town, t0, 70)
    second = park(db, town, t0 + timedelta(hours=2), 20, bay=1)
    gateway = StripeGateway(TEST_API_KEY, localstripe, "whsec_test")
    client = app_with(connection, clock, gateway).test_client()

    owed = client.get(f"/api/v1/testville/plates/{PLATE}/unpaid").get_json()
    assert owed["outstanding"] == 900 + 300
    assert [s["stay"] for s in owed["stays"]] == [first.uuid, second.uuid]  # oldest first

    card = create_card_payment_method(localstripe)
    body = {"amount": 1200, "payment_method": card, "currency": "CNY"}
    response = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments", json=body, headers={"Idempotency-Key": "k1"}
    )
    assert response.status_code == 201, response.get_json()
    paid = response.get_json()
    assert paid["status"] == "succeeded" and paid["amount"] == 1200
    receipt = client.get(paid["receipt_url"])
    assert receipt.status_code == 200 and first.event_ids[0] in receipt.get_data(as_text=True)
    payment = db.scalars(select(Payment).where(Payment.uuid == paid["id"])).one()
    assert gateway.retrieve_payment_intent(payment.payment_intent_id or "").amount == 1200
    assert {f.stay_id: (f.paid, f.status) for f in db.scalars(select(StayFee))} == {
        first.id: (900, PAID),
        second.id: (300, PAID),
    }

    again = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments", json=body, headers={"Idempotency-Key": "k1"}
    )
    assert again.status_code == 200 and again.get_json()["id"] == paid["id"]
    assert db.scalar(select(func.count()).select_from(Payment)) == 1

    more = client.post(f"/api/v1/testville/plates/{PLATE}/payments", json=body)
    assert more.status_code == 409 and more.get_json()["code"] == "nothing_to_pay"
    named = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments", json={**body, "amount": 900, "stays": [first.uuid]}
    )
    assert named.status_code == 409 and named.get_json()["code"] == "already_paid"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": 9.5, "payment_method": "pm_x"}, "invalid_parameters"),
        ({"amount": -100, "payment_method": "pm_x"}, "invalid_parameters"),
        ({"payment_method": "pm_x"}, "invalid_parameters"),
        ({"amount": "900", "payment_method": "pm_x"}, "invalid_parameters"),
        ({"amount": 900, "payment_method": "pm_x", "currency": "USD"}, "invalid_input"),
        ({"amount": 901, "payment_method": "pm_x"}, "amount_mismatch"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(
    db: Session,
    connection: Connection,
    clock: FixedClock,
    town: SmallDistrict,
    body: dict[str, Any],
    code: str,
) -> None:
    park(db, town, clock.now() - timedelta(hours=3), 70)
    client = app_with(connection, clock, FakeGateway()).test_client()
    response = client.post(f"/api/v1/testville/plates/{PLATE}/payments", json=body)
    assert response.status_code in (400, 409)
    assert response.get_json()["code"] == code
    assert db.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_declined_card_leaves_the_stays_payable(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    client = app_with(connection, clock, FakeGateway()).test_client()
    response = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments",
        json={"amount": 900, "payment_method": "pm_insufficient_funds"},
    )
    assert response.status_code == 402
    assert response.get_json()["code"] == "payment_declined"
    assert db.get_one(StayFee, stay.id).status == DUE
    ok = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments", json={"amount": 900, "payment_method": "pm_ok"}
    )
    assert ok.status_code == 201
    assert db.get_one(StayFee, stay.id).status == PAID


# --- saved cards, charged when the stay ends ------------------------------------------------


def test_a_saved_card_is_charged_once_when_the_stay_ends_against_localstripe(
    db: Session, clock: FixedClock, town: SmallDistrict, localstripe: str
) -> None:
    gateway = StripeGateway(TEST_API_KEY, localstripe, "whsec_test")
    now = clock.now()
    account = sign_up(db, "driver@example.org", "correct horse battery", "Driver", now)
    link_plate(db, account, PLATE, now - timedelta(days=1))  # before the stay began
    save_card(db, gateway, account, create_card_payment_method(localstripe))
    stay = park(db, town, now - timedelta(hours=3), 70)

    pending = plan_auto_charges(db, town.district, now)
    assert len(pending) == 1
    payment = db.get_one(Payment, pending[0])
    assert payment.idempotency_key == f"auto:{stay.uuid}:900"
    pay(db, gateway, payment, now)
    assert payment.status == "succeeded"
    assert gateway.retrieve_payment_intent(payment.payment_intent_id or "").status == "succeeded"
    assert db.get_one(StayFee, stay.id).status == PAID
    assert plan_auto_charges(db, town.district, now) == []  # never twice
    assert db.scalar(select(func.count()).select_from(Payment)) == 1


@pytest.mark.parametrize("card", ["pm_declined", "pm_auth_required"])
def test_a_refused_automatic_charge_tells_the_driver_and_the_stay_stays_payable(
    db: Session, clock: FixedClock, town: SmallDistrict, card: str
) -> None:
    gateway = FakeGateway()
    now = clock.now()
    account = sign_up(db, "driver@example.org", "correct horse battery", None, now)
    link_plate(db, account, PLATE, now - timedelta(days=1))  # before the stay began
    save_card(db, gateway, account, "pm_ok")
    account.payment_method_id = card  # the saved card later fails (expired, no funds, 3-D Secure)
    stay = park(db, town, now - timedelta(hours=3), 70)
    payment = db.get_one(Payment, plan_auto_charges(db, town.district, now)[0])
    pay(db, gateway, payment, now)
    assert payment.status in ("declined", "requires_action")
    assert db.get_one(StayFee, stay.id).status == DUE
    notice = db.scalars(select(Notice).where(Notice.account_id == account.id)).one()
    assert "still payable" in notice.message
    assert plan_auto_charges(db, town.district, now) == []  # one automatic try per fee
    assert plate_ledger(db, town.district, PLATE).outstanding == 900


def test_a_crash_between_planning_and_paying_resends_with_the_same_key(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway()
    now = clock.now()
    account = sign_up(db, "driver@example.org", "correct horse battery", None, now)
    link_plate(db, account, PLATE, now - timedelta(days=1))  # before the stay began
    save_card(db, gateway, account, "pm_ok")
    park(db, town, now - timedelta(hours=3), 70)
    first = plan_auto_charges(db, town.district, now)
    crashed = db.begin_nested()  # the provider charged, then we crashed before recording it
    pay(db, gateway, db.get_one(Payment, first[0]), now)
    crashed.rollback()
    db.expire_all()
    assert gateway.captured_amount == 900
    again = plan_auto_charges(db, town.district, now)
    assert again == first  # still pending: sent again
    pay(db, gateway, db.get_one(Payment, again[0]), now)
    assert gateway.captured_amount == 900  # charged once


# --- webhooks ----------------------------------------------------------------------------------


def _webhook(
    client: FlaskClient, event: dict[str, Any], secret: str = "whsec_fake", sign: bool = True
) -> Any:
    payload = json.dumps(event).encode()
    headers = {"Stripe-Signature": sign_webhook(payload, secret, int(time.time()))} if sign else {}
    return client.post("/webhooks/stripe", data=payload, headers=headers, content_type="application/json")


def test_webhooks_are_verified_idempotent_and_never_go_backwards(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    gateway = FakeGateway(webhook_secret="whsec_fake")
    client = app_with(connection, clock, gateway).test_client()
    response = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments",
        json={"amount": 900, "payment_method": "pm_auth_required"},
    )
    assert response.status_code == 202  # the browser finishes 3-D Secure (api/v1/drivers/card_payments.py)
    payment = db.scalars(select(Payment)).one()
    assert payment.status == "requires_action"
    intent = {"id": payment.payment_intent_id, "object": "payment_intent", "amount": 900, "currency": "cny"}
    succeeded = {"id": "evt_1", "type": "payment_intent.succeeded", "created": 2, "data": {"object": intent}}
    failed = {
        "id": "evt_0",
        "type": "payment_intent.payment_failed",
        "created": 1,
        "data": {"object": intent},
    }

    assert _webhook(client, succeeded, secret="wrong").status_code == 400
    assert _webhook(client, succeeded, sign=False).status_code == 400
    assert db.scalar(select(func.count()).select_from(StripeEvent)) == 0
    db.refresh(payment)
    assert payment.status == "requires_action"

    assert _webhook(client, succeeded).get_json()["outcome"] == "payment succeeded"
    assert _webhook(client, succeeded).get_json()["outcome"] == "duplicate"
    assert _webhook(client, failed).get_json()["outcome"] == "already succeeded"  # late, older
    db.refresh(payment)
    assert payment.status == "succeeded"
    assert db.get_one(StayFee, stay.id).status == PAID

    refunded = {
        "id": "evt_2",
        "type": "charge.refunded",
        "data": {
            "object": {
                "id": payment.charge_id,
                "payment_intent": payment.payment_intent_id,
                "amount": 900,
                "currency": "cny",
                "amount_refunded": 300,
            }
        },
    }
    assert _webhook(client, refunded).get_json()["outcome"] == "refunded 300"
    db.refresh(payment)
    assert payment.refunded == 300


# --- refunds -----------------------------------------------------------------------------------


def test_staff_refund_in_part_never_beyond_what_was_paid_against_localstripe(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict, localstripe: str
) -> None:
    park(db, town, clock.now() - timedelta(hours=3), 70)
    gateway = StripeGateway(TEST_API_KEY, localstripe, "whsec_test")
    client = app_with(connection, clock, gateway).test_client()
    card = create_card_payment_method(localstripe)
    paid = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments", json={"amount": 900, "payment_method": card}
    )
    assert paid.status_code == 201
    payment_id = paid.get_json()["id"]
    _, token = issue_staff_token(db, town.district, "bureau", "Ms Refund", clock.now())
    _, warden = issue_staff_token(db, town.district, "warden", "Mr Warden", clock.now())
    url = f"/api/v1/testville/payments/{payment_id}/refunds"

    def refund(body: dict[str, Any], who: str = token) -> Any:
        return client.post(url, json=body, headers={"Authorization": f"Bearer {who}"})

    assert refund({"amount": 100, "reason": "x"}, warden).status_code == 403
    assert refund({"amount": 100}).get_json()["code"] == "invalid_parameters"
    first = refund({"amount": 400, "reason": "charged for a blocked bay"})
    assert first.status_code == 201 and first.get_json()["status"] == "succeeded"
    over = refund({"amount": 501, "reason": "again"})
    assert over.status_code == 409 and over.get_json()["code"] == "refund_exceeds_payment"
    assert refund({"amount": 500, "reason": "the rest"}).status_code == 201
    payment = db.scalars(select(Payment).where(Payment.uuid == payment_id)).one()
    assert payment.refunded == 900
    assert sum(r.amount for r in gateway.list_refunds(payment.payment_intent_id or "")) == 900


# --- POS cash through the intake ---------------------------------------------------------------


def test_pos_cash_is_a_cds_event_through_the_intake_and_a_resend_changes_nothing(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    pos, bay = town.pos, town.bays[0]
    start = cds_event(pos, bay, "park_start", t0, plate=PLATE)
    end = cds_event(
        pos,
        bay,
        "park_end",
        t0 + timedelta(minutes=70),
        actual_cost=900,
        payment_method="cash",
        payment_transaction_id="POS-1-000123",
        data_source_device_name="POS-1",
    )
    for _ in range(2):
        log_pushed_batch(db, town.district, pos.device, [start, end], clock.now(), SKEW)
    payment = db.scalars(select(Payment)).one()
    assert (payment.channel, payment.method, payment.amount, payment.transaction_id) == (
        "pos",
        "cash",
        900,
        "POS-1-000123",
    )
    assert payment.device_id == pos.device.id and payment.event_id == end["event_id"]
    stay = db.scalars(select(Stay).where(Stay.bay_id == bay.id)).one()
    assert db.scalars(select(PaymentAllocation)).one().stay_id == stay.id
    price_ended_stays(db, town.district, clock.now())
    assert (db.get_one(StayFee, stay.id).paid, db.get_one(StayFee, stay.id).status) == (900, PAID)


def test_bad_payment_fields_are_refused_per_event(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=1)
    pos, bay = town.pos, town.bays[0]
    events = [
        cds_event(pos, bay, "park_start", t0, actual_cost=9.5, payment_method="cash"),
        cds_event(pos, bay, "park_start", t0, actual_cost=-1, payment_method="cash"),
        cds_event(pos, bay, "park_start", t0, actual_cost=100, payment_method="gold"),
        cds_event(pos, bay, "park_start", t0, actual_cost=100),
    ]
    result = ingest_batch(db, pos.device, events, clock.now(), SKEW)
    assert [(f.error, f.details) for f in result.failures] == [
        ("invalid_field", ["actual_cost"]),
        ("invalid_field", ["actual_cost"]),
        ("invalid_field", ["payment_method"]),
        ("invalid_field", ["payment_method"]),
    ]


# --- arrears -----------------------------------------------------------------------------------


def test_unpaid_stays_become_arrears_and_a_payment_settles_the_oldest_first(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    now = clock.now()
    old = park(db, town, now - timedelta(days=3), 70)
    recent = park(db, town, now - timedelta(hours=3), 70, bay=1)
    assert mark_arrears(db, town.district, now) == 1  # the 24 h window passed for the old one
    assert mark_arrears(db, town.district, now) == 0
    assert db.get_one(StayFee, old.id).status == ARREARS
    ledger = plate_ledger(db, town.district, PLATE)
    assert (ledger.outstanding, ledger.arrears) == (1800, 900)
    client = app_with(connection, clock, FakeGateway()).test_client()
    response = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments", json={"amount": 900, "payment_method": "pm_ok"}
    )
    assert response.status_code == 201
    assert db.get_one(StayFee, old.id).status == PAID
    assert db.get_one(StayFee, recent.id).status == DUE
