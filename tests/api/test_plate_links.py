"""A plate is linked to a driver account only once proven: by a payment of its stays from
the account, or by staff approving the claim. Asking tells nothing about other accounts; a
link never shows, charges or notifies a stay that began before it was proven; a real owner
claims a plate linked elsewhere and staff approval ends the old link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api import create_app
from billing.auto_charges import plan_auto_charges
from billing.ledger import mark_arrears
from billing.models import Payment
from billing.notifications import collect_events
from billing.tariffs import price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.models import Stay
from sensors.intake import ingest_batch
from tests.support.fake_gateway import FakeGateway

VICTIM, OTHER = "贵AV0042", "贵AP0001"
ME = "/api/v1/drivers/me"
CLAIMS = "/api/v1/testville/plate-claims"
SKEW = timedelta(seconds=120)
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


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def app(connection: Connection, clock: FixedClock) -> Flask:
    gateway = FakeGateway()
    return create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "GATEWAY": gateway})


@dataclass
class Town:
    small: SmallDistrict
    client: FlaskClient
    staff: dict[str, str]

    def driver(self, email: str) -> dict[str, str]:
        password = "correct horse battery"
        assert (
            self.client.post("/api/v1/drivers", json={"email": email, "password": password}).status_code
            == 202
        )
        token = self.client.post("/api/v1/drivers/sessions", json={"email": email, "password": password})
        return {"Authorization": f"Bearer {token.get_json()['token']}"}

    def ask(self, auth: dict[str, str], plate: str, **extra: str) -> Any:
        return self.client.post(f"{ME}/plates", json={"plate": plate} | extra, headers=auth)

    def approve(self, claim: str) -> Any:
        return self.client.post(f"{CLAIMS}/{claim}/approve", headers=self.staff)

    def get(self, path: str, auth: dict[str, str]) -> Any:
        response = self.client.get(f"{ME}{path}", headers=auth)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def town(db: Session, client: FlaskClient, clock: FixedClock) -> Town:
    small = build_small_district(db, clock.now() - timedelta(days=40))
    publish_tariff(db, small.district, "standard", TARIFF, clock.now() - timedelta(days=30), clock.now())
    _, bureau = issue_staff_token(db, small.district, "bureau", "bureau one", clock.now())
    db.commit()
    return Town(small, client, {"Authorization": f"Bearer {bureau}"})


def park(db: Session, town: Town, plate: str, start: datetime, minutes: int | None, bay: int = 0) -> Stay:
    stake, where = town.small.stake_a, town.small.bays[bay]
    events = [cds_event(stake, where, "park_start", start, plate=plate, confidence=95)]
    end = start + timedelta(minutes=minutes or 0)
    if minutes is not None:
        events.append(cds_event(stake, where, "park_end", end))
    assert ingest_batch(db, stake.device, events, max(end, start), SKEW).success == len(events)
    price_ended_stays(db, town.small.district, end)
    return db.scalars(select(Stay).where(Stay.bay_id == where.id).order_by(Stay.started_at.desc())).first()  # type: ignore[return-value]


def test_a_stranger_cannot_link_a_plate_without_proof_nor_see_the_stay_going_on(
    db: Session, town: Town, clock: FixedClock
) -> None:
    """Security review H5: any driver linked any unlinked plate and saw where it was parked."""
    park(db, town, VICTIM, clock.now() - timedelta(minutes=20), None)
    stalker = town.driver("stalker@example.com")

    asked = town.ask(stalker, VICTIM)

    assert asked.status_code == 202 and asked.get_json()["status"] == "pending"
    assert town.get("", stalker)["plates"] == [] and town.get("", stalker)["pending_plates"] == [VICTIM]
    assert town.get("/stays/current", stalker)["stays"] == []
    assert town.get("/stays/history", stalker)["total"] == 0
    # even once staff approve it, a stay that began before the link stays private
    assert town.approve(asked.get_json()["claim"]).status_code == 200
    assert town.get("", stalker)["plates"] == [VICTIM]
    assert town.get("/stays/current", stalker)["stays"] == []
    clock.advance(timedelta(minutes=30))
    later = park(db, town, VICTIM, clock.now() - timedelta(minutes=5), None, bay=1)
    assert [s["id"] for s in town.get("/stays/current", stalker)["stays"]] == [later.uuid]


def test_asking_for_a_plate_answers_alike_whether_it_is_linked_elsewhere_or_not(town: Town) -> None:
    owner = town.driver("owner@example.org")
    town.approve(town.ask(owner, OTHER).get_json()["claim"])
    prober = town.driver("prober@example.org")

    linked, unlinked = town.ask(prober, OTHER), town.ask(prober, VICTIM)

    assert linked.status_code == unlinked.status_code == 202
    shape = {"plate": None, "claim": None}
    assert linked.get_json() | shape == unlinked.get_json() | shape
    assert town.ask(prober, OTHER).get_json()["claim"] == linked.get_json()["claim"]  # one open claim


def test_paying_a_plates_stays_from_my_account_proves_the_link(
    db: Session, town: Town, clock: FixedClock
) -> None:
    now = clock.now()
    before = park(db, town, VICTIM, now - timedelta(hours=3), 70)  # 900 due
    driver = town.driver("payer@example.org")
    town.ask(driver, VICTIM)
    owed = town.get("/outstanding", driver)["districts"]  # public by plate anyway
    assert [s["stay"] for s in owed[0]["stays"]] == [before.uuid]

    paid = town.client.post(f"{ME}/payments", json={"amount": 900, "payment_method": "pm_ok"}, headers=driver)

    assert paid.status_code == 201, paid.get_json()
    me = town.get("", driver)
    assert (me["plates"], me["pending_plates"]) == ([VICTIM], [])
    history = town.get("/stays/history", driver)["stays"]
    assert [(s["id"], s["receipt_urls"]) for s in history] == [
        (before.uuid, [paid.get_json()["receipt_url"]])
    ]


def test_a_payment_does_not_take_a_plate_linked_elsewhere(db: Session, town: Town, clock: FixedClock) -> None:
    owner = town.driver("owner@example.org")
    town.approve(town.ask(owner, VICTIM).get_json()["claim"])
    clock.advance(timedelta(hours=3))
    park(db, town, VICTIM, clock.now() - timedelta(hours=2), 70)
    squatter = town.driver("squatter@example.org")
    town.ask(squatter, VICTIM)
    paid = town.client.post(
        f"{ME}/payments", json={"amount": 900, "payment_method": "pm_ok"}, headers=squatter
    )
    assert paid.status_code == 201
    assert town.get("", squatter)["plates"] == [] and town.get("", owner)["plates"] == [VICTIM]


def test_the_real_owner_claims_a_plate_linked_elsewhere_and_staff_approval_ends_the_old_link(
    db: Session, town: Town, clock: FixedClock
) -> None:
    squatter = town.driver("squatter@example.org")
    town.approve(town.ask(squatter, VICTIM).get_json()["claim"])
    owner = town.driver("owner@example.org")
    claim = town.ask(owner, VICTIM, evidence="registration 贵AV0042, papers at the counter").get_json()[
        "claim"
    ]

    [listed] = town.client.get(CLAIMS, headers=town.staff).get_json()["claims"]
    assert (listed["id"], listed["email"], listed["linked_elsewhere"]) == (claim, "owner@example.org", True)
    assert listed["evidence"] == "registration 贵AV0042, papers at the counter"
    decided = town.approve(claim).get_json()

    assert (decided["status"], decided["proof"], decided["decided_by"]) == ("proven", "staff", "bureau one")
    assert town.get("", owner)["plates"] == [VICTIM] and town.get("", squatter)["plates"] == []
    [notice] = town.get("/notices", squatter)["notices"]
    assert notice["kind"] == "plate_unlinked" and "owner@example.org" not in notice["message"]
    again = town.approve(claim)
    assert again.status_code == 409 and again.get_json()["code"] == "claim_decided"
    other = town.ask(squatter, VICTIM).get_json()["claim"]
    refused = town.client.post(f"{CLAIMS}/{other}/refuse", headers=town.staff)
    assert refused.get_json()["status"] == "refused" and town.get("", owner)["plates"] == [VICTIM]
    assert (
        town.client.get(f"{CLAIMS}?status=refused", headers=town.staff).get_json()["claims"][0]["id"] == other
    )


def test_stays_that_began_before_the_link_are_never_charged_listed_or_told(
    db: Session, town: Town, clock: FixedClock
) -> None:
    """The charge, the listing and the notices follow one rule: a stay is the account's if
    it began at or after the link was proven."""
    now = clock.now()
    ended_before = park(db, town, VICTIM, now - timedelta(hours=2), 70)  # 900, due
    driver = town.driver("new.owner@example.org")
    assert town.client.put(f"{ME}/card", json={"payment_method": "pm_ok"}, headers=driver).status_code == 200
    town.approve(town.ask(driver, VICTIM).get_json()["claim"])  # proven now
    across = park(db, town, VICTIM, now - timedelta(minutes=30), 40, bay=1)  # began before, ends after
    after = park(db, town, VICTIM, now + timedelta(minutes=20), 20, bay=2)
    later = now + timedelta(hours=1)

    planned = plan_auto_charges(db, town.small.district, later)
    mark_arrears(db, town.small.district, later + timedelta(days=3))
    collect_events(db, later + timedelta(days=3), timedelta(days=7))

    assert {db.get_one(Payment, p).idempotency_key for p in planned} == {f"auto:{after.uuid}:300"}
    told = {n["data"]["stay"] for n in town.get("/notifications", driver)["notifications"]}
    assert told == {after.uuid} and not told & {ended_before.uuid, across.uuid}
    assert [s["id"] for s in town.get("/stays/history", driver)["stays"]] == [after.uuid]
