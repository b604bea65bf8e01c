"""The bureau's money figures hold on 30 simulated days (issue 18 item 3): whatever POS
terminals report and however payments race, paid on fees never exceeds billed, the collection
rate never exceeds 100%, and collected less refunds is card + cash + QR less refunds.

Each example is 30 days of the street simulator on one road of four bays of the small test
district (a stake and a POS), through the intake, priced, paid by plate (sometimes twice at
once), at the curb (sometimes over-reported, up to 100,000,000), and refunded in part."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import plate_ledger
from billing.models import CHANNEL_POS, SUCCEEDED, Payment, PaymentAllocation, Refund, StayFee
from billing.overpayment_refunds import overpayment_refunds_to_send, plan_overpayment_refunds
from billing.payments import pay, plan_plate_payment
from billing.refunds import plan_refund, send_refund
from billing.tariffs import price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district
from fixtures.simulator import SimBay, simulate_day
from fixtures.tariffs import DEMO_TARIFFS
from parking.clock import FixedClock
from reports.periods import period_of
from reports.places import find_place
from reports.summary import summary_report
from sensors.intake import ingest_batch
from sensors.services import log_pushed_batch
from tests.support.fake_gateway import FakeGateway

DAYS = 30
SKEW = timedelta(seconds=120)
ZONE = ZoneInfo("Asia/Shanghai")


def road_one(town: SmallDistrict) -> list[SimBay]:
    stake, pos = town.stake_a.device, town.pos.device
    return [
        SimBay(
            b.name, b.uuid, town.roads[0].uuid, b.lat, b.lng, (stake.uuid, stake.name), (pos.uuid, pos.name)
        )
        for b in town.bays[:4]
    ]


def push_day(
    db: Session, town: SmallDistrict, events: list[dict[str, Any]], at: datetime, rng: random.Random
) -> None:
    """Stakes first, then the POS (its payment meets the stay), some payments over-reported."""
    camera = [e for e in events if e["data_source_type"] == "camera"]
    by_hand = [e for e in events if e["data_source_type"] != "camera"]
    for event in by_hand:
        if "actual_cost" in event and rng.random() < 0.3:
            event["actual_cost"] = rng.choice([event["actual_cost"] * 3, 100_000_000])
    assert ingest_batch(db, town.stake_a.device, camera, at, SKEW).failures == []
    result = log_pushed_batch(db, town.district, town.pos.device, by_hand, at, SKEW)
    assert result.failures == []


def pay_by_plate(
    db: Session, town: SmallDistrict, gateway: FakeGateway, at: datetime, rng: random.Random
) -> None:
    """Some owing plates pay by card; now and then two payers race past the in-flight window."""
    due = select(StayFee.plate).where(StayFee.status == "due", StayFee.priced_at == at)  # priced today
    plates = sorted(set(db.scalars(due)) - {None})
    for n, plate in enumerate(p for p in plates if p and rng.random() < 0.5):
        owed = plate_ledger(db, town.district, plate).outstanding
        if owed == 0:
            continue
        amount = owed if rng.random() < 0.7 else rng.randint(1, owed)
        first, _ = plan_plate_payment(db, town.district, plate, amount, "pm_ok", f"k:{at}:{n}", at)
        if rng.random() < 0.3:  # the first payer's worker died; a second payer comes later
            second, _ = plan_plate_payment(
                db, town.district, plate, amount, "pm_ok", f"k2:{at}:{n}", at + timedelta(minutes=4)
            )
            pay(db, gateway, second, at + timedelta(minutes=4))
        pay(db, gateway, first, at + timedelta(minutes=5))


def refund_some(
    db: Session, town: SmallDistrict, gateway: FakeGateway, at: datetime, rng: random.Random
) -> None:
    """Overpayments are refunded (the settle-payments job); staff refund part of a payment."""
    plan_overpayment_refunds(db, town.district.id, at)
    for refund_id in overpayment_refunds_to_send(db, town.district.id):
        send_refund(db, gateway, db.get_one(Refund, refund_id), at)
    today = Payment.created_at >= at - timedelta(hours=1)
    taken = list(
        db.scalars(
            select(Payment).where(Payment.status == SUCCEEDED, Payment.amount > Payment.refunded, today)
        )
    )
    for payment in taken:
        if rng.random() < 0.05:
            _, refund = plan_refund(
                db, payment.uuid, rng.randint(1, payment.amount - payment.refunded), "x", "s", at
            )
            if payment.payment_intent_id is not None:
                send_refund(db, gateway, refund, at)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), stays=st.integers(4, 12))
def test_the_money_figures_hold_on_thirty_simulated_days(
    db: Session, clock: FixedClock, seed: int, stays: int
) -> None:
    example = db.begin_nested()
    try:
        check_thirty_days(db, clock, seed, stays)
    finally:
        example.rollback()
        db.expunge_all()  # the next example reuses the rolled-back ids


def check_thirty_days(db: Session, clock: FixedClock, seed: int, stays: int) -> None:
    rng = random.Random(seed)
    first_day = clock.now().astimezone(ZONE).date() - timedelta(days=DAYS)
    town = build_small_district(db, clock.now() - timedelta(days=DAYS + 1))
    since = datetime.combine(first_day, time(), ZONE)
    publish_tariff(db, town.district, "standard", DEMO_TARIFFS["standard"], since, since)
    gateway = FakeGateway()
    for i in range(DAYS):
        start = datetime.combine(first_day + timedelta(days=i), time(), ZONE)
        at = start + timedelta(days=1, minutes=30)
        push_day(db, town, simulate_day(road_one(town), start, seed * 100 + i, stays), at, rng)
        price_ended_stays(db, town.district, at)
        pay_by_plate(db, town, gateway, at, rng)
        refund_some(db, town, gateway, at + timedelta(minutes=10), rng)

    place = find_place(db, town.district, "district", None)
    for i in range(DAYS):
        day = first_day + timedelta(days=i)
        revenue = summary_report(
            db, town.district, place, period_of("day", day, ZONE), clock.now()
        ).current.revenue
        assert revenue.paid <= revenue.billed, day
        assert revenue.collection_rate is None or revenue.collection_rate <= 1, day
        card, cash, qr, refunds = taken_on(db, day)
        assert revenue.collected - revenue.refunded == card + cash + qr - refunds, day
        assert sum(amount for _, _, amount in revenue.channels) == revenue.collected, day
    for fee in db.scalars(select(StayFee)):
        allocated = db.scalar(
            select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(PaymentAllocation.stay_id == fee.stay_id, Payment.status == SUCCEEDED)
        )
        assert fee.paid == allocated <= fee.amount


def taken_on(db: Session, day: Any) -> tuple[int, int, int, int]:
    """Card, cash and QR booked on a local day, and what was refunded on them, from the rows."""
    start = datetime.combine(day, time(), ZONE)
    rows = db.execute(
        select(Payment.channel, Payment.method, Payment.amount, Payment.refunded).where(
            Payment.status == SUCCEEDED,
            Payment.created_at >= start,
            Payment.created_at < start + timedelta(days=1),
        )
    ).all()
    card = sum(r.amount for r in rows if r.channel != CHANNEL_POS)
    cash = sum(r.amount for r in rows if r.channel == CHANNEL_POS and r.method == "cash")
    qr = sum(r.amount for r in rows if r.channel == CHANNEL_POS and r.method != "cash")
    return card, cash, qr, sum(r.refunded for r in rows)
