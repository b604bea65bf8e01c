"""`flask --app api create-staff`: a staff account from the command line, its password typed
twice at a prompt or read from standard input, that then signs in over HTTP."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fixtures.builders import build_small_district
from identity.models import StaffAccount
from parking.clock import FixedClock


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes half a second a hash on a busy 2-core machine."""
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(autouse=True)
def district(db: Session, clock: FixedClock) -> None:
    build_small_district(db, clock.now())
    db.commit()


def create_staff(app: Flask, *args: str, stdin: str) -> Result:
    command = ["create-staff", "--district", "testville", *args]
    return app.test_cli_runner().invoke(args=command, input=stdin)


def sign_in(app: Flask, username: str, password: str) -> dict[str, str]:
    answer = app.test_client().post(
        "/api/v1/testville/staff/sign-in", json={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body: dict[str, str] = answer.get_json()
    return body


def test_a_warden_with_a_beat_is_created_from_standard_input_and_signs_in(app: Flask) -> None:
    args = ["--username", "sun.mei", "--role", "warden", "--name", "Sun Mei", "--beat", "Jianshan Road"]
    result = create_staff(app, *args, "--password-stdin", stdin="a long password\n")
    assert result.exit_code == 0, result.output
    assert result.output == "staff account 'sun.mei' (warden) created in testville, beat of 1 roads\n"
    assert sign_in(app, "sun.mei", "a long password")["name"] == "Sun Mei"


def test_the_password_prompt_asks_twice_and_hides_what_is_typed(app: Flask) -> None:
    result = create_staff(app, "--username", "ops", "--role", "admin", stdin="0123456789\n0123456789\n")
    assert result.exit_code == 0, result.output
    assert "0123456789" not in result.output
    assert result.output.endswith("staff account 'ops' (admin) created in testville, district-wide\n")
    assert sign_in(app, "ops", "0123456789")["role"] == "admin"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--username", "short", "--role", "city"], "weak_password"),
        (["--username", "w", "--role", "warden"], "invalid_input"),
        (["--username", "w.one", "--role", "warden", "--beat", "Nowhere Road"], "unknown_road"),
        (["--username", "p.one", "--role", "police", "--beat", "Jianshan Road"], "invalid_input"),
    ],
)
def test_a_refused_account_exits_with_one_line_and_creates_nothing(
    app: Flask, db: Session, args: list[str], reason: str
) -> None:
    password = "tiny" if reason == "weak_password" else "long enough password"
    result = create_staff(app, *args, "--password-stdin", stdin=password + "\n")
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {reason}: ") and result.output.count("\n") == 1
    assert db.scalar(select(func.count()).select_from(StaffAccount)) == 0
