"""Daily reconciliation: a hand-built day gives the expected totals; the provider disagreeing
(as the sync-provider job copied its charges), an allocation to a stay that is gone, a fee's
`paid` that drifted and a payment pending too long are all listed; the route never calls the
provider; and one copy paged from a real local Stripe-compatible server."""

from __future__ import annotations

import csv
import gc
import io
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from api import create_app
from api.scheduler.jobs import run_job
from billing.gateway import ChargeRecord, GatewayUnavailable, StripeGateway
from billing.models import PENDING, Payment, Refund, StayFee
from billing.provider_records import sync_provider
from billing.reconciliation import InternalMismatch, ProviderMismatch, Reconciliation, reconcile
from billing.tariffs import price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district
from fixtures.localstripe import TEST_API_KEY, create_card_payment_method, running_localstripe
from fixtures.tariffs import STANDARD
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.models import Stay
from sensors.devices import device_names
from tests.api.test_receipts import add_payment
from tests.support.fake_gateway import FakeGateway
from tests.support.stays import add_stay

DAY = date(2026, 3, 2)  # TEST_NOW is 10:00 that day in Asia/Shanghai
URL = "/api/v1/testville/reconciliation"
LOOK_BACK = timedelta(days=3)
SYNC_DELAY = timedelta(minutes=1)  # the job runs after the payments were made


@dataclass
class Day:
    small: SmallDistrict
    gateway: FakeGateway
    card: Payment
    cash: Payment
    stays: dict[str, Stay]
    fees: dict[str, StayFee]


def priced_district(db: Session, now: datetime) -> SmallDistrict:
    small = build_small_district(db, now - timedelta(days=90))
    publish_tariff(
        db, small.district, "standard", STANDARD, now - timedelta(days=60), now - timedelta(days=60)
    )
    return small


def pay_by_card(
    db: Session,
    small: SmallDistrict,
    gateway: FakeGateway | StripeGateway,
    stay: Stay,
    now: datetime,
    payment_method: str = "pm_card_visa",
) -> Payment:
    """Charge the stay's fee through the gateway and record it as the payment flow would."""
    fee = db.get_one(StayFee, stay.id)
    result = gateway.pay_now(payment_method, fee.amount, "CNY", str(uuid.uuid4()), "parking", {})
    assert result.status == "succeeded"
    payment = add_payment(db, small, [stay], now)
    payment.payment_intent_id, payment.charge_id = result.payment_intent_id, result.charge_id
    db.flush()
    return payment


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def day(db: Session, clock: FixedClock, gateway: FakeGateway) -> Day:
    """A paid card stay (partly refunded), a cash POS stay, an unpaid stay; and yesterday's stay."""
    now = clock.now()
    small = priced_district(db, now)
    stays = {
        "card": add_stay(db, small.bay("T1-1"), now - timedelta(hours=3), now - timedelta(minutes=30)),
        "cash": add_stay(db, small.bay("T1-2"), now - timedelta(hours=2), now - timedelta(hours=1)),
        "unpaid": add_stay(db, small.bay("T2-1"), now - timedelta(hours=2), now - timedelta(minutes=15)),
        "yesterday": add_stay(
            db, small.bay("T2-2"), now - timedelta(days=1, hours=3), now - timedelta(days=1)
        ),
    }
    price_ended_stays(db, small.district, now)
    card = pay_by_card(db, small, gateway, stays["card"], now)
    gateway.refund(card.payment_intent_id or "", 100, "requested_by_customer", "refund-1")
    card.refunded = 100
    db.add(
        Refund(
            payment_id=card.id,
            amount=100,
            reason="sensor fault",
            staff="admin one",
            status="succeeded",
            created_at=now,
        )
    )
    cash = add_payment(
        db, small, [stays["cash"]], now - timedelta(minutes=50), channel="pos", method="cash",
        device_id=small.pos.device.id, attendant="Li Wei", transaction_id="T-0001",
    )  # fmt: skip
    db.commit()
    fees = {name: db.get_one(StayFee, stay.id) for name, stay in stays.items()}
    return Day(small, gateway, card, cash, stays, fees)


def run(db: Session, day: Day, clock: FixedClock, gateway: object | None = None) -> Reconciliation:
    """Copy the provider's charges (as the sync-provider job does), then reconcile the day."""
    sync_provider(db, gateway or day.gateway, clock.now() + SYNC_DELAY, LOOK_BACK)  # type: ignore[arg-type]
    return reconcile(db, day.small.district, DAY, now=clock.now(), device_names=device_names)


def test_a_hand_built_day_gives_the_expected_totals(db: Session, clock: FixedClock, day: Day) -> None:
    result = run(db, day, clock)

    card, cash, unpaid = (day.fees[name].amount for name in ("card", "cash", "unpaid"))
    assert min(card, cash, unpaid) > 0
    by_status = {s.status: (s.count, s.billed, s.paid, s.outstanding) for s in result.stays}
    assert by_status == {"paid": (2, card + cash, card + cash, 0), "due": (1, unpaid, 0, unpaid)}
    assert (result.stays_total.count, result.stays_total.outstanding) == (3, unpaid)
    assert [(p.channel, p.method, p.status, p.count, p.amount, p.refunded) for p in result.payments] == [
        ("plate", "credit_card", "succeeded", 1, card, 100),
        ("pos", "cash", "succeeded", 1, cash, 0),
    ]
    assert (result.collected, result.refunded) == (card + cash, 100)
    assert [(t.device, t.attendant, t.method, t.count, t.amount) for t in result.terminals] == [
        ("POS-1", "Li Wei", "cash", 1, cash)
    ]
    assert (result.provider.checked, result.provider.unchecked, result.provider.error) == (1, 0, None)
    assert result.provider_mismatches == [] and result.internal_mismatches == []


def test_the_provider_changing_behind_the_databases_back_is_listed(
    db: Session, clock: FixedClock, day: Day
) -> None:
    intent_id = day.card.payment_intent_id or ""
    day.gateway.refund(intent_id, 200, "requested_by_customer", "refund-behind-our-back")
    day.gateway.payments[intent_id] = replace(day.gateway.payments[intent_id], amount=day.card.amount + 1)

    result = run(db, day, clock)

    assert result.provider_mismatches == [
        ProviderMismatch(day.card.uuid, "amount", day.card.amount, day.card.amount + 1),
        ProviderMismatch(day.card.uuid, "refunded", 100, 300),
    ]


def test_a_payment_intent_the_provider_does_not_know_is_a_mismatch(
    db: Session, clock: FixedClock, day: Day
) -> None:
    day.gateway.payments.pop(day.card.payment_intent_id or "")

    result = run(db, day, clock)

    assert result.provider_mismatches == [
        ProviderMismatch(day.card.uuid, "payment_intent", day.card.payment_intent_id, None)
    ]


def test_a_provider_outage_is_reported_not_hidden(db: Session, clock: FixedClock, day: Day) -> None:
    class Down(FakeGateway):
        def list_charges(self, created_after: datetime, page_size: int = 100) -> list[ChargeRecord]:
            raise GatewayUnavailable("Stripe could not list charges: connection refused")

    result = run(db, day, clock, Down())

    assert (result.provider.checked, result.provider.unchecked, result.provider.synced_at) == (0, 1, None)
    assert result.provider.error is not None and "connection refused" in result.provider.error


def test_before_any_copy_and_for_payments_newer_than_it_nothing_is_claimed_checked(
    db: Session, clock: FixedClock, day: Day
) -> None:
    never = reconcile(db, day.small.district, DAY, now=clock.now(), device_names=device_names)
    assert (never.provider.checked, never.provider.unchecked) == (0, 1)
    assert never.provider.error == "the provider's charges were never copied: run the sync-provider job"

    sync_provider(db, day.gateway, clock.now() - SYNC_DELAY, LOOK_BACK)  # before the card payment
    early = reconcile(db, day.small.district, DAY, now=clock.now(), device_names=device_names)
    assert (early.provider.checked, early.provider.unchecked, early.provider.error) == (0, 1, None)
    assert early.provider.synced_at == clock.now() - SYNC_DELAY
    assert early.provider_mismatches == []


def test_an_allocation_to_a_stay_that_is_gone_is_listed(db: Session, clock: FixedClock, day: Day) -> None:
    stay_id = day.stays["cash"].id
    db.delete(day.stays["cash"])  # a late event re-derived it away (its fee goes with it)
    db.commit()

    result = run(db, day, clock)

    assert result.internal_mismatches == [
        InternalMismatch("allocation_to_missing_stay", day.cash.uuid, str(stay_id), None, day.cash.amount)
    ]
    assert sum(s.count for s in result.stays) == 2


def test_drifted_fees_bad_allocations_and_stale_pending_payments_are_listed(
    db: Session, clock: FixedClock, day: Day
) -> None:
    day.fees["unpaid"].paid = 50
    day.cash.amount += 10
    stale = add_payment(
        db, day.small, [day.stays["unpaid"]], clock.now() - timedelta(minutes=90), status=PENDING
    )
    db.commit()

    kinds = {
        (m.kind, m.payment, m.stay, m.expected, m.actual) for m in run(db, day, clock).internal_mismatches
    }

    assert kinds == {
        ("allocations_do_not_add_up", day.cash.uuid, None, day.cash.amount, day.cash.amount - 10),
        ("fee_paid_differs", None, day.stays["unpaid"].uuid, 0, 50),
        ("payment_pending_too_long", stale.uuid, None, None, 90),
    }


def test_against_a_real_local_stripe_a_provider_side_refund_is_a_mismatch(
    db: Session, clock: FixedClock
) -> None:
    now = clock.now()
    small = priced_district(db, now)
    stay = add_stay(db, small.bay("T1-1"), now - timedelta(hours=3), now - timedelta(minutes=30))
    price_ended_stays(db, small.district, now)
    others = [
        add_stay(db, small.bay(bay), now - timedelta(hours=3), now - timedelta(minutes=30))
        for bay in ("T1-2", "T2-1")
    ]
    price_ended_stays(db, small.district, now)
    with running_localstripe() as base_url:
        stripe = StripeGateway(TEST_API_KEY, base_url, "whsec_reconcile", max_network_retries=0)
        payment = pay_by_card(db, small, stripe, stay, now, create_card_payment_method(base_url))
        for other in others:
            pay_by_card(db, small, stripe, other, now, create_card_payment_method(base_url))
        db.commit()
        # The real clock: localstripe stamps charges with it, and the copy looks back from it.
        wall = datetime.now(UTC)
        assert len(stripe.list_charges(wall - LOOK_BACK, page_size=2)) == 3  # two pages

        sync_provider(db, stripe, wall, LOOK_BACK)
        clean = reconcile(db, small.district, DAY, now=now, device_names=device_names)
        stripe.refund(payment.payment_intent_id or "", 100, "requested_by_customer", str(uuid.uuid4()))
        sync_provider(db, stripe, wall + SYNC_DELAY, LOOK_BACK)
        refunded = reconcile(db, small.district, DAY, now=now, device_names=device_names)

    assert (clean.provider.checked, clean.provider.error) == (3, None)
    assert clean.provider_mismatches == [] and clean.internal_mismatches == []
    assert refunded.provider_mismatches == [ProviderMismatch(payment.uuid, "refunded", 0, 100)]


@pytest.fixture
def app(connection: Connection, clock: FixedClock, gateway: FakeGateway) -> Flask:
    return create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "GATEWAY": gateway})


def token(db: Session, day: Day, clock: FixedClock, role: str) -> dict[str, str]:
    _, plain = issue_staff_token(db, day.small.district, role, f"{role} one", clock.now())
    db.commit()
    return {"Authorization": f"Bearer {plain}"}


def copy_provider(db: Session, day: Day, clock: FixedClock) -> None:
    sync_provider(db, day.gateway, clock.now() + SYNC_DELAY, LOOK_BACK)
    db.commit()


class NoProvider:
    """A gateway that fails the test on any use."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the reconciliation route called the payment provider ({name})")


def test_the_route_never_calls_the_payment_provider(
    connection: Connection, db: Session, clock: FixedClock, day: Day
) -> None:
    copy_provider(db, day, clock)
    app = create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "GATEWAY": NoProvider()})
    headers = token(db, day, clock, "bureau")

    for query in ("date=2026-03-02", "date=2026-03-02&format=csv"):
        assert app.test_client().get(f"{URL}?{query}", headers=headers).status_code == 200


def test_the_endpoint_answers_json_for_bureau_staff(
    client: FlaskClient, db: Session, clock: FixedClock, day: Day
) -> None:
    copy_provider(db, day, clock)
    response = client.get(f"{URL}?date=2026-03-02", headers=token(db, day, clock, "bureau"))

    assert response.status_code == 200
    body = response.get_json()
    assert body["date"] == "2026-03-02" and body["currency"] == "CNY"
    assert body["stays_total"]["count"] == 3
    assert body["terminals"][0]["device"] == "POS-1"
    assert body["provider_mismatches"] == [] and body["internal_mismatches"] == []
    assert body["provider"] == {
        "checked": 1,
        "unchecked": 0,
        "error": None,
        "synced_at": (clock.now() + SYNC_DELAY).isoformat(),
    }


def test_the_csv_has_one_section_per_table(
    client: FlaskClient, db: Session, clock: FixedClock, day: Day
) -> None:
    day.gateway.refund(day.card.payment_intent_id or "", 50, "requested_by_customer", "behind")
    copy_provider(db, day, clock)

    response = client.get(f"{URL}?date=2026-03-02&format=csv", headers=token(db, day, clock, "admin"))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    titles = [rows[i][0] for i in range(len(rows)) if i == 0 or (rows[i - 1] == [] and rows[i])]
    assert titles == [
        "summary",
        "stays",
        "payments",
        "terminals",
        "provider_mismatches",
        "internal_mismatches",
        "overpayments",
    ]
    mismatches = rows.index(["provider_mismatches"])
    assert rows[mismatches + 1] == ["payment", "field", "database", "provider"]
    assert rows[mismatches + 2] == [day.card.uuid, "refunded", "100", "150"]
    terminals = rows.index(["terminals"])
    assert rows[terminals + 2][:3] == ["POS-1", "Li Wei", "cash"]


@pytest.mark.parametrize(
    ("role", "query", "status", "code"),
    [
        (None, "date=2026-03-02", 401, "unauthorized"),
        ("warden", "date=2026-03-02", 403, "forbidden"),
        ("attendant", "date=2026-03-02", 403, "forbidden"),
        ("bureau", "date=2026-02-30", 400, "invalid_parameters"),
        ("bureau", "date=02/03/2026", 400, "invalid_parameters"),
        ("bureau", "", 400, "invalid_parameters"),
        ("bureau", "date=2026-03-02&format=xlsx", 400, "invalid_parameters"),
    ],
)
def test_the_endpoint_refuses_strangers_other_roles_and_bad_dates(
    client: FlaskClient,
    db: Session,
    clock: FixedClock,
    day: Day,
    role: str | None,
    query: str,
    status: int,
    code: str,
) -> None:
    headers = token(db, day, clock, role) if role else {}

    response = client.get(f"{URL}?{query}", headers=headers)

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code


def test_the_sync_provider_job_copies_the_charges_and_says_when_the_provider_is_down(
    connection: Connection, db: Session, clock: FixedClock, day: Day
) -> None:
    class Down(FakeGateway):
        def list_charges(self, created_after: datetime, page_size: int = 100) -> list[ChargeRecord]:
            raise GatewayUnavailable("Stripe could not list charges: connection refused")

    settings = {"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock}
    up = create_app(settings | {"GATEWAY": day.gateway})
    down = create_app(settings | {"GATEWAY": Down()})

    assert run_job(up, "sync-provider") == "1 provider charges copied"
    assert run_job(down, "sync-provider") == (
        "payment provider unavailable, will retry: Stripe could not list charges: connection refused"
    )
    result = reconcile(db, day.small.district, DAY, now=clock.now() + SYNC_DELAY, device_names=device_names)
    # the good copy began at the same instant as the card payment: that payment is not claimed checked
    assert (result.provider.synced_at, result.provider.unchecked) == (clock.now(), 1)
    assert result.provider.error is not None and "connection refused" in result.provider.error


PILOT_DAY_CARD_PAYMENTS = 700  # ~5,500 stays a day, about one in eight paid by card


def test_a_pilot_day_of_card_payments_reconciles_in_a_few_queries(
    connection: Connection, db: Session, clock: FixedClock, gateway: FakeGateway
) -> None:
    """The route's cost does not grow with the payments: a fixed number of queries (no
    provider call, no query per payment). Timing: docs/BENCHMARKS.md (run with -s)."""
    now = clock.now()
    small = priced_district(db, now)
    # Overlapping stays on the district's eight bays: reconciliation does not care, pricing
    # neither, and a fee needs 20 minutes (the first 15 are free).
    stays = [
        add_stay(
            db,
            small.bays[i % len(small.bays)],
            now - timedelta(hours=2) + i * timedelta(seconds=8),
            now - timedelta(hours=2) + i * timedelta(seconds=8) + timedelta(minutes=20),
        )
        for i in range(PILOT_DAY_CARD_PAYMENTS)
    ]
    price_ended_stays(db, small.district, now)
    for stay in stays:
        pay_by_card(db, small, gateway, stay, now)
    sync_provider(db, gateway, now + SYNC_DELAY, LOOK_BACK)
    _, plain = issue_staff_token(db, small.district, "bureau", "bureau one", now)
    db.commit()
    client = create_app(
        {"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "GATEWAY": NoProvider()}
    ).test_client()
    statements: list[str] = []
    listen = (connection, "before_cursor_execute", lambda *args, **_: statements.append(args[2]))

    event.listen(*listen)
    db.expunge_all()  # as in a server: the request's objects are the only ones alive
    gc.collect()
    started = time.perf_counter()
    response = client.get(f"{URL}?date=2026-03-02", headers={"Authorization": f"Bearer {plain}"})
    elapsed = time.perf_counter() - started
    event.remove(*listen)

    assert response.status_code == 200
    provider = response.get_json()["provider"]
    assert (provider["checked"], provider["unchecked"]) == (PILOT_DAY_CARD_PAYMENTS, 0)
    assert response.get_json()["provider_mismatches"] == []
    assert len(statements) <= 20, statements
    print(f"\nreconciliation of {PILOT_DAY_CARD_PAYMENTS} card payments: {elapsed * 1000:.0f} ms")
