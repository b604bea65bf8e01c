"""Staff sign-in over HTTP: tokens that expire and can be revoked, the same answer for every
wrong credential, the database-backed limit on failed sign-ins per username and per address,
and the admin's management of accounts and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from fixtures.builders import SmallDistrict, build_small_district
from identity.models import SignInAttempt, StaffAccount, StaffToken
from identity.passwords import hash_password, password_matches
from identity.signin import BadCredentialsError, PendingSignIn, check_password
from identity.staff import create_account, issue_staff_token
from parking.clock import FixedClock
from tests.support.http import assert_problem, bearer

API = "/api/v1/testville"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes half a second a hash on a busy 2-core machine."""
    monkeypatch.setattr(
        "identity.passwords.HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@dataclass
class Staff:
    small: SmallDistrict
    admin: str  # an operator's admin token
    warden: StaffAccount

    def admin_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin}"}


@pytest.fixture
def staff(db: Session, clock: FixedClock) -> Staff:
    now = clock.now()
    small = build_small_district(db, now)
    _, admin = issue_staff_token(db, small.district, "admin", "operator", now)
    warden = create_account(
        db, small.district, "li.na", PASSWORD, "Li Na", "warden", now, hash_password=hash_password
    )
    db.commit()
    return Staff(small, admin, warden)


def sign_in(client: FlaskClient, username: str, password: str, ip: str = "10.0.0.1") -> TestResponse:
    return client.post(
        f"{API}/staff/sign-in",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def attempts(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(SignInAttempt)) or 0


def test_a_staff_member_signs_in_and_the_token_works_until_it_expires(
    client: FlaskClient, staff: Staff, clock: FixedClock
) -> None:
    answer = sign_in(client, "  Li.Na ", PASSWORD)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["role"], body["name"], body["expires_at"]) == (
        "warden",
        "Li Na",
        "2026-03-02T14:00:00+00:00",
    )
    assert body["token"].startswith("st_")
    assert answer.headers["Cache-Control"] == "no-store"
    me = client.get(f"{API}/staff/me", headers=bearer(body["token"]))
    assert me.get_json()["name"] == "Li Na"

    clock.advance(timedelta(hours=12) - timedelta(seconds=1))
    assert client.get(f"{API}/staff/me", headers=bearer(body["token"])).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert_problem(client.get(f"{API}/staff/me", headers=bearer(body["token"])), 401, "invalid_token")


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(
    client: FlaskClient, staff: Staff, db: Session
) -> None:
    wrong_password = assert_problem(sign_in(client, "li.na", "not the password"), 401, "bad_credentials")
    unknown_user = assert_problem(sign_in(client, "nobody", PASSWORD), 401, "bad_credentials")
    assert wrong_password == unknown_user
    assert attempts(db) == 2  # both are on record as failures
    assert (
        db.scalar(select(func.count()).select_from(StaffToken).where(StaffToken.account_id.is_not(None))) == 0
    )


def test_the_dummy_hash_for_unknown_users_never_lets_anyone_in() -> None:
    # Unknown users are checked against a dummy hash, so that they cost the same work.
    with pytest.raises(BadCredentialsError):
        check_password(
            PendingSignIn(attempt_id=1, account_id=None, password_hash=None),
            "a password nobody has",
            password_matches,
        )


def test_an_outsider_cannot_lock_a_staff_member_out_with_five_wrong_passwords(
    client: FlaskClient, staff: Staff, clock: FixedClock, db: Session
) -> None:
    """Security review L3: five wrong passwords from anywhere refused the right one too."""
    for n in range(15):
        sign_in(client, "li.na", f"guess {n}", ip="203.0.113.7")
    assert sign_in(client, "li.na", PASSWORD, ip="10.0.0.1").status_code == 200


def test_five_failures_lock_the_username_from_that_address_until_the_window_passes(
    client: FlaskClient, staff: Staff, clock: FixedClock, db: Session
) -> None:
    for minute in range(5):
        assert_problem(sign_in(client, "li.na", f"guess {minute}"), 401, "bad_credentials")
        clock.advance(timedelta(minutes=1))
    locked = sign_in(client, "li.na", PASSWORD)
    assert_problem(locked, 429, "too_many_attempts")
    # The first failure (5 minutes ago) leaves the 15-minute window in 10 minutes.
    assert locked.headers["Retry-After"] == str(10 * 60)
    assert attempts(db) == 5  # a refused attempt is not recorded: it cannot extend the lock
    assert sign_in(client, "other", "whatever else").status_code == 401  # only that username is locked
    assert sign_in(client, "li.na", PASSWORD, ip="10.0.0.2").status_code == 200  # and from that address

    clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert sign_in(client, "li.na", PASSWORD).headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert sign_in(client, "li.na", PASSWORD).status_code == 200


def test_a_success_resets_the_pairs_count_but_not_the_addresss_nor_other_addresses(
    app: Flask, client: FlaskClient, staff: Staff, db: Session
) -> None:
    app.config["SIGNIN_MAX_FAILURES_PER_IP"] = 8
    for n in range(4):
        assert_problem(sign_in(client, "li.na", f"guess {n}"), 401, "bad_credentials")
        assert_problem(sign_in(client, "li.na", f"elsewhere {n}", ip="10.0.0.3"), 401, "bad_credentials")
    assert sign_in(client, "li.na", PASSWORD).status_code == 200
    for n in range(4):  # four more for li.na: the earlier four no longer count against her
        assert_problem(sign_in(client, "li.na", f"again {n}"), 401, "bad_credentials")
    # ...but all eight count against the address: even the right password is refused from it
    assert_problem(sign_in(client, "li.na", PASSWORD), 429, "too_many_attempts")
    assert_problem(sign_in(client, "someone.else", PASSWORD), 429, "too_many_attempts")
    assert sign_in(client, "li.na", PASSWORD, ip="10.0.0.2").status_code == 200
    # her success did not give the other address a fresh budget for her username
    assert_problem(sign_in(client, "li.na", "fifth", ip="10.0.0.3"), 401, "bad_credentials")
    assert_problem(sign_in(client, "li.na", PASSWORD, ip="10.0.0.3"), 429, "too_many_attempts")


def test_twenty_failures_from_one_address_lock_it_for_every_username(
    client: FlaskClient, staff: Staff, clock: FixedClock
) -> None:
    for n in range(20):
        assert_problem(sign_in(client, f"user{n}", "nothing"), 401, "bad_credentials")
    locked = assert_problem(sign_in(client, "li.na", PASSWORD), 429, "too_many_attempts")
    assert "address" in locked["title"]
    assert sign_in(client, "li.na", PASSWORD, ip="10.0.0.9").status_code == 200


def test_attempts_older_than_the_window_are_pruned(
    client: FlaskClient, staff: Staff, clock: FixedClock, db: Session
) -> None:
    for n in range(3):
        sign_in(client, "li.na", f"guess {n}")
    assert attempts(db) == 3
    clock.advance(timedelta(minutes=15))
    sign_in(client, "nobody", "nothing")
    assert attempts(db) == 1


def test_sign_out_revokes_the_token_at_once(client: FlaskClient, staff: Staff) -> None:
    token = sign_in(client, "li.na", PASSWORD).get_json()["token"]
    answer = client.post(f"{API}/staff/sign-out", headers=bearer(token))
    assert answer.status_code == 200 and answer.get_json() == {"signed_out": True}
    assert_problem(client.get(f"{API}/staff/me", headers=bearer(token)), 401, "invalid_token")
    assert_problem(client.post(f"{API}/staff/sign-out", headers=bearer(token)), 401, "invalid_token")


def test_an_admin_revokes_one_token_and_the_others_keep_working(client: FlaskClient, staff: Staff) -> None:
    first = sign_in(client, "li.na", PASSWORD).get_json()["token"]
    second = sign_in(client, "li.na", PASSWORD).get_json()["token"]
    listed = client.get(f"{API}/staff/accounts", headers=staff.admin_auth()).get_json()["accounts"]
    (account,) = listed
    assert [t["expires_at"] for t in account["tokens"]] == ["2026-03-02T14:00:00+00:00"] * 2
    first_id = account["tokens"][0]["id"]
    revoked = client.post(f"{API}/staff/tokens/{first_id}/revoke", headers=staff.admin_auth())
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"] == "2026-03-02T02:00:00+00:00"
    assert_problem(client.get(f"{API}/staff/me", headers=bearer(first)), 401, "invalid_token")
    assert client.get(f"{API}/staff/me", headers=bearer(second)).status_code == 200
    listed = client.get(f"{API}/staff/accounts", headers=staff.admin_auth()).get_json()["accounts"]
    assert len(listed[0]["tokens"]) == 1
    assert_problem(
        client.post(f"{API}/staff/tokens/99999/revoke", headers=staff.admin_auth()), 404, "unknown_token"
    )


def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop_at_once(
    client: FlaskClient, staff: Staff, db: Session
) -> None:
    token = sign_in(client, "li.na", PASSWORD).get_json()["token"]
    answer = client.post(f"{API}/staff/accounts/{staff.warden.id}/disable", headers=staff.admin_auth())
    assert answer.status_code == 200 and answer.get_json()["disabled_at"] == "2026-03-02T02:00:00+00:00"
    assert_problem(client.get(f"{API}/staff/me", headers=bearer(token)), 401, "invalid_token")
    assert_problem(sign_in(client, "li.na", PASSWORD), 401, "bad_credentials")
    revoked = db.scalars(select(StaffToken.revoked_at).where(StaffToken.account_id == staff.warden.id)).all()
    assert revoked and all(at is not None for at in revoked)
    assert_problem(
        client.post(f"{API}/staff/accounts/99999/disable", headers=staff.admin_auth()), 404, "unknown_account"
    )


def test_an_admin_cannot_disable_their_own_account(
    client: FlaskClient, staff: Staff, db: Session, clock: FixedClock
) -> None:
    boss = create_account(
        db, staff.small.district, "boss", PASSWORD, "Boss", "admin", clock.now(), hash_password=hash_password
    )
    db.commit()
    token = sign_in(client, "boss", PASSWORD).get_json()["token"]
    assert_problem(
        client.post(f"{API}/staff/accounts/{boss.id}/disable", headers=bearer(token)),
        409,
        "cannot_disable_self",
    )
    assert client.get(f"{API}/staff/accounts", headers=bearer(token)).status_code == 200


def test_an_admin_creates_an_account_that_can_sign_in(client: FlaskClient, staff: Staff) -> None:
    body: dict[str, Any] = {"username": "Zhao.Lei", "password": "0123456789", "name": "Zhao Lei"}
    body.update(role="warden", beat=["Jianshan Road"])
    created = client.post(f"{API}/staff/accounts", json=body, headers=staff.admin_auth())
    assert created.status_code == 201, created.get_data(as_text=True)
    out = created.get_json()
    assert {k: out[k] for k in ("username", "name", "role", "beat", "disabled_at", "tokens")} == {
        "username": "zhao.lei",
        "name": "Zhao Lei",
        "role": "warden",
        "beat": ["Jianshan Road"],
        "disabled_at": None,
        "tokens": [],
    }
    assert sign_in(client, "zhao.lei", "0123456789").get_json()["name"] == "Zhao Lei"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"password": "123456789"}, 400, "weak_password"),
        ({"username": "li.na"}, 409, "username_taken"),
        ({"username": "no spaces"}, 400, "invalid_input"),
        ({"role": "mayor"}, 400, "invalid_parameters"),
        ({"role": "police", "beat": ["Jianshan Road"]}, 400, "invalid_input"),
        ({"beat": ["Jianshan Road", "Nowhere Road"]}, 400, "unknown_road"),
        ({"name": None}, 400, "invalid_parameters"),
    ],
    ids=["short-password", "taken", "bad-username", "bad-role", "beat-for-police", "unknown-road", "no-name"],
)
def test_a_bad_account_is_refused_with_its_rule_and_nothing_is_written(
    client: FlaskClient, staff: Staff, db: Session, change: dict[str, Any], status: int, code: str
) -> None:
    body = {"username": "new.one", "password": "long enough password", "name": "New One", "role": "warden"}
    body.update(change)
    assert_problem(client.post(f"{API}/staff/accounts", json=body, headers=staff.admin_auth()), status, code)
    assert db.scalar(select(func.count()).select_from(StaffAccount)) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/staff/accounts"),
        ("GET", "/staff/accounts"),
        ("POST", "/staff/accounts/{id}/disable"),
        ("POST", "/staff/tokens/{token}/revoke"),
    ],
)
def test_account_management_is_for_admins_only(
    client: FlaskClient, staff: Staff, db: Session, clock: FixedClock, method: str, path: str
) -> None:
    row, _ = issue_staff_token(db, staff.small.district, "police", "someone", clock.now())
    db.commit()
    url = API + path.format(id=staff.warden.id, token=row.id)
    for role in ("bureau", "warden", "attendant", "police", "city"):
        _, token = issue_staff_token(db, staff.small.district, role, f"{role} one", clock.now())
        db.commit()
        body = {"username": "x.y", "password": "long enough password", "name": "X", "role": "city"}
        answer = client.open(
            url, method=method, json=body if method == "POST" else None, headers=bearer(token)
        )
        assert_problem(answer, 403, "forbidden")
    assert_problem(client.open(url, method=method), 401, "unauthorized")
    assert db.get(StaffToken, row.id).revoked_at is None  # type: ignore[union-attr]
    assert db.get(StaffAccount, staff.warden.id).disabled_at is None  # type: ignore[union-attr]


def test_a_token_of_another_district_is_unknown_here(
    client: FlaskClient, staff: Staff, db: Session, clock: FixedClock
) -> None:
    other = build_small_district(db, clock.now(), slug="otherville")
    create_account(
        db,
        other.district,
        "li.na",
        PASSWORD,
        "Other Li Na",
        "warden",
        clock.now(),
        hash_password=hash_password,
    )
    db.commit()
    answer = client.post("/api/v1/otherville/staff/sign-in", json={"username": "li.na", "password": PASSWORD})
    token = answer.get_json()["token"]
    assert_problem(client.get(f"{API}/staff/me", headers=bearer(token)), 401, "unauthorized")
    assert (
        client.get("/api/v1/otherville/staff/me", headers=bearer(token)).get_json()["name"] == "Other Li Na"
    )


def test_sign_in_needs_a_username_and_a_password(client: FlaskClient, staff: Staff, db: Session) -> None:
    body = assert_problem(
        client.post(f"{API}/staff/sign-in", json={"username": "li.na"}), 400, "invalid_parameters"
    )
    assert body["errors"] == ["password: Missing data for required field."]
    assert_problem(client.post(f"{API}/staff/sign-in", data="nope"), 400, "invalid_json")
    assert_problem(
        client.post("/api/v1/nowhere/staff/sign-in", json={"username": "a", "password": "b"}),
        404,
        "unknown_district",
    )
    assert attempts(db) == 0


def test_text_with_a_nul_character_is_refused_and_nothing_is_stored(
    client: FlaskClient, staff: Staff, db: Session
) -> None:
    # PostgreSQL text cannot hold NUL: a 400 on either database, never a 500.
    assert_problem(sign_in(client, "li\x00na", PASSWORD), 400, "nul_character")
    body = {"username": "new.one", "password": "long enough password", "name": "N\x00", "role": "warden"}
    assert_problem(
        client.post(f"{API}/staff/accounts", json=body, headers=staff.admin_auth()), 400, "nul_character"
    )
    assert attempts(db) == 0
    assert db.scalar(select(func.count()).select_from(StaffAccount)) == 1
