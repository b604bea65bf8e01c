"""Limits on what a request may carry (docs/API.md, "Limits"): body size, JSON nesting depth,
and the calendar a report may ask about. Each is refused with a stable code, never a 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.bodies import nesting_depth
from enforcement.models import Task
from enforcement.sweeps import sweep_unregistered
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from sensors.models import CurbEvent

SIGN_UP = "/api/v1/drivers"
PUSH = "/cds/testville/events/event"


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    built = build_small_district(db, clock.now() - timedelta(days=1))
    db.commit()
    return built


@pytest.fixture
def staff(db: Session, town: SmallDistrict, clock: FixedClock) -> dict[str, str]:
    _, token = issue_staff_token(db, town.district, "admin", "admin one", clock.now())
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_nesting_depth_counts_arrays_and_objects() -> None:
    values: list[Any] = [1, [], {"a": [1]}, [[], [[{}]]], {"a": 1, "b": {"c": []}}]
    assert [nesting_depth(v) for v in values] == [
        0,
        1,
        2,
        4,
        3,
    ]


def test_a_body_over_the_size_limit_is_payload_too_large_as_problem_json(client: FlaskClient) -> None:
    body = b'{"email": "' + b"a" * (4 * 1024 * 1024) + b'"}'
    response = client.post(SIGN_UP, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "payload_too_large"
    assert problem["title"] == "the request body is over 4194304 bytes"


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_a_json_body_nested_past_the_limit_is_nesting_too_deep(client: FlaskClient, depth: int) -> None:
    response = client.post(SIGN_UP, data=deep(depth), content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["code"] == "nesting_too_deep"


def test_a_json_body_at_the_depth_limit_is_read(client: FlaskClient) -> None:
    response = client.post(SIGN_UP, data=deep(32), content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_json"  # an array, not the object sign-up takes


@pytest.mark.parametrize(("depth", "code"), [(300, "nesting_too_deep"), (2000, "invalid_json")])
def test_a_push_nested_too_deep_is_refused_whole_and_writes_nothing(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock, depth: int, code: str
) -> None:
    good = cds_event(town.stake_a, town.bay("T1-1"), "park_start", clock.now() - timedelta(minutes=5))
    body = b"[" + orjson.dumps(good)[:-1] + b', "extra": ' + deep(depth) + b"}]"
    response = client.post(
        PUSH,
        data=body,
        headers={"Authorization": f"Bearer {town.stake_a.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == code
    assert db.scalar(select(func.count()).select_from(CurbEvent)) == 0


@pytest.mark.parametrize(
    "query",
    [
        "reports/summary?start=0001-01-01",
        "reports/summary?start=9999-12-01&period=month",
        "reports/top-problems?start=9999-12-31",
        "reports/charts/hourly-occupancy.svg?start=0001-01-01",
        "reports/monthly.pdf?month=0000-01",
        "reconciliation?date=9999-12-31",
        "pricing/advice?month=0000-01",
        "pricing/advice/what-if?month=0000-01",
    ],
)
def test_a_date_outside_the_calendar_is_invalid_parameters(
    client: FlaskClient, staff: dict[str, str], query: str
) -> None:
    response = client.get(f"/api/v1/testville/{query}", headers=staff)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["code"] == "invalid_parameters"


def test_a_notification_cursor_past_64_bits_is_invalid_parameters(client: FlaskClient) -> None:
    account = {"email": "cursor@example.org", "password": "correct horse battery"}
    assert client.post(SIGN_UP, json=account).status_code == 202
    token = client.post(f"{SIGN_UP}/sessions", json=account).get_json()["token"]
    response = client.get(
        f"{SIGN_UP}/me/notifications?after={2**64}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_parameters"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", SIGN_UP, {"email": "nul\u0000@example.org", "password": "correct horse battery"}),
        ("post", SIGN_UP, {"email": "nul@example.org", "password": "correct horse battery", "\u0000": 1}),
        ("get", "/api/v1/testville/quote?road=%00&arrival=2026-03-02T10:00:00%2B08:00", None),
        ("get", "/api/v1/test%00ville/tariffs", None),
    ],
)
def test_text_with_a_nul_character_is_refused(
    client: FlaskClient, town: SmallDistrict, method: str, url: str, body: dict[str, object] | None
) -> None:
    """PostgreSQL text cannot hold U+0000 (this was a 500 there)."""
    response = client.open(url, method=method.upper(), json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "nul_character"


def test_a_form_field_with_a_nul_character_is_refused(
    client: FlaskClient, db: Session, town: SmallDistrict, staff: dict[str, str], clock: FixedClock
) -> None:
    """The warden's resolution is a multipart form, not JSON: its note is checked too."""
    arrival = cds_event(town.stake_b, town.bay("T2-1"), "park_start", clock.now() - timedelta(minutes=40))
    pushed = client.post(PUSH, json=[arrival], headers={"Authorization": f"Bearer {town.stake_b.token}"})
    assert pushed.status_code == 200 and pushed.get_json()["success"] == 1
    sweep_unregistered(db, town.district, clock.now())  # the stay has no plate: an attendant task
    db.commit()
    task = db.scalar(select(Task.uuid))
    assert client.post(f"/api/v1/testville/tasks/{task}/take", headers=staff).status_code == 200
    response = client.post(
        f"/api/v1/testville/tasks/{task}/resolve",
        data={"outcome": "warned", "note": "moved on\u0000"},
        headers=staff,
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "nul_character"
