"""Payments nobody can block or double (security review H2, H3, M2, L1; issue 12 item 4;
issue 18 item 4b): stale pending payments, overpayments and their refunds, reused keys,
refunds the provider fails, and saved cards the provider forgot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api.scheduler.jobs import run_job
from billing.auto_charges import plan_auto_charges
from billing.credits import (
    ALLOCATION_CAPPED,
    REFUND_DUE,
    REFUNDED,
    REPRICED,
    STAY_REMOVED,
    Overpayment,
)
from billing.gateway import RefundResult, StripeGateway
from billing.models import (
    DUE,
    FAILED,
    PAID,
    PENDING,
    SUCCEEDED,
    Notice,
    Payment,
    PaymentAllocation,
    Refund,
    StayFee,
)
from billing.payments import plan_plate_payment
from billing.plate_links import link_plate
from billing.reconciliation import reconcile
from billing.saved_cards import save_card
from billing.tariffs import price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from fixtures.localstripe import TEST_API_KEY, create_card_payment_method, running_localstripe
from identity.drivers import sign_up
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.models import Stay
from sensors.devices import device_names
from sensors.intake import ingest_batch
from sensors.services import log_pushed_batch
from tests.integration.test_payments import PLATE, SKEW, TARIFF, _webhook, app_with, park
from tests.support.fake_gateway import FakeGateway

OTHER = "贵B54321"


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    town = build_small_district(db, clock.now())
    publish_tariff(db, town.district, "standard", TARIFF, clock.now() - timedelta(days=30), clock.now())
    return town


def pay_plate(client: FlaskClient, amount: int, card: str, key: str | None = None, plate: str = PLATE) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(
        f"/api/v1/testville/plates/{plate}/payments",
        json={"amount": amount, "payment_method": card},
        headers=headers,
    )


def overpayments(db: Session) -> list[tuple[str, str, int]]:
    return [(o.reason, o.status, o.amount) for o in db.scalars(select(Overpayment).order_by(Overpayment.id))]


# --- H2: a payment the provider never accepted blocks nobody -----------------------------------


def test_a_card_the_provider_refuses_fails_at_once_and_the_owner_pays_against_localstripe(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict, localstripe: str
) -> None:
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    client = app_with(connection, clock, StripeGateway(TEST_API_KEY, localstripe, "whsec_test")).test_client()

    attack = pay_plate(client, 1, "pm_does_not_exist", "x1")  # anyone, no account

    assert attack.status_code in (402, 502), attack.get_json()
    assert db.scalars(select(Payment)).one().status == FAILED
    owner = pay_plate(client, 900, create_card_payment_method(localstripe), "x2")
    assert owner.status_code == 201, owner.get_json()
    assert db.get_one(StayFee, stay.id).status == PAID


def test_an_unreachable_provider_blocks_no_one_and_the_job_fails_the_payment_after_the_timeout(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    app = app_with(connection, clock, FakeGateway())
    client = app.test_client()

    lost = pay_plate(client, 900, "pm_unavailable", "x1")
    assert lost.status_code == 502
    stale = db.scalars(select(Payment)).one()
    assert (stale.status, stale.failure_code) == (PENDING, "provider_unreachable")
    assert "still unanswered" in run_job(app, "settle-payments", "testville")  # sent again, same key

    clock.advance(timedelta(minutes=31))
    assert run_job(app, "settle-payments", "testville") == "payments: 1 timed out"
    db.refresh(stale)
    assert stale.status == FAILED
    assert pay_plate(client, 900, "pm_ok", "x2").status_code == 201
    assert db.get_one(StayFee, stay.id).status == PAID


def test_a_pending_payment_holds_its_stays_only_while_it_is_in_flight(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    park(db, town, clock.now() - timedelta(hours=3), 70)
    now = clock.now()
    plan_plate_payment(db, town.district, PLATE, 900, "pm_ok", "plate:1:a", now)  # then the worker died
    with pytest.raises(Exception, match="in progress"):
        plan_plate_payment(db, town.district, PLATE, 900, "pm_ok", "plate:1:b", now + timedelta(minutes=1))
    later, created = plan_plate_payment(
        db, town.district, PLATE, 900, "pm_ok", "plate:1:c", now + timedelta(minutes=4)
    )
    assert created and later.status == PENDING


# --- H3: never paid twice -----------------------------------------------------------------------


def driver_with_card(db: Session, gateway: Any, now: Any) -> Any:
    account = sign_up(db, "driver@example.org", "correct horse battery", None, now)
    link_plate(db, account, PLATE, now - timedelta(days=1))  # before the stays began
    save_card(db, gateway, account, "pm_ok")
    return account


def test_the_auto_charge_skips_a_stay_being_paid_by_plate(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    now = clock.now()
    driver_with_card(db, FakeGateway(), now)
    park(db, town, now - timedelta(hours=3), 70)
    plan_plate_payment(db, town.district, PLATE, 900, "pm_ok", "plate:1:slow", now)  # provider is slow

    assert plan_auto_charges(db, town.district, now + timedelta(seconds=2)) == []


def test_two_payments_that_both_succeed_pay_the_fee_once_and_the_rest_is_refunded(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    now = clock.now()
    gateway = FakeGateway()
    app = app_with(connection, clock, gateway)
    driver_with_card(db, gateway, now)
    stay = park(db, town, now - timedelta(hours=3), 70)
    auto = db.get_one(Payment, plan_auto_charges(db, town.district, now)[0])  # written, then a crash
    clock.advance(timedelta(minutes=5))  # no longer in flight: the plate payer may pay
    assert pay_plate(app.test_client(), 900, "pm_ok").status_code == 201

    assert run_job(app, "charge-stays", "testville") == "charges: 1 succeeded"  # the crashed one, sent
    db.refresh(auto)
    assert auto.status == SUCCEEDED
    fee = db.get_one(StayFee, stay.id)
    assert (fee.amount, fee.paid, fee.status) == (900, 900, PAID)
    assert overpayments(db) == [(ALLOCATION_CAPPED, REFUND_DUE, 900)]

    assert "1 overpayment refunds succeeded" in run_job(app, "settle-payments", "testville")
    assert overpayments(db) == [(ALLOCATION_CAPPED, REFUNDED, 900)]
    db.refresh(auto)
    assert auto.refunded == 900 and gateway.captured_amount == 900


def test_a_late_success_after_3ds_for_stays_paid_otherwise_becomes_a_refund(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    client = app_with(connection, clock, FakeGateway(webhook_secret="whsec_fake")).test_client()
    assert pay_plate(client, 900, "pm_auth_required").status_code == 202  # 3-D Secure, in the page
    waiting = db.scalars(select(Payment)).one()
    assert pay_plate(client, 900, "pm_ok").status_code == 201  # paid another way meanwhile

    intent = {"id": waiting.payment_intent_id, "amount": 900, "currency": "cny"}
    event = {"id": "evt_1", "type": "payment_intent.succeeded", "created": 1, "data": {"object": intent}}
    assert _webhook(client, event).get_json()["outcome"] == "payment succeeded"

    fee = db.get_one(StayFee, stay.id)
    assert (fee.paid, fee.status) == (900, PAID)
    assert overpayments(db) == [(ALLOCATION_CAPPED, REFUND_DUE, 900)]


# --- issue 12 item 4: a paid stay re-priced lower -----------------------------------------------


def test_a_paid_stay_shortened_by_a_late_event_is_refunded_the_difference_and_listed(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    stay = park(db, town, t0, 70)
    gateway = FakeGateway()
    app = app_with(connection, clock, gateway)
    assert pay_plate(app.test_client(), 900, "pm_ok").status_code == 201

    late = cds_event(town.stake_a, town.bays[0], "park_end", t0 + timedelta(minutes=20))
    assert ingest_batch(db, town.stake_a.device, [late], clock.now(), SKEW).success == 1
    price_ended_stays(db, town.district, clock.now())

    fee = db.get_one(StayFee, stay.id)
    assert (fee.amount, fee.paid, fee.status) == (300, 300, PAID)
    assert overpayments(db) == [(REPRICED, REFUND_DUE, 600)]
    day = clock.now().astimezone(ZoneInfo(town.district.time_zone)).date()
    listed = reconcile(db, town.district, day, now=clock.now(), device_names=device_names)
    assert [(o.reason, o.amount, o.stay) for o in listed.overpayments] == [(REPRICED, 600, stay.uuid)]
    assert [m.kind for m in listed.internal_mismatches] == []
    run_job(app, "settle-payments", "testville")
    assert overpayments(db) == [(REPRICED, REFUNDED, 600)]
    assert db.scalars(select(Payment)).one().refunded == 600


def test_a_paid_stay_a_late_event_removes_entirely_is_refunded_in_full_and_listed(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    """Issue 12 follow-up: a paid stay that a late event folded into another one was only
    listed as `allocation_to_missing_stay`; its money now goes back like a shortened stay's."""
    t0 = clock.now() - timedelta(hours=4)
    park(db, town, t0, 30)
    paid_id = park(db, town, t0 + timedelta(minutes=60), 70).id
    gateway = FakeGateway()
    app = app_with(connection, clock, gateway)
    assert pay_plate(app.test_client(), 900 + 300, "pm_ok").status_code == 201
    payment = db.scalars(select(Payment)).one()
    park(db, town, t0 + timedelta(minutes=150), 10, plate=OTHER, bay=1)  # (SQLite reuses a top id)

    # The same car seen arriving in the gap: the paid stay's start now continues a new stay.
    late = cds_event(town.stake_a, town.bays[0], "park_start", t0 + timedelta(minutes=45), plate=PLATE)
    assert ingest_batch(db, town.stake_a.device, [late], clock.now(), SKEW).success == 1
    db.expire_all()
    assert db.get(Stay, paid_id) is None
    price_ended_stays(db, town.district, clock.now())

    assert overpayments(db) == [(STAY_REMOVED, REFUND_DUE, 900)]
    assert sum(a.amount for a in db.scalars(select(PaymentAllocation))) == 300  # the first stay's
    day = clock.now().astimezone(ZoneInfo(town.district.time_zone)).date()
    listed = reconcile(db, town.district, day, now=clock.now(), device_names=device_names)
    assert [(o.reason, o.amount, o.stay) for o in listed.overpayments] == [(STAY_REMOVED, 900, None)]
    assert [m.kind for m in listed.internal_mismatches] == []
    run_job(app, "settle-payments", "testville")
    assert overpayments(db) == [(STAY_REMOVED, REFUNDED, 900)]
    db.expire_all()
    assert db.get_one(Payment, payment.id).refunded == 900
    assert price_ended_stays(db, town.district, clock.now()) == 0  # and nothing twice
    assert len(overpayments(db)) == 1


# --- M2: an Idempotency-Key answers only the payment it made ------------------------------------


def test_a_reused_idempotency_key_with_another_plate_or_amount_is_refused(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    park(db, town, clock.now() - timedelta(hours=3), 70)
    park(db, town, clock.now() - timedelta(hours=3), 70, plate=OTHER, bay=1)
    client = app_with(connection, clock, FakeGateway()).test_client()
    first = pay_plate(client, 900, "pm_ok", "1001")
    assert first.status_code == 201

    for response in (
        pay_plate(client, 900, "pm_ok", "1001", plate=OTHER),
        pay_plate(client, 300, "pm_ok", "1001"),
        pay_plate(client, 900, "pm_other", "1001"),
    ):
        assert response.status_code == 409
        assert response.get_json()["code"] == "idempotency_key_reused"
        assert "receipt_url" not in response.get_json()
    again = pay_plate(client, 900, "pm_ok", "1001")
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert db.scalar(select(func.count()).select_from(Payment)) == 1


# --- L1: refunds are booked as the provider reports them ----------------------------------------


class PendingRefunds(FakeGateway):
    """A provider that answers every refund `pending` (a bank transfer, say)."""

    def refund(
        self, payment_intent_id: str, amount: int, reason_code: str, idempotency_key: str
    ) -> RefundResult:
        done = super().refund(payment_intent_id, amount, reason_code, idempotency_key)
        return RefundResult(done.id, "pending", done.amount)


def refund_via_api(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock, amount: int
) -> Any:
    payment = db.scalars(select(Payment)).one()
    _, token = issue_staff_token(db, town.district, "bureau", "Ms Refund", clock.now())
    return client.post(
        f"/api/v1/testville/payments/{payment.uuid}/refunds",
        json={"amount": amount, "reason": "blocked bay"},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize("kind", ["refund.updated", "refund.failed"])
def test_a_pending_refund_is_booked_pending_and_a_failed_one_un_refunds_the_payment(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict, kind: str
) -> None:
    park(db, town, clock.now() - timedelta(hours=3), 70)
    client = app_with(connection, clock, PendingRefunds(webhook_secret="whsec_fake")).test_client()
    assert pay_plate(client, 900, "pm_ok").status_code == 201

    answer = refund_via_api(client, db, town, clock, 900)
    assert answer.status_code == 201 and answer.get_json()["status"] == "pending"
    payment, refund = db.scalars(select(Payment)).one(), db.scalars(select(Refund)).one()
    assert payment.refunded == 0
    failed = {
        "id": refund.refund_id,
        "payment_intent": payment.payment_intent_id,
        "status": "failed",
        "amount": 900,
        "currency": "cny",
    }
    assert _webhook(client, {"id": "evt_f", "type": kind, "data": {"object": failed}}).status_code == 200
    db.refresh(refund)
    db.refresh(payment)
    assert (refund.status, payment.refunded) == (FAILED, 0)


def test_a_refund_reported_succeeded_then_failed_gives_the_money_back_to_the_payment(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    park(db, town, clock.now() - timedelta(hours=3), 70)
    client = app_with(connection, clock, FakeGateway(webhook_secret="whsec_fake")).test_client()
    assert pay_plate(client, 900, "pm_ok").status_code == 201
    assert refund_via_api(client, db, town, clock, 900).get_json()["status"] == "succeeded"
    payment, refund = db.scalars(select(Payment)).one(), db.scalars(select(Refund)).one()
    assert payment.refunded == 900

    failed = {
        "id": refund.refund_id,
        "payment_intent": payment.payment_intent_id,
        "status": "failed",
        "amount": 900,
        "currency": "cny",
    }
    outcome = _webhook(client, {"id": "evt_f", "type": "refund.updated", "data": {"object": failed}})

    assert outcome.get_json()["outcome"] == "refund failed: refunded 0"
    db.refresh(payment)
    db.refresh(refund)
    assert (payment.refunded, refund.status) == (0, FAILED)


# --- issue 18 item 4b: a saved card the provider forgot ----------------------------------------


def test_a_saved_card_the_provider_forgot_is_marked_unusable_and_the_driver_told_against_localstripe(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict, localstripe: str
) -> None:
    now = clock.now()
    gateway = StripeGateway(TEST_API_KEY, localstripe, "whsec_test")
    app: Flask = app_with(connection, clock, gateway)
    account = sign_up(db, "driver@example.org", "correct horse battery", None, now)
    link_plate(db, account, PLATE, now - timedelta(days=1))  # before the stays began
    save_card(db, gateway, account, create_card_payment_method(localstripe))
    account.customer_id = "cus_forgotten_by_a_restart"  # localstripe keeps no state across restarts
    stay = park(db, town, now - timedelta(hours=3), 70)

    assert run_job(app, "charge-stays", "testville") == "charges: 1 failed"
    payment = db.scalars(select(Payment)).one()
    assert (payment.status, payment.failure_code) == (FAILED, "card_unknown")
    assert db.get_one(StayFee, stay.id).status == DUE
    notice = db.scalars(select(Notice).where(Notice.account_id == account.id)).one()
    assert "save your card again" in notice.message.lower()
    park(db, town, now - timedelta(hours=1), 20, bay=1)
    assert run_job(app, "charge-stays", "testville") == "charges: none due"  # not retried for ever

    client = app.test_client()
    token = client.post(
        "/api/v1/drivers/sessions", json={"email": "driver@example.org", "password": "correct horse battery"}
    ).get_json()["token"]
    me = client.get("/api/v1/drivers/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (me["card_saved"], me["card_usable"]) == (True, False)


# --- the review's POS observation, issue 18 item 3: cash and QR only for what is owed ----------


def pos_paid(db: Session, town: SmallDistrict, events: list[dict[str, Any]], at: Any) -> Payment:
    result = log_pushed_batch(db, town.district, town.pos.device, events, at, SKEW)
    assert result.success == len(events), result.failures
    return db.scalars(select(Payment).order_by(Payment.id.desc())).first()  # type: ignore[return-value]


def test_a_pos_reporting_more_than_owed_is_booked_at_the_fee_and_the_excess_flagged(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    pos, bay = town.pos, town.bays[0]
    start = cds_event(pos, bay, "park_start", t0, plate=PLATE)
    end = cds_event(
        pos, bay, "park_end", t0 + timedelta(minutes=70), actual_cost=100_000_000, payment_method="cash"
    )

    payment = pos_paid(db, town, [start, end], clock.now())

    assert payment.amount == 900  # the 70-minute fee
    assert overpayments(db) == [("pos_excess", "not_taken", 100_000_000 - 900)]
    price_ended_stays(db, town.district, clock.now())
    assert db.scalars(select(StayFee)).one().paid == 900
    day = clock.now().astimezone(ZoneInfo(town.district.time_zone)).date()
    listed = reconcile(db, town.district, day, now=clock.now(), device_names=device_names)
    assert listed.collected == 900
    assert [(o.reason, o.status, o.amount) for o in listed.overpayments] == overpayments(db)
    assert listed.internal_mismatches == []


def test_money_for_a_free_stay_is_not_booked(db: Session, clock: FixedClock) -> None:
    town = build_small_district(db, clock.now())  # no tariff: every stay is free
    t0 = clock.now() - timedelta(hours=1)
    events = [
        cds_event(town.pos, town.bays[0], "park_start", t0, plate=PLATE),
        cds_event(
            town.pos,
            town.bays[0],
            "park_end",
            t0 + timedelta(minutes=30),
            actual_cost=500,
            payment_method="cash",
        ),
    ]

    payment = pos_paid(db, town, events, clock.now())

    assert (payment.amount, payment.status) == (0, SUCCEEDED)
    assert overpayments(db) == [("pos_excess", "not_taken", 500)]


def test_qr_taken_before_the_driver_leaves_is_booked_up_to_the_fee_a_few_minutes_on(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(minutes=50)
    pos, bay = town.pos, town.bays[0]
    start = cds_event(pos, bay, "park_start", t0, plate=PLATE)
    paid = cds_event(
        pos,
        bay,
        "vehicle_detected",
        t0 + timedelta(minutes=55),
        plate=PLATE,
        actual_cost=5_000,
        payment_method="digital_wallet",
    )

    payment = pos_paid(db, town, [start, paid], clock.now() + timedelta(minutes=6))

    assert payment.amount == 900  # the meter at 70 minutes (55 + 15), not the 5,000 reported
    assert overpayments(db) == [("pos_excess", "not_taken", 4_100)]


def test_a_strangers_stale_pending_payment_does_not_block_the_owners_account_payment(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway()
    driver_with_card(db, gateway, clock.now())
    park(db, town, clock.now() - timedelta(hours=3), 70)
    plan_plate_payment(db, town.district, PLATE, 1, "pm_x", "plate:1:stranger", clock.now())  # never sent
    client = app_with(connection, clock, gateway).test_client()
    token = client.post(
        "/api/v1/drivers/sessions", json={"email": "driver@example.org", "password": "correct horse battery"}
    ).get_json()["token"]

    def pay_mine() -> Any:
        return client.post(
            "/api/v1/drivers/me/payments", json={"amount": 900}, headers={"Authorization": f"Bearer {token}"}
        )

    assert pay_mine().get_json()["code"] == "payment_in_progress"  # it may still be in flight
    clock.advance(timedelta(minutes=4))
    assert pay_mine().status_code == 201
