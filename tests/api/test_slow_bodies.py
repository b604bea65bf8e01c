"""No view holds a database transaction while it reads a request body (security review H1).

A client may send its body one byte a second. Whatever the route, the whole body is read
before any view opens a session (api/bodies.py `read_whole_body`), so a slow or hostile
client never holds SQLite's write lock, nor a pooled connection, while it trickles. The test
walks every write route of the URL map with an app on its own engine (not the test's one
connection), counts pooled connections checked out, and reads the body through a stream
that notes how many were out at each read."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine, event

from api import create_app

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY = b'{"email": "slow@example.com", "password": "slow-password-1", "pad": "' + b" " * 200 + b'"}'


class WatchedBody(io.RawIOBase):
    """A request body that records, at each read, how many connections were checked out."""

    def __init__(self, data: bytes, checked_out: list[int]) -> None:
        self.data, self.offset, self.checked_out = data, 0, checked_out
        self.out_at_reads: list[int] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        self.out_at_reads.append(self.checked_out[0])
        chunk = self.data[self.offset : self.offset + min(len(buffer), 16)]  # a trickle
        buffer[: len(chunk)] = chunk
        self.offset += len(chunk)
        return len(chunk)


@pytest.fixture
def engine_app(database_url: str, engine: Engine) -> Iterator[tuple[Flask, list[int]]]:
    """The app on its own engine, as in production; `engine` has migrated the database."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SQLITE_CHECKPOINT_SECONDS": 0})
    own: Engine = app.extensions["parking.engine"]
    checked_out = [0]
    event.listen(own, "checkout", lambda *_: checked_out.__setitem__(0, checked_out[0] + 1))
    event.listen(own, "checkin", lambda *_: checked_out.__setitem__(0, checked_out[0] - 1))
    yield app, checked_out
    own.dispose()


def write_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) for every write route, its arguments filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<int:[^>]+>", "7", rule.rule)
        path = re.sub(r"<district>", "nowhere", path)
        path = re.sub(r"<[^>]+>", "00000000-0000-4000-8000-000000000000", path)
        found += [(rule.endpoint, m, path) for m in sorted((rule.methods or set()) & WRITE_METHODS)]
    return found


def test_the_url_map_has_write_routes_to_check(engine_app: tuple[Flask, list[int]]) -> None:
    endpoints = {endpoint for endpoint, _, _ in write_routes(engine_app[0])}
    assert {"staff_auth.sign_in", "payments.pay_plate"} <= endpoints
    assert any(endpoint.endswith(".create_session") for endpoint in endpoints)  # drivers sign in


def test_no_write_route_holds_a_connection_while_it_reads_the_body(
    engine_app: tuple[Flask, list[int]],
) -> None:
    app, checked_out = engine_app
    client = app.test_client()
    offenders, unread = [], []
    for endpoint, method, path in write_routes(app):
        body = WatchedBody(BODY, checked_out)
        client.open(
            path,
            method=method,
            data=BODY,  # sets the length; the body itself comes from the watched stream
            content_type="application/json",
            environ_overrides={"wsgi.input": body},
        )
        if any(body.out_at_reads):
            offenders.append(f"{endpoint} {method}")
        if body.offset != len(BODY):
            unread.append(f"{endpoint} {method}")
        assert checked_out[0] == 0, f"{method} {path} left a connection checked out"
    assert offenders == []
    assert unread == []  # read whole before any view, even one that refuses the request
