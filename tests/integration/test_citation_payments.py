"""A standing citation is payable like a stay (issue 15): it is on the plate's ledger with
its amount and counts in `outstanding`, a card payment by plate pays it whole against a real
local Stripe-compatible server, with a receipt, and the plate check then shows it paid."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api import create_app
from billing.gateway import StripeGateway
from billing.models import Payment
from enforcement.citations import change_citation_status, issue_citation
from enforcement.models import Citation, Violation
from fixtures.localstripe import TEST_API_KEY, create_card_payment_method, running_localstripe
from parking.clock import FixedClock
from tests.api.test_warden_api import API, PLATE, Town, add_task
from tests.api.test_warden_api import town as town  # noqa: F401  (the fixture)
from tests.support.fake_gateway import FakeGateway


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


def cite(db: Session, town: Town, bay: str) -> Citation:
    task = add_task(db, town, bay, timedelta(minutes=40))
    violation = db.get_one(Violation, task.violation_id)
    citation = issue_citation(db, town.small.district, violation.uuid, "warden one", town.now)
    db.commit()
    return citation


def client_with(connection: Connection, clock: FixedClock, gateway: object) -> FlaskClient:
    app = create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "GATEWAY": gateway})
    return app.test_client()


def test_anyone_pays_a_standing_citation_by_plate_and_the_plate_check_shows_it_paid(
    db: Session, connection: Connection, clock: FixedClock, town: Town, localstripe: str
) -> None:
    citation = cite(db, town, "T1-2")
    client = client_with(connection, clock, StripeGateway(TEST_API_KEY, localstripe, "whsec_test"))

    owed = client.get(f"{API}/plates/{PLATE}/unpaid").get_json()
    assert owed["outstanding"] == 20_000 and owed["stays"] == []
    assert [(c["citation"], c["amount"], c["rule"]) for c in owed["citations"]] == [
        (citation.uuid, 20_000, "overstay")
    ]
    card = create_card_payment_method(localstripe)
    body = {"amount": 20_000, "payment_method": card, "citations": [citation.uuid]}
    paid = client.post(f"{API}/plates/{PLATE}/payments", json=body, headers={"Idempotency-Key": "c1"})

    assert paid.status_code == 201, paid.get_json()
    assert paid.get_json()["status"] == "succeeded" and paid.get_json()["amount"] == 20_000
    assert client.get(paid.get_json()["receipt_url"]).status_code == 200
    again = client.post(f"{API}/plates/{PLATE}/payments", json=body, headers={"Idempotency-Key": "c1"})
    assert again.status_code == 200 and again.get_json()["id"] == paid.get_json()["id"]
    assert db.scalar(select(func.count()).select_from(Payment)) == 1
    db.refresh(citation)
    assert citation.status == "paid"
    after = client.get(f"{API}/plates/{PLATE}/unpaid").get_json()
    assert (after["outstanding"], after["citations"]) == (0, [])
    check = client.get(f"{API}/plates/{PLATE}/check", headers=town.auth()).get_json()
    assert check["citations"] == []


def test_a_citation_is_paid_whole_not_while_appealed_and_not_together_with_stays(
    db: Session, connection: Connection, clock: FixedClock, town: Town
) -> None:
    citation = cite(db, town, "T1-2")
    client = client_with(connection, clock, FakeGateway())
    body = {"amount": 5_000, "payment_method": "pm_card_visa"}

    short = client.post(f"{API}/plates/{PLATE}/payments", json=body)
    assert (short.status_code, short.get_json()["code"]) == (409, "amount_mismatch")
    both = client.post(
        f"{API}/plates/{PLATE}/payments", json={**body, "citations": [citation.uuid], "stays": ["x" * 36]}
    )
    assert (both.status_code, both.get_json()["code"]) == (400, "citations_and_stays")
    change_citation_status(db, town.small.district, citation.uuid, "appealed", town.now)
    db.commit()
    appealed = client.post(f"{API}/plates/{PLATE}/payments", json={**body, "amount": 20_000})
    assert (appealed.status_code, appealed.get_json()["code"]) == (409, "nothing_to_pay")
    assert client.get(f"{API}/plates/{PLATE}/unpaid").get_json()["outstanding"] == 0


def test_a_reused_idempotency_key_on_the_citation_path_is_refused_for_another_plate_or_amount(
    db: Session, connection: Connection, clock: FixedClock, town: Town
) -> None:
    """Security review M2 again: a plate with nothing but citations (or nothing at all) went
    down the citation path, which answered any request with a reused key as the first one."""
    citation = cite(db, town, "T1-2")
    client = client_with(connection, clock, FakeGateway())
    body = {"amount": 20_000, "payment_method": "pm_ok", "citations": [citation.uuid]}
    first = client.post(f"{API}/plates/{PLATE}/payments", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201, first.get_json()

    for plate, amount, card in (
        (PLATE, 1, "pm_ok"),
        ("贵B54321", 20_000, "pm_ok"),
        (PLATE, 20_000, "pm_other"),
    ):
        reuse = {"amount": amount, "payment_method": card}
        answer = client.post(f"{API}/plates/{plate}/payments", json=reuse, headers={"Idempotency-Key": "k1"})
        assert (answer.status_code, answer.get_json()["code"]) == (409, "idempotency_key_reused"), plate
        assert "receipt_url" not in answer.get_json()
    assert db.scalar(select(func.count()).select_from(Payment)) == 1
