"""Driver identity like staff identity: sign-in and sign-up limited per (email, address) and
per address in the database, passwords hashed with no transaction open, tokens that expire
and are revoked by signing out or changing the password, and a sign-up that does not tell
whether an email has an account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask, g
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from parking.clock import FixedClock

DRIVERS = "/api/v1/drivers"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def sign_up(client: FlaskClient, email: str, password: str = PASSWORD, ip: str = "10.0.0.1") -> TestResponse:
    body = {"email": email, "password": password}
    return client.post(DRIVERS, json=body, environ_base={"REMOTE_ADDR": ip})


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, ip: str = "10.0.0.1") -> TestResponse:
    body = {"email": email, "password": password}
    return client.post(f"{DRIVERS}/sessions", json=body, environ_base={"REMOTE_ADDR": ip})


def bearer(response: TestResponse) -> dict[str, str]:
    assert response.status_code in (200, 201), response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def code(response: TestResponse) -> tuple[int, str]:
    return response.status_code, response.get_json().get("code")


def test_sign_up_answers_alike_for_a_taken_email_and_changes_nothing(client: FlaskClient) -> None:
    """Security review L5: sign-up answered 409 email_taken, telling who has an account."""
    first = sign_up(client, "driver01@example.org")
    again = sign_up(client, "Driver01@Example.org", "another password 2", ip="10.0.0.2")
    assert first.status_code == again.status_code == 202
    assert (
        first.get_json()
        == again.get_json()
        == {
            "email": "driver01@example.org",
            "next": "sign in with this email and password: POST /api/v1/drivers/sessions",
        }
    )
    assert sign_in(client, "driver01@example.org").status_code == 201  # the first password stands
    assert code(sign_in(client, "driver01@example.org", "another password 2")) == (401, "bad_credentials")


def test_driver_sign_in_is_limited_per_email_and_address_like_staff(client: FlaskClient) -> None:
    """Security review M1: 87 guesses in 20 s, none refused."""
    sign_up(client, "driver01@example.org")
    for n in range(5):
        assert code(sign_in(client, "driver01@example.org", f"guess {n}", ip="203.0.113.7")) == (
            401,
            "bad_credentials",
        )
    locked = sign_in(client, "driver01@example.org", ip="203.0.113.7")
    assert code(locked) == (429, "too_many_attempts") and int(locked.headers["Retry-After"]) > 0
    assert sign_in(client, "driver01@example.org", ip="10.0.0.9").status_code == 201  # elsewhere: fine


def test_sign_ups_and_failures_from_one_address_are_limited(app: Flask, client: FlaskClient) -> None:
    app.config["SIGNIN_MAX_FAILURES_PER_IP"] = 4
    for n in range(3):
        assert sign_up(client, f"bulk{n}@example.org").status_code == 202
    assert code(sign_in(client, "nobody@example.org", "nothing at all")) == (401, "bad_credentials")
    assert code(sign_up(client, "bulk9@example.org")) == (429, "too_many_attempts")
    assert code(sign_in(client, "bulk0@example.org")) == (429, "too_many_attempts")
    assert sign_up(client, "bulk9@example.org", ip="10.0.0.2").status_code == 202


def test_passwords_are_hashed_and_checked_with_no_transaction_open(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Security review M1: argon2 ran inside the write transaction (SQLite's write lock)."""
    seen: list[bool] = []

    def outside(work: Callable[..., Any]) -> Callable[..., Any]:
        def checked(*args: Any) -> Any:
            seen.append(g.db.in_transaction())
            return work(*args)

        return checked

    import identity.services as services

    monkeypatch.setattr(services, "hash_password", outside(services.hash_password))
    monkeypatch.setattr(services, "password_matches", outside(services.password_matches))
    auth = (
        bearer(sign_in(client, "x@example.org"))
        if sign_up(client, "x@example.org").status_code == 202
        else {}
    )
    change = {"current_password": PASSWORD, "new_password": "a new password 3"}
    assert client.put(f"{DRIVERS}/me/password", json=change, headers=auth).status_code == 200
    assert seen == [False, False, False, False]  # sign-up, sign-in, the current and the new password


def test_a_driver_token_expires_after_driver_token_hours(client: FlaskClient, clock: FixedClock) -> None:
    sign_up(client, "x@example.org")
    auth = bearer(sign_in(client, "x@example.org"))
    clock.advance(timedelta(hours=720) - timedelta(seconds=1))
    assert client.get(f"{DRIVERS}/me", headers=auth).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert code(client.get(f"{DRIVERS}/me", headers=auth)) == (401, "unauthorized")


def test_signing_out_revokes_only_that_token(client: FlaskClient) -> None:
    """Security review L4: nothing could revoke a driver token."""
    sign_up(client, "x@example.org")
    phone, laptop = bearer(sign_in(client, "x@example.org")), bearer(sign_in(client, "x@example.org"))
    out = client.delete(f"{DRIVERS}/sessions", headers=phone)
    assert out.status_code == 200 and out.get_json() == {"signed_out": True}
    assert code(client.get(f"{DRIVERS}/me", headers=phone)) == (401, "unauthorized")
    assert client.get(f"{DRIVERS}/me", headers=laptop).status_code == 200
    assert code(client.delete(f"{DRIVERS}/sessions", headers=phone)) == (401, "unauthorized")


def test_changing_the_password_revokes_every_token_and_answers_a_new_one(client: FlaskClient) -> None:
    sign_up(client, "x@example.org")
    thief, mine = bearer(sign_in(client, "x@example.org")), bearer(sign_in(client, "x@example.org"))
    wrong = {"current_password": "not it at all", "new_password": "a new password 3"}
    assert code(client.put(f"{DRIVERS}/me/password", json=wrong, headers=mine)) == (401, "bad_credentials")
    assert client.get(f"{DRIVERS}/me", headers=thief).status_code == 200  # nothing changed
    short = {"current_password": PASSWORD, "new_password": "short"}
    assert code(client.put(f"{DRIVERS}/me/password", json=short, headers=mine)) == (400, "invalid_parameters")

    changed = client.put(
        f"{DRIVERS}/me/password",
        json={"current_password": PASSWORD, "new_password": "a new password 3"},
        headers=mine,
    )

    fresh = bearer(changed)
    assert changed.headers["Cache-Control"] == "no-store"
    for old in (thief, mine):
        assert code(client.get(f"{DRIVERS}/me", headers=old)) == (401, "unauthorized")
    assert client.get(f"{DRIVERS}/me", headers=fresh).status_code == 200
    assert code(sign_in(client, "x@example.org")) == (401, "bad_credentials")
    assert sign_in(client, "x@example.org", "a new password 3").status_code == 201
