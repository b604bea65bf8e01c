"""Disputes (issue 15): a driver contests a fee or a citation, the bureau decides, the
decision adjusts the fee (a refund through a real local Stripe-compatible server when it was
paid, a credit when it was not) or the citation, the driver is told, and the queue counts
every outcome."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api import create_app
from billing.credits import Overpayment
from billing.gateway import StripeGateway
from billing.models import Payment, Refund, StayFee, StayFeeCap
from billing.plate_links import link_plate
from billing.reconciliation import check_ledger
from billing.tariffs import price_ended_stays
from enforcement.models import Dispute
from fixtures.builders import SmallDistrict, cds_event
from fixtures.localstripe import TEST_API_KEY, create_card_payment_method, running_localstripe
from identity.drivers import issue_token, sign_up
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from sensors.intake import ingest_batch
from tests.integration.test_payments import PLATE, SKEW, park
from tests.integration.test_payments import town as town  # noqa: F401  (the fixture)
from tests.support.fake_gateway import FakeGateway

API = "/api/v1/testville"


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


def client_with(connection: Connection, clock: FixedClock, gateway: object) -> FlaskClient:
    app = create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "GATEWAY": gateway})
    return app.test_client()


def staff(db: Session, town: SmallDistrict, role: str, clock: FixedClock) -> dict[str, str]:
    token = issue_staff_token(db, town.district, role, f"{role} one", clock.now())[1]
    return {"Authorization": f"Bearer {token}"}


def driver(db: Session, clock: FixedClock) -> dict[str, str]:
    account = sign_up(db, "li@example.org", "correct horse battery", "Li", clock.now())
    link_plate(db, account, PLATE, clock.now() - timedelta(hours=4))  # before the stays it disputes
    return {"Authorization": f"Bearer {issue_token(db, account, timedelta(hours=1), clock.now())}"}


def test_a_driver_disputes_a_paid_fee_and_the_bureau_adjusts_it_with_a_refund_and_a_notice(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict, localstripe: str
) -> None:
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)  # 900
    me, bureau = driver(db, clock), staff(db, town, "bureau", clock)
    db.commit()
    client = client_with(connection, clock, StripeGateway(TEST_API_KEY, localstripe, "whsec_test"))
    card = create_card_payment_method(localstripe)
    paid = client.post(f"{API}/plates/{PLATE}/payments", json={"amount": 900, "payment_method": card})
    assert paid.status_code == 201, paid.get_json()

    opened = client.post(
        "/api/v1/drivers/me/disputes",
        json={"stay": stay.uuid, "reason": "I left after 40 minutes"},
        headers=me,
    )
    assert opened.status_code == 201, opened.get_json()
    assert (opened.get_json()["status"], opened.get_json()["amount_before"]) == ("open", 900)
    queue = client.get(f"{API}/disputes?status=open", headers=bureau).get_json()
    assert [d["id"] for d in queue["disputes"]] == [opened.get_json()["id"]]
    decision = {"outcome": "adjusted", "amount": 600, "reason": "the stake missed the departure"}
    decided = client.post(f"{API}/disputes/{opened.get_json()['id']}/decision", json=decision, headers=bureau)

    body = decided.get_json()
    assert decided.status_code == 200, body
    assert (body["outcome"], body["amount_after"], body["refunded"], body["decided_by"]) == (
        "adjusted",
        600,
        300,
        "bureau one",
    )
    refund = db.scalars(select(Refund)).one()
    assert (refund.amount, refund.status) == (300, "succeeded") and refund.refund_id
    assert db.scalars(select(Payment)).one().refunded == 300
    fee = db.get_one(StayFee, stay.id)
    assert (fee.amount, fee.status) == (600, "paid")
    [notice] = client.get("/api/v1/drivers/me/notices", headers=me).get_json()["notices"]
    assert notice["kind"] == "dispute_decided" and "adjusted" in notice["message"]
    counts = client.get(f"{API}/disputes", headers=bureau).get_json()["counts"]
    assert counts == {"open": 0, "upheld": 0, "adjusted": 1, "cancelled": 0}
    again = client.post(f"{API}/disputes/{opened.get_json()['id']}/decision", json=decision, headers=bureau)
    assert (again.status_code, again.get_json()["code"]) == (409, "dispute_decided")


def test_anyone_disputes_an_unpaid_fee_by_plate_and_a_cancelled_fee_is_owed_no_more(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    bureau = staff(db, town, "bureau", clock)
    warden = staff(db, town, "warden", clock)
    db.commit()
    client = client_with(connection, clock, FakeGateway())
    body = {"stay": stay.uuid, "reason": "not my car"}

    wrong = client.post(f"{API}/plates/贵B99999/disputes", json=body)
    assert (wrong.status_code, wrong.get_json()["code"]) == (404, "unknown_stay")
    opened = client.post(f"{API}/plates/{PLATE}/disputes", json=body).get_json()
    twice = client.post(f"{API}/plates/{PLATE}/disputes", json=body)
    assert (twice.status_code, twice.get_json()["code"]) == (409, "dispute_open")
    assert client.get(f"{API}/disputes", headers=warden).status_code == 403
    decision = {"outcome": "cancelled", "reason": "a misread plate"}
    decided = client.post(f"{API}/disputes/{opened['id']}/decision", json=decision, headers=bureau).get_json()

    assert (decided["amount_after"], decided["refunded"]) == (0, 0)
    assert client.get(f"{API}/plates/{PLATE}/unpaid").get_json()["outstanding"] == 0
    assert db.get_one(StayFee, stay.id).status == "free"


# --- a decision survives re-pricing --------------------------------------------------------------


def decide_on(
    client: FlaskClient, stay: str, bureau: dict[str, str], outcome: str, amount: int | None
) -> None:
    opened = client.post(f"{API}/plates/{PLATE}/disputes", json={"stay": stay, "reason": "too long"})
    decision = {"outcome": outcome, "amount": amount, "reason": "the stake missed the departure"}
    if amount is None:
        del decision["amount"]
    decided = client.post(f"{API}/disputes/{opened.get_json()['id']}/decision", json=decision, headers=bureau)
    assert decided.status_code == 200, decided.get_json()


def end_late(db: Session, town: SmallDistrict, clock: FixedClock, at: datetime) -> StayFee:
    """A late park_end from the stake re-derives the stay to end at `at`, then pricing runs."""
    late = cds_event(town.stake_a, town.bays[0], "park_end", at)
    assert ingest_batch(db, town.stake_a.device, [late], clock.now(), SKEW).success == 1
    price_ended_stays(db, town.district, clock.now())
    db.commit()
    fee = db.scalars(select(StayFee).execution_options(populate_existing=True)).one()
    return fee


def test_an_adjusted_fee_stays_adjusted_when_a_late_event_re_derives_the_stay(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    stay = park(db, town, t0, 70)  # 900 at the tariff
    bureau = staff(db, town, "bureau", clock)
    db.commit()
    client = client_with(connection, clock, FakeGateway())
    decide_on(client, stay.uuid, bureau, "adjusted", 500)

    fee = end_late(db, town, clock, t0 + timedelta(minutes=40))  # 600 at the tariff now

    assert fee.stay_id == stay.id
    assert (fee.amount, fee.status) == (500, "due")
    assert (fee.breakdown["dispute_cap"]["amount"], fee.breakdown["dispute_cap"]["priced"]) == (500, 600)
    assert client.get(f"{API}/plates/{PLATE}/unpaid").get_json()["outstanding"] == 500
    assert price_ended_stays(db, town.district, clock.now()) == 0  # nothing left to re-price


def test_a_late_event_that_makes_the_tariff_fee_lower_than_the_decision_lowers_it_further(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    stay = park(db, town, t0, 70)
    bureau = staff(db, town, "bureau", clock)
    db.commit()
    client = client_with(connection, clock, FakeGateway())
    decide_on(client, stay.uuid, bureau, "adjusted", 500)

    fee = end_late(db, town, clock, t0 + timedelta(minutes=20))  # 300 at the tariff

    assert (fee.amount, fee.status) == (300, "due")


def test_a_cancelled_fee_stays_free_when_a_late_event_re_derives_the_stay(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    cancelled = park(db, town, t0, 70)
    bureau = staff(db, town, "bureau", clock)
    db.commit()
    client = client_with(connection, clock, FakeGateway())
    decide_on(client, cancelled.uuid, bureau, "cancelled", None)

    fee = end_late(db, town, clock, t0 + timedelta(minutes=40))

    assert (fee.amount, fee.status) == (0, "free")


def test_a_paid_fee_adjusted_with_a_refund_is_not_refunded_again_when_a_late_event_re_prices_it(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    stay = park(db, town, t0, 70)  # 900
    bureau = staff(db, town, "bureau", clock)
    db.commit()
    client = client_with(connection, clock, FakeGateway())
    paid = client.post(f"{API}/plates/{PLATE}/payments", json={"amount": 900, "payment_method": "pm_ok"})
    assert paid.status_code == 201, paid.get_json()
    decide_on(client, stay.uuid, bureau, "adjusted", 600)  # 300 back through the provider

    fee = end_late(db, town, clock, t0 + timedelta(minutes=40))  # 600 at the tariff as well

    assert (fee.amount, fee.paid, fee.status) == (600, 600, "paid")
    given = db.scalars(select(Overpayment)).all()  # the 300 went back once, by the decision
    assert [(o.reason, o.amount, o.status) for o in given] == [("dispute", 300, "refunded")]
    assert [r.amount for r in db.scalars(select(Refund))] == [300]
    assert check_ledger(db, list(db.scalars(select(Payment))), [fee], clock.now()) == []


def test_a_decision_that_lowers_a_fee_writes_its_cap_into_billings_own_table_and_upheld_writes_none(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    stay = park(db, town, t0, 70)
    bureau = staff(db, town, "bureau", clock)
    db.commit()
    client = client_with(connection, clock, FakeGateway())
    decide_on(client, stay.uuid, bureau, "upheld", None)
    assert db.scalars(select(StayFeeCap)).all() == []

    decide_on(client, stay.uuid, bureau, "adjusted", 500)

    cap = db.scalars(select(StayFeeCap)).one()
    dispute = db.scalars(select(Dispute).where(Dispute.outcome == "adjusted")).one()
    assert (cap.stay_id, cap.decision, cap.amount, cap.decided_at) == (
        stay.id,
        dispute.uuid,
        500,
        clock.now(),
    )


def test_a_driver_disputes_only_stays_of_their_plates_since_the_link_and_names_one_thing(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    before_the_link = park(db, town, clock.now() - timedelta(hours=6), 70)
    me = driver(db, clock)  # linked 4 hours ago
    db.commit()
    client = client_with(connection, clock, FakeGateway())
    mine = "/api/v1/drivers/me/disputes"

    old = client.post(mine, json={"stay": before_the_link.uuid, "reason": "not me"}, headers=me)
    unknown = client.post(mine, json={"citation": "0" * 36, "reason": "not me"}, headers=me)
    neither = client.post(mine, json={"reason": "not me"}, headers=me)

    for answer in (old, unknown):
        assert answer.status_code == 404
        assert answer.get_json() | {"type": None} == {
            "type": None,
            "title": "no such stay or citation of your plates",
            "status": 404,
            "code": "not_mine",
            "errors": ["stay", "citation"],
        }
    assert (neither.status_code, neither.get_json()["code"]) == (400, "invalid_dispute")
    assert neither.get_json()["errors"] == ["stay", "citation"]
    assert db.scalars(select(Dispute)).all() == []


def test_staff_asking_for_a_payment_the_district_does_not_have_are_told_its_id(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    bureau = staff(db, town, "bureau", clock)
    db.commit()
    client = client_with(connection, clock, FakeGateway())

    answer = client.get(f"{API}/payments/{'0' * 36}", headers=bureau)

    assert answer.status_code == 404
    assert (answer.get_json()["code"], answer.get_json()["title"]) == (
        "unknown_payment",
        f"no payment {'0' * 36}",
    )
