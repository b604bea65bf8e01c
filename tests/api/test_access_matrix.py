"""The access matrix (api/access.py) against the running app: every route of the OpenAPI
document, every CDS route and every other route (pages, documents, webhooks), called by every
principal. Who the matrix lists gets neither 401 nor 403; anyone else gets 401 (no, bad or
other-district token, or a token of the wrong kind) or 403 (a staff role the route does not
list), and nothing is written. docs/ACCESS.md holds the generated table."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.orm import Session

from api import create_app
from api.access import DEVICE, DRIVER, PATROL, PUBLIC, allowed_for, matrix_table, unlisted_endpoints
from api.cli.access import table_in
from billing.tariffs import publish_tariff
from enforcement.models import Task
from fixtures.builders import build_small_district
from identity.drivers import issue_token, sign_up
from identity.models import STAFF_ROLES
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from sensors.devices import create_device
from tests.conftest import REPO, TEST_NOW
from tests.support.fake_gateway import FakeGateway

SLUG = "testville"
OTHER_STAFF, OTHER_DEVICE = "other-district staff", "other-district device"
PRINCIPALS = ("anonymous", "bad token", DEVICE, PATROL, DRIVER, *STAFF_ROLES, OTHER_STAFF, OTHER_DEVICE)
ALWAYS_401 = ("anonymous", "bad token", OTHER_STAFF, OTHER_DEVICE)
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


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    endpoint: str


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _routes() -> list[Route]:
    """The OpenAPI document's operations, then every CDS route, then the rest of the url_map."""
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    rules = {(_openapi_path(r.rule), m): r for r in app.url_map.iter_rules() for m in r.methods or ()}
    answer = app.test_client().get("/openapi.json")
    assert answer.status_code == 200, (
        f"/openapi.json answers {answer.status_code}: {answer.get_data()[:300]!r}"
    )
    document = answer.get_json()
    listed = [rules[(path, method.upper())] for path, item in document["paths"].items() for method in item]
    listed += sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/cds/")), key=str)
    listed += sorted(app.url_map.iter_rules(), key=str)
    routes: dict[tuple[str, str], Route] = {}
    for rule in listed:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.setdefault((rule.rule, method), Route(rule.rule, method, rule.endpoint))
    return list(routes.values())


ROUTES = _routes()


@dataclass
class Walk:
    app: Flask
    client: FlaskClient
    connection: Connection
    tokens: dict[str, str]
    path_values: dict[str, str]
    counts: Any
    baseline: tuple[int, ...]

    def row_counts(self) -> tuple[int, ...]:
        return tuple(self.connection.execute(self.counts).one())


@pytest.fixture(scope="module")
def walk(engine: Engine) -> Iterator[Walk]:
    """One district with a token of every kind, another district, and a few things to name in
    paths; built once for the module, rolled back at its end."""
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as db:
            tokens, path_values = _principals_and_places(db)
            db.commit()
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_BIND": connection,
                "CLOCK": FixedClock(TEST_NOW),
                "GATEWAY": FakeGateway(),
                "VACANCY_CACHE_SECONDS": 0,
            }
        )
        quote = connection.dialect.identifier_preparer.quote
        tables = sorted(inspect(connection).get_table_names())
        counts = text("SELECT " + ", ".join(f"(SELECT count(*) FROM {quote(t)})" for t in tables))
        walk = Walk(app, app.test_client(), connection, tokens, path_values, counts, ())
        walk.baseline = walk.row_counts()
        try:
            yield walk
        finally:
            transaction.rollback()


def _principals_and_places(db: Session) -> tuple[dict[str, str], dict[str, str]]:
    """(each principal's token, a value for each path parameter)."""
    now = TEST_NOW
    town = build_small_district(db, now - timedelta(days=40))
    other = build_small_district(db, now - timedelta(days=40), slug="otherville")
    publish_tariff(db, town.district, "standard", TARIFF, now - timedelta(days=30), now - timedelta(days=30))
    tokens = {role: issue_staff_token(db, town.district, role, f"{role} one", now)[1] for role in STAFF_ROLES}
    tokens[OTHER_STAFF] = issue_staff_token(db, other.district, "admin", "their admin", now)[1]
    tokens[DEVICE], tokens[OTHER_DEVICE] = town.stake_a.token, other.stake_a.token
    tokens[PATROL] = create_device(db, town.district, "patrol_car", now, name="PATROL-1").token
    walker = sign_up(db, "walker@example.org", "correct horse battery", None, now)
    tokens[DRIVER] = issue_token(db, walker, timedelta(hours=1), now)
    tokens["bad token"] = "not-a-token"
    tasks = {team: _task(db, town.district.id, team) for team in ("warden", "attendant", "city", "police")}
    db.flush()
    path_values = {
        "district": SLUG,
        "road": town.roads[0].uuid,
        **{f"task_id {team}": task.uuid for team, task in tasks.items()},
        "plate": "ABC123",
        "payment_id": str(uuid.uuid4()),
        "payment": str(uuid.uuid4()),
        "policy_id": str(uuid.uuid4()),
        "name": "hourly-occupancy",
        "filename": "driver/driver.css",
        "device_id": town.stake_b.device.uuid,
    }
    return tokens, path_values


def _task(db: Session, district_id: int, team: str) -> Task:
    task = Task(
        district_id=district_id,
        key=f"access:{team}",
        team=team,
        kind="repair_device",
        details={},
        created_at=TEST_NOW,
    )
    db.add(task)
    return task


def _kind(principal: str) -> str:
    """The kind of token: a staff role's, a device's (a patrol car holds a device token), a driver's."""
    return "staff" if principal in STAFF_ROLES else DEVICE if principal == PATROL else principal


def expected_refusal(route: Route, principal: str) -> int | None:
    """None when the matrix lets `principal` call the route, else the status it must get."""
    allowed = allowed_for(route.endpoint)
    if PUBLIC in allowed or principal in allowed:
        return None
    if principal in ALWAYS_401:
        return 401
    # A valid token of a kind the route takes, but not listed: forbidden; of another kind: unknown.
    return 403 if any(_kind(p) == _kind(principal) for p in allowed) else 401


def call(walk: Walk, route: Route, principal: str) -> Any:
    """The route with plausible path values (any other parameter: 1), a minimal body, and
    the principal's token."""
    team = principal if principal in ("warden", "attendant", "city", "police") else "warden"
    values = {**walk.path_values, "task_id": walk.path_values[f"task_id {team}"]}  # a task of my team
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values.get(m.group(1), "1"), route.rule)
    token = walk.tokens.get(principal)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = {"json": {}} if route.method in ("POST", "PUT", "PATCH") else {}
    return walk.client.open(path, method=route.method, headers=headers, **body)


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.rule}")
def test_each_principal_gets_what_the_matrix_says(walk: Walk, route: Route, principal: str) -> None:
    savepoint = walk.connection.begin_nested()
    response = call(walk, route, principal)
    try:
        refusal = expected_refusal(route, principal)
        if refusal is None:
            assert response.status_code not in (401, 403, 500), response.get_data(as_text=True)[:300]
            return
        body = response.get_json(silent=True) or {}
        assert response.status_code == refusal, body
        assert (body.get("code") or body.get("error")) == ("forbidden" if refusal == 403 else "unauthorized")
        assert walk.row_counts() == walk.baseline, "a refused request wrote rows"
    finally:
        response.close()
        savepoint.rollback()


def test_every_endpoint_of_the_app_is_in_the_access_matrix(walk: Walk) -> None:
    missing, stale = unlisted_endpoints(walk.app)
    assert missing == [], f"add these endpoints to ACCESS in api/access.py: {missing}"
    assert stale == [], f"ACCESS names endpoints the app lacks: {stale}"


def test_the_walk_covers_every_route_and_method_of_the_app(walk: Walk) -> None:
    app_routes = {
        (rule.rule, method)
        for rule in walk.app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert {(r.rule, r.method) for r in ROUTES} == app_routes


def test_docs_access_md_holds_the_generated_table(walk: Walk) -> None:
    document = (REPO / "docs" / "ACCESS.md").read_text(encoding="utf-8")
    assert table_in(document) == matrix_table(walk.app), (
        "docs/ACCESS.md is out of date: flask --app api access-matrix --write docs/ACCESS.md"
    )


def test_the_cli_prints_the_table(walk: Walk) -> None:
    result = walk.app.test_cli_runner().invoke(args=["access-matrix"])
    assert result.exit_code == 0, result.output
    assert result.output == matrix_table(walk.app)
    assert "| `/cds/<district>/events/event` | POST | `cds_events.push_events` | device |" in result.output


def test_the_cli_writes_the_table_between_the_markers(walk: Walk, tmp_path: Path) -> None:
    target = tmp_path / "ACCESS.md"
    target.write_text("# Access\n\n<!-- access-matrix:start -->\nold\n<!-- access-matrix:end -->\nafter\n")
    result = walk.app.test_cli_runner().invoke(args=["access-matrix", "--write", str(target)])
    assert result.exit_code == 0, result.output
    written = target.read_text()
    assert written.startswith("# Access\n\n<!-- access-matrix:start -->\n| route |")
    assert written.endswith("<!-- access-matrix:end -->\nafter\n") and "old" not in written
    assert table_in(written) == matrix_table(walk.app)


GET_ROUTES = [r for r in ROUTES if r.method == "GET"]
INVALID_FIELDS = {"en": "the request has invalid fields", "zh_Hans_CN": "请求中有无效字段"}


def caller_of(route: Route) -> str:
    """A principal the matrix lets call the route."""
    allowed = allowed_for(route.endpoint)
    return "anonymous" if PUBLIC in allowed else next(p for p in PRINCIPALS if p in allowed)


def call_with(walk: Walk, route: Route, query: str) -> tuple[int, dict[str, Any]]:
    """(status, JSON body or {}) of the route called by a principal the matrix lets in."""
    principal = caller_of(route)
    values = {**walk.path_values, "task_id": walk.path_values["task_id warden"]}
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values.get(m.group(1), "1"), route.rule)
    token = walk.tokens.get(principal)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = walk.client.get(f"{path}?{query}", headers=headers)
    try:
        return response.status_code, response.get_json(silent=True) or {}
    finally:
        response.close()


def refused_fields(body: dict[str, Any]) -> list[str]:
    return [str(e) for e in body.get("errors") or body.get("error_details") or []]


def test_every_get_route_takes_lang_and_answers_in_that_language(walk: Walk) -> None:
    """`?lang=` is never an unknown parameter. A route whose query schema refuses a
    parameter it does not know shows the walk reached the schema; there its problem (a
    missing or bad field beside `lang`) speaks the language asked for."""
    refusing, worded = [], 0
    for route in GET_ROUTES:
        savepoint = walk.connection.begin_nested()
        try:
            if any(f.startswith("nonsense") for f in refused_fields(call_with(walk, route, "nonsense=1")[1])):
                refusing.append(route.rule)
            for lang, title in INVALID_FIELDS.items():
                status, body = call_with(walk, route, f"lang={lang}")
                assert not [f for f in refused_fields(body) if f.startswith("lang")], route.rule
                assert status != 500, route.rule
                if body.get("code") == "invalid_parameters":
                    assert body["title"] == title, (route.rule, body)
                    worded += 1
        finally:
            savepoint.rollback()
    assert len(refusing) >= 20, refusing  # every route with a query schema
    assert worded >= 2
