"""Requests and answers through the Flask test client: a device's push, a JSON read, and the
two error shapes (problem+json on native routes, the CDS error object on /cds/ routes)."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sensors.devices import NewDevice


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def push(
    client: FlaskClient, device: NewDevice, batch: Any, slug: str = "testville", **headers: str
) -> TestResponse:
    """POST a batch of CDS curb events as `device`; the answer as it comes."""
    return client.post(f"/cds/{slug}/events/event", json=batch, headers=bearer(device.token) | headers)


def push_answer(
    client: FlaskClient, device: NewDevice, batch: Any, slug: str = "testville"
) -> dict[str, Any]:
    """Push a batch that must be answered 200 (items may still fail); the answer's body."""
    response = push(client, device, batch, slug)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    return body


def push_ok(client: FlaskClient, device: NewDevice, batch: Any, slug: str = "testville") -> dict[str, Any]:
    """Push a batch that must be taken whole: 200 and no failures. The answer's body."""
    body = push_answer(client, device, batch, slug)
    assert body["failures"] == [], body["failures"][:3]
    return body


def get_ok(client: FlaskClient, url: str, **headers: str) -> dict[str, Any]:
    """GET a JSON document that must answer 200; its body."""
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json(force=True)
    return body


def assert_problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """A problem+json answer with this status and code, a title and no stack trace; its body."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == "application/problem+json", text
    body: dict[str, Any] = json.loads(text)
    assert (body["code"], body["status"]) == (code, status), body
    assert isinstance(body["title"], str) and body["title"]
    assert "Traceback" not in text
    return body


def assert_cds_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """A CDS error object (`error`, `error_description`, `error_details`) with this status
    and code, and no stack trace; its body."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    body: dict[str, Any] = json.loads(text)
    assert set(body) == {"error", "error_description", "error_details"}, body
    assert body["error"] == code, body
    assert isinstance(body["error_details"], list)
    assert "Traceback" not in text
    return body
