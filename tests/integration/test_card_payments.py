"""Card payments the way the browser makes them (api/v1/drivers/card_payments.py): a SetupIntent for
Stripe.js, a payment the server confirms, and 3-D Secure finished in the browser then recorded
from the provider's word. The page itself is tested in tests/browser/test_driver_page.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from billing.models import PAID, Payment, StayFee
from fixtures.builders import SmallDistrict
from parking.clock import FixedClock
from tests.integration.test_payments import PLATE, app_with, park, town
from tests.support.fake_gateway import FakeGateway

__all__ = ["town"]


def test_a_card_setup_gives_stripe_js_its_secret_and_the_publishable_key(
    connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    gateway = FakeGateway()
    client = app_with(connection, clock, gateway).test_client()

    answer = client.post("/api/v1/testville/card-setups")

    assert answer.status_code == 201
    assert answer.get_json()["client_secret"].startswith("seti_")
    assert answer.get_json()["publishable_key"] == "pk_test_localstripe"
    assert len(gateway.customers) == 1  # the card's own customer, as Stripe wants
    assert client.post("/api/v1/nowhere/card-setups").status_code == 404


def test_3d_secure_answers_202_with_the_secret_and_the_confirmation_records_the_outcome(
    db: Session, connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    gateway = FakeGateway()
    client = app_with(connection, clock, gateway).test_client()

    started = client.post(
        f"/api/v1/testville/plates/{PLATE}/payments",
        json={"amount": 900, "payment_method": "pm_auth_required"},
    )

    assert started.status_code == 202
    body = started.get_json()
    assert body["status"] == "requires_action" and body["receipt_url"] is None
    assert body["client_secret"].endswith("_secret_fake") and body["publishable_key"] == "pk_test_localstripe"
    assert body["confirmation_url"] == f"/api/v1/testville/payments/{body['id']}/confirmation"

    not_yet = client.post(body["confirmation_url"])  # the driver has not authenticated yet
    assert (not_yet.status_code, not_yet.get_json()["code"]) == (402, "payment_declined")

    payment = db.scalars(select(Payment)).one()
    intent_id = payment.payment_intent_id or ""
    gateway.payments[intent_id] = replace(gateway.payments[intent_id], status="succeeded", charge_id="ch_1")
    done = client.post(body["confirmation_url"])

    assert done.status_code == 200
    assert done.get_json()["status"] == "succeeded" and done.get_json()["receipt_url"]
    assert db.get_one(StayFee, stay.id).status == PAID
    assert client.post(body["confirmation_url"]).status_code == 200  # again: nothing new asked
    assert client.post("/api/v1/testville/payments/not-a-payment/confirmation").status_code == 404


def test_card_setups_are_limited_per_client_address_with_retry_after(
    connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    """Issue 12 follow-up: card setups were public and unlimited, an open door for card
    testing. Each address gets CARD_SETUPS_PER_IP within SIGNIN_WINDOW_MINUTES."""
    gateway = FakeGateway()
    app = app_with(connection, clock, gateway)
    app.config["CARD_SETUPS_PER_IP"] = 3
    client = app.test_client()

    def setup(ip: str) -> int:
        return client.post("/api/v1/testville/card-setups", environ_base={"REMOTE_ADDR": ip}).status_code

    assert [setup("10.0.0.1") for _ in range(3)] == [201, 201, 201]
    refused = client.post("/api/v1/testville/card-setups", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert (refused.status_code, refused.get_json()["code"]) == (429, "too_many_attempts")
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert len(gateway.customers) == 3  # the refused one never reached the provider
    assert setup("10.0.0.2") == 201  # another address is not limited by this one
    assert (
        client.post(  # nor are this address's sign-ins: the two counts are apart
            "/api/v1/drivers",
            json={"email": "a@example.org", "password": "correct horse battery"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        ).status_code
        == 202
    )

    clock.advance(timedelta(minutes=16))
    assert setup("10.0.0.1") == 201
