"""Property-based run over every native route in /openapi.json, in process (WSGI, no server).

Each operation is its own test, so its examples share one rolled-back transaction: whatever
they write is gone afterwards. The district has stays, a tariff, a POS payment and an open
task; requests carry the token of the route's security scheme (admin staff, driver, device),
the `district` path parameter is the test district, and about half the examples name a real
road, plate, task, payment or chart, so the run reaches the views rather than stopping at
401 or 404. Checks: no 5xx; every response has a documented status, media type and schema;
generated bad input gets a 4xx, and every 4xx a JSON `code`; an undeclared method gets 405.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api import create_app
from api.openapi import build_spec
from billing.models import Payment
from billing.plate_links import link_plate
from billing.tariffs import price_ended_stays, publish_tariff
from enforcement.models import Task
from enforcement.sweeps import sweep_unregistered
from fixtures.builders import build_small_district, cds_event
from identity.drivers import issue_token, sign_up
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from reports.charts import CHART_NAMES
from tests.support.fake_gateway import FakeGateway

DISTRICT = "testville"
PLATE = "贵A12345"
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
# Enough examples per operation to get past the first refusals, few enough that the whole
# run stays near a minute per database; derandomized so that CI sends the same requests.
settings.register_profile(
    "schemathesis",
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def _document() -> dict[str, Any]:
    # The document depends only on the routes, so an app without a database builds it.
    return build_spec(
        create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SQLITE_CHECKPOINT_SECONDS": 0})
    )


schema = schemathesis.openapi.from_dict(_document())
schema.config.update(parameters={"path.district": DISTRICT})
# Tokens are added per scheme below; generated credentials would only ever be refused.
schema.config.generation.update(with_security_parameters=False)


@dataclass
class World:
    tokens: dict[str, str]  # by security scheme
    path: dict[str, str]  # real values of path parameters


@pytest.fixture
def app(connection: Connection, clock: FixedClock) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_BIND": connection,
            "CLOCK": clock,
            "VACANCY_CACHE_SECONDS": 0,
            "GATEWAY": FakeGateway(),
        }
    )


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest: sign-ups and sign-ins are examples too, and the run tests
    the API, not the hash (half a second a hash would take the run far past its minute)."""
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def world(db: Session, client: FlaskClient, clock: FixedClock) -> World:
    """A district with an ended and priced stay, an open stay with a plate and one without
    (an open task), a POS cash payment, a tariff, and a signed-in driver."""
    now = clock.now()
    town = build_small_district(db, now - timedelta(days=40), slug=DISTRICT)
    district = town.district
    publish_tariff(db, district, "standard", TARIFF, now - timedelta(days=30), now)
    _, staff = issue_staff_token(db, district, "admin", "admin one", now)
    account = sign_up(db, "fuzz@example.org", "correct horse battery", "Fuzz", now - timedelta(days=1))
    link_plate(db, account, PLATE, now - timedelta(days=1))
    driver = issue_token(db, account, timedelta(hours=1), now)
    db.commit()
    t0 = now - timedelta(hours=3)
    pushes = [
        (
            town.stake_a,
            [cds_event(town.stake_a, town.bay("T1-1"), "park_start", t0, plate=PLATE, confidence=90)],
        ),
        (town.stake_a, [cds_event(town.stake_a, town.bay("T1-1"), "park_end", t0 + timedelta(minutes=70))]),
        (
            town.stake_b,
            [cds_event(town.stake_b, town.bay("T2-1"), "park_start", now - timedelta(minutes=40))],
        ),
        (
            town.pos,
            [
                cds_event(
                    town.pos, town.bay("T1-2"), "park_start", now - timedelta(minutes=30), plate="贵B67890"
                ),
                cds_event(
                    town.pos,
                    town.bay("T1-2"),
                    "vehicle_detected",
                    now - timedelta(minutes=29),
                    plate="贵B67890",
                    actual_cost=300,
                    payment_method="cash",
                ),
            ],
        ),
    ]
    for device, batch in pushes:
        response = client.post(
            f"/cds/{DISTRICT}/events/event", json=batch, headers={"Authorization": f"Bearer {device.token}"}
        )
        assert response.status_code == 200 and not response.get_json()["failures"], response.get_json()
    price_ended_stays(db, district, now)
    sweep_unregistered(db, district, now)
    db.commit()
    task = db.scalar(select(Task.uuid).where(Task.district_id == district.id))
    payment = db.scalar(select(Payment.uuid))
    assert task is not None and payment is not None
    return World(
        tokens={"staff": staff, "driver": driver, "device": town.stake_a.token},
        path={
            "road": town.roads[0].uuid,
            "plate": PLATE,
            "task_id": task,
            "payment_id": payment,
            "name": CHART_NAMES[0],
        },
    )


def has_problem_code(response: Any) -> None:
    """A refused request says why with a stable `code` (problem+json)."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"], (
            f"{response.status_code} without a JSON code: {response.text[:300]}"
        )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # generated bad input gets a 4xx
    unsupported_method,  # a method a route does not take gets a 405
]


@schema.parametrize()
@settings(settings.get_profile("schemathesis"))
def test_every_native_route_keeps_its_documented_contract(case: Case[Any], app: Flask, world: World) -> None:
    for name, value in (case.path_parameters or {}).items():
        # Half the examples, chosen by their generated value, name a thing that exists.
        if name in world.path and zlib.crc32(repr(value).encode()) % 2:
            case.path_parameters[name] = world.path[name]
    headers = {}
    for requirement in case.operation.definition.raw.get("security", []):
        for scheme in requirement:
            headers["Authorization"] = f"Bearer {world.tokens[scheme]}"
    response = case.call(app=app, headers=headers)
    case.validate_response(response, checks=CHECKS)
    has_problem_code(response)
