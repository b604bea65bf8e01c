"""A signed-in driver pays a citation of their own plate in the app (issue 15): with the saved
card or a new one (3-D Secure included) against a real local Stripe-compatible server, through
the same pending-first payment, idempotency keys and receipts as paying by plate; the citation
of anyone else's plate is unknown to them, exactly like one that does not exist."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from billing.gateway import StripeGateway
from billing.models import Payment
from billing.payment_keys import InvalidIdempotencyKeyError
from billing.plate_links import link_plate, request_link
from billing.saved_cards import save_card
from enforcement.citations import change_citation_status, issue_citation
from enforcement.models import Citation, Violation
from enforcement.services import pay_citation_from_account
from fixtures.localstripe import TEST_API_KEY, create_card_payment_method, running_localstripe
from identity.drivers import issue_token, sign_up
from identity.models import DriverAccount
from parking.clock import FixedClock
from tests.api.test_warden_api import PLATE, Town, add_task
from tests.api.test_warden_api import town as town  # noqa: F401  (the fixture)
from tests.integration.test_citation_payments import client_with
from tests.support.fake_gateway import FakeGateway

MINE = "/api/v1/drivers/me/citations"
ALWAYS_AUTHENTICATE = "4000002760003184"  # Stripe's (and localstripe's) 3-D Secure test card
OTHER_PLATE = "贵B54321"


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


def cite(db: Session, town: Town, bay: str, plate: str = PLATE) -> Citation:
    task = add_task(db, town, bay, timedelta(minutes=40), plate=plate)
    violation = db.get_one(Violation, task.violation_id)
    citation = issue_citation(db, town.small.district, violation.uuid, "warden one", town.now)
    db.commit()
    return citation


def driver(db: Session, town: Town, plate: str = PLATE) -> tuple[DriverAccount, dict[str, str]]:
    account = sign_up(db, "li@example.org", "correct horse battery", "Li", town.now)
    link_plate(db, account, plate, town.now - timedelta(days=1))
    token = issue_token(db, account, timedelta(hours=1), town.now)
    db.commit()
    return account, {"Authorization": f"Bearer {token}"}


def authenticate_on_localstripe(base_url: str, client_secret: str) -> None:
    """What the bank's 3-D Secure page does when the driver approves (localstripe's own route)."""
    intent = client_secret.split("_secret_")[0]
    body = urllib.parse.urlencode(
        {"client_secret": client_secret, "success": "true", "key": "pk_test_localstripe"}
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/v1/payment_intents/{intent}/_authenticate", data=body, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5.0) as response:
        assert json.load(response)["status"] == "succeeded"


def test_a_driver_pays_a_citation_of_their_plate_with_the_saved_card_once_and_the_receipt_lists_it(
    db: Session, connection: Connection, clock: FixedClock, town: Town, localstripe: str
) -> None:
    citation = cite(db, town, "T1-2")
    gateway = StripeGateway(TEST_API_KEY, localstripe, "whsec_test")
    account, me = driver(db, town)
    save_card(db, gateway, account, create_card_payment_method(localstripe))
    db.commit()
    client = client_with(connection, clock, gateway)

    listed = client.get(MINE, headers=me).get_json()["citations"]
    assert [(c["citation"], c["amount"], c["plate"], c["rule"]) for c in listed] == [
        (citation.uuid, 20_000, PLATE, "overstay")
    ]
    url = f"{MINE}/{citation.uuid}/payments"
    paid = client.post(url, json={"amount": 20_000}, headers={**me, "Idempotency-Key": "c1"})

    body = paid.get_json()
    assert paid.status_code == 201, body
    assert (body["status"], body["channel"], body["amount"], body["plate"]) == (
        "succeeded",
        "account",
        20_000,
        PLATE,
    )
    receipt = client.get(body["receipt_url"], query_string={"lang": "en"}).get_data(as_text=True)
    assert citation.uuid in receipt and "Citation 1: overstay" in receipt
    db.refresh(citation)
    assert citation.status == "paid"
    check = client.get(f"/api/v1/testville/plates/{PLATE}/check", headers=town.auth()).get_json()
    assert check["citations"] == []
    assert client.get(MINE, headers=me).get_json()["citations"] == []
    # a double submit charges once: the same key answers the first payment, a new one refuses
    again = client.post(url, json={"amount": 20_000}, headers={**me, "Idempotency-Key": "c1"})
    assert (again.status_code, again.get_json()["id"]) == (200, body["id"])
    fresh = client.post(url, json={"amount": 20_000}, headers={**me, "Idempotency-Key": "c2"})
    assert (fresh.status_code, fresh.get_json()["code"]) == (409, "already_paid")
    assert db.scalar(select(func.count()).select_from(Payment)) == 1


def test_a_driver_pays_a_citation_with_a_new_card_that_asks_for_3d_secure(
    db: Session, connection: Connection, clock: FixedClock, town: Town, localstripe: str
) -> None:
    citation = cite(db, town, "T1-2")
    _, me = driver(db, town)
    client = client_with(connection, clock, StripeGateway(TEST_API_KEY, localstripe, "whsec_test"))
    card = create_card_payment_method(localstripe, ALWAYS_AUTHENTICATE)

    started = client.post(
        f"{MINE}/{citation.uuid}/payments", json={"amount": 20_000, "payment_method": card}, headers=me
    )

    assert started.status_code == 202, started.get_json()
    action = started.get_json()
    assert action["status"] == "requires_action" and action["receipt_url"] is None
    authenticate_on_localstripe(localstripe, action["client_secret"])
    confirmed = client.post(action["confirmation_url"])
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["status"] == "succeeded" and confirmed.get_json()["receipt_url"]
    db.refresh(citation)
    assert citation.status == "paid"
    assert client.get(f"/api/v1/testville/plates/{PLATE}/unpaid").get_json()["citations"] == []


def test_a_citation_of_a_plate_that_is_not_mine_is_unknown_like_one_that_does_not_exist(
    db: Session, connection: Connection, clock: FixedClock, town: Town
) -> None:
    others = cite(db, town, "T1-3", plate=OTHER_PLATE)
    account, me = driver(db, town)
    request_link(db, account, town.small.district, OTHER_PLATE, "my car too", town.now)  # asked, unproven
    db.commit()
    client = client_with(connection, clock, FakeGateway())
    body = {"amount": 20_000, "payment_method": "pm_ok"}

    theirs = client.post(f"{MINE}/{others.uuid}/payments", json=body, headers=me)
    nobody = client.post(f"{MINE}/{'0' * 36}/payments", json=body, headers=me)

    assert (theirs.status_code, theirs.get_json()["code"]) == (404, "unknown_citation")
    assert (nobody.status_code, nobody.get_json()["code"]) == (404, "unknown_citation")
    assert OTHER_PLATE not in theirs.get_data(as_text=True)
    assert client.get(MINE, headers=me).get_json()["citations"] == []
    assert client.post(f"{MINE}/{others.uuid}/payments", json=body).status_code == 401
    assert db.scalar(select(func.count()).select_from(Payment)) == 0
    db.refresh(others)
    assert others.status == "issued"


def test_a_citation_is_paid_whole_not_while_appealed_and_a_key_is_not_reused_for_another(
    db: Session, connection: Connection, clock: FixedClock, town: Town
) -> None:
    first, second = cite(db, town, "T1-2"), cite(db, town, "T1-3")
    _, me = driver(db, town)
    client = client_with(connection, clock, FakeGateway())

    def pay(citation: Citation, body: dict[str, object], key: str = "") -> tuple[int, str]:
        headers = {**me, **({"Idempotency-Key": key} if key else {})}
        answer = client.post(f"{MINE}/{citation.uuid}/payments", json=body, headers=headers)
        return answer.status_code, answer.get_json().get("code") or answer.get_json()["status"]

    assert pay(first, {"amount": 5_000, "payment_method": "pm_ok"}) == (409, "amount_mismatch")
    assert pay(first, {"amount": 20_000}) == (409, "no_saved_card")
    assert pay(first, {"amount": 20_000, "payment_method": "pm_ok"}, "k1") == (201, "succeeded")
    assert pay(second, {"amount": 20_000, "payment_method": "pm_ok"}, "k1") == (409, "idempotency_key_reused")
    change_citation_status(db, town.small.district, second.uuid, "appealed", town.now)
    db.commit()
    assert pay(second, {"amount": 20_000, "payment_method": "pm_ok"}) == (409, "citation_not_payable")
    assert db.scalar(select(func.count()).select_from(Payment)) == 1


def test_the_citation_service_refuses_a_too_long_key_before_writing_and_pays_with_the_fake_card(
    db: Session, town: Town
) -> None:
    citation = cite(db, town, "T1-2")
    account, _ = driver(db, town)
    gateway = FakeGateway()

    with pytest.raises(InvalidIdempotencyKeyError):
        pay_citation_from_account(db, gateway, account.id, citation.uuid, 20_000, "pm_ok", "k" * 81, town.now)
    assert db.scalar(select(func.count()).select_from(Payment)) == 0

    payment, created = pay_citation_from_account(
        db, gateway, account.id, citation.uuid, 20_000, "pm_ok", "c1", town.now
    )

    assert (payment.status, created) == ("succeeded", True)
    db.refresh(citation)
    assert citation.status == "paid"
