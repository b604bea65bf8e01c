"""The billing use cases (billing/services.py): charge what is pending and charge the saved
cards of ended stays, each committing the payment before and after the provider answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.auto_charges import plan_auto_charges
from billing.gateway import ChargeResult, GatewayUnavailable
from billing.models import DUE, PAID, PENDING, Payment, Refund, StayFee
from billing.payments import UnknownPaymentError
from billing.plate_links import link_plate
from billing.saved_cards import save_card
from billing.services import charge_pending, charge_saved_cards, give_refund, pay_by_plate
from billing.tariffs import price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.drivers import sign_up
from parking.clock import FixedClock
from parking.models import Stay
from sensors.intake import ingest_batch
from tests.support.fake_gateway import FakeGateway, ScriptedOutcome

SKEW = timedelta(minutes=5)
PLATE = "贵A12345"
FLAT = {  # 3.00 a started half hour, all day
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


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    town = build_small_district(db, clock.now())
    publish_tariff(db, town.district, "standard", FLAT, clock.now() - timedelta(days=30), clock.now())
    return town


def driver_with_card(db: Session, gateway: FakeGateway, clock: FixedClock, card: str = "pm_ok") -> None:
    account = sign_up(db, "driver@example.org", "correct horse battery", None, clock.now())
    link_plate(db, account, PLATE, clock.now() - timedelta(days=1))  # before the stays began
    save_card(db, gateway, account, "pm_ok")
    account.payment_method_id = card  # the card the next charge meets


def parked_70_minutes(db: Session, town: SmallDistrict, clock: FixedClock) -> Stay:
    start = clock.now() - timedelta(hours=3)
    stake, where = town.stake_a, town.bays[0]
    events = [
        cds_event(stake, where, "park_start", start, plate=PLATE, confidence=95),
        cds_event(stake, where, "park_end", start + timedelta(minutes=70)),
    ]
    assert ingest_batch(db, stake.device, events, clock.now(), SKEW).success == 2
    return db.scalars(select(Stay).where(Stay.bay_id == where.id)).one()


def test_a_pending_payment_is_charged_once_however_often_it_is_sent(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway()
    driver_with_card(db, gateway, clock)
    stay = parked_70_minutes(db, town, clock)
    price_ended_stays(db, town.district, clock.now())
    [payment_id] = plan_auto_charges(db, town.district, clock.now())
    db.commit()  # the pending payment exists before the provider is asked

    first = charge_pending(db, gateway, payment_id, clock.now())
    again = charge_pending(db, gateway, payment_id, clock.now())

    assert (first.status, again.status) == ("succeeded", "succeeded")
    assert gateway.captured_amount == 900
    assert db.get_one(StayFee, stay.id).status == PAID


def test_an_unreachable_provider_leaves_the_payment_pending_and_says_so(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway(outcomes={"pm_flaky": ScriptedOutcome("unavailable", message="timeout")})
    driver_with_card(db, gateway, clock, card="pm_flaky")
    parked_70_minutes(db, town, clock)
    price_ended_stays(db, town.district, clock.now())
    [payment_id] = plan_auto_charges(db, town.district, clock.now())
    db.commit()

    with pytest.raises(GatewayUnavailable):
        charge_pending(db, gateway, payment_id, clock.now())

    assert db.get_one(Payment, payment_id).status == PENDING
    assert gateway.captured_amount == 0


def test_charging_saved_cards_prices_the_ended_stays_and_counts_each_outcome(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway()
    driver_with_card(db, gateway, clock)
    stay = parked_70_minutes(db, town, clock)
    db.commit()

    run = charge_saved_cards(db, gateway, [town.district.id], clock.now())
    rerun = charge_saved_cards(db, gateway, [town.district.id], clock.now())

    assert (dict(run.outcomes), run.unavailable) == ({"succeeded": 1}, None)
    assert (dict(rerun.outcomes), rerun.unavailable) == ({}, None)
    assert db.get_one(StayFee, stay.id).status == PAID


def test_an_unreachable_provider_stops_the_run_and_the_fee_stays_due(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway(outcomes={"pm_flaky": ScriptedOutcome("unavailable", message="timeout")})
    driver_with_card(db, gateway, clock, card="pm_flaky")
    stay = parked_70_minutes(db, town, clock)
    db.commit()

    run = charge_saved_cards(db, gateway, [town.district.id], clock.now())

    assert run.unavailable is not None and "timeout" in run.unavailable
    assert db.get_one(StayFee, stay.id).status == DUE


def test_paying_by_plate_charges_once_and_a_repeated_key_answers_the_first_payment(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway()
    stay = parked_70_minutes(db, town, clock)
    price_ended_stays(db, town.district, clock.now())
    db.commit()
    district_id = town.district.id

    first, created = pay_by_plate(db, gateway, district_id, PLATE, 900, "pm_ok", "plate:1:k1", clock.now())
    again, created_again = pay_by_plate(
        db, gateway, district_id, PLATE, 900, "pm_ok", "plate:1:k1", clock.now()
    )

    assert (created, created_again) == (True, False)
    assert first.uuid == again.uuid and again.status == "succeeded"
    assert gateway.captured_amount == 900
    assert db.get_one(StayFee, stay.id).status == PAID


def test_a_refund_asked_in_another_district_finds_no_payment_and_writes_nothing(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway()
    parked_70_minutes(db, town, clock)
    price_ended_stays(db, town.district, clock.now())
    db.commit()
    payment, _ = pay_by_plate(db, gateway, town.district.id, PLATE, 900, "pm_ok", "plate:1:k2", clock.now())

    with pytest.raises(UnknownPaymentError):
        give_refund(db, gateway, town.district.id + 1, payment.uuid, 900, "wrong place", "ops", clock.now())

    assert db.scalars(select(Refund)).all() == []
    refund = give_refund(
        db, gateway, town.district.id, payment.uuid, 300, "bay was closed", "ops", clock.now()
    )
    assert (refund.amount, refund.status) == (300, "succeeded")
    assert gateway.captured_amount == 600


def test_a_crash_while_the_provider_answers_leaves_the_payment_committed_pending_with_its_key(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    class CrashingOnce(FakeGateway):
        crashes = 1

        def charge_off_session(self, *args: Any, **kwargs: Any) -> ChargeResult:
            result = super().charge_off_session(*args, **kwargs)  # the provider took the money...
            if self.crashes:
                self.crashes -= 1
                raise RuntimeError("worker killed")  # ...and the answer never got recorded
            return result

    gateway = CrashingOnce()
    driver_with_card(db, gateway, clock)
    stay = parked_70_minutes(db, town, clock)
    db.commit()

    with pytest.raises(RuntimeError):
        charge_saved_cards(db, gateway, [town.district.id], clock.now())
    db.rollback()  # whatever the crashed unit held is gone; what was committed stays
    [payment] = db.scalars(select(Payment)).all()
    assert payment.status == PENDING

    payment = charge_pending(db, gateway, payment.id, clock.now())
    assert (payment.status, gateway.captured_amount) == ("succeeded", 900)  # the same key: once
    assert db.get_one(StayFee, stay.id).status == PAID


def test_the_provider_is_asked_with_no_transaction_open_not_even_a_read(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    held: list[bool] = []

    class Watching(FakeGateway):
        def charge_off_session(self, *args: Any, **kwargs: Any) -> ChargeResult:
            held.append(db.in_transaction())
            return super().charge_off_session(*args, **kwargs)

    gateway = Watching()
    driver_with_card(db, gateway, clock)
    parked_70_minutes(db, town, clock)
    db.commit()

    run = charge_saved_cards(db, gateway, [town.district.id], clock.now())

    assert (held, dict(run.outcomes)) == ([False], {"succeeded": 1})
