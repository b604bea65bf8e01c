"""Slow clients behind the reverse proxy (security review H1): nginx (deploy/nginx.conf) reads
whole bodies before gunicorn sees a request, so clients that send their bodies one byte a
second, one more of them than there are workers, starve nothing: a device push still answers
within a second. The stack is the production one: nginx on a loopback port in front of
gunicorn's sync workers on another loopback port, on a throwaway SQLite database."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import upgrade
from fixtures.builders import build_small_district
from fixtures.proxy import nginx_binary, start_gunicorn_behind_proxy, start_nginx
from fixtures.servers import server_env
from parking.clock import to_ms

WORKERS = 2
TRICKLE_SECONDS = 6
PUSH_BUDGET_SECONDS = 1.0
PLATE = "贵A12345"


@dataclass
class Stack:
    base: str
    port: int
    run_dir: Path
    device_uuid: str
    device_token: str


def require_nginx() -> None:
    if nginx_binary() is None:
        message = "NGINX IS MISSING: the slow-client tests need it (Debian: apt-get install nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing nginx there is a broken build
        pytest.skip(message)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_nginx()
    folder = tmp_path_factory.mktemp("proxy")
    url = f"sqlite:///{folder}/slow.db"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        town = build_small_district(db, datetime.now(UTC))
        db.commit()
        device_uuid, device_token = town.stake_a.device.uuid, town.stake_a.token
    engine.dispose()
    env = server_env(url, {"PARKING_SQLITE_CHECKPOINT_SECONDS": "0"})
    with (
        start_gunicorn_behind_proxy(env, WORKERS) as gunicorn,
        start_nginx(gunicorn.base, folder / "nginx") as nginx,
    ):
        port = int(nginx.base.rsplit(":", 1)[1])
        yield Stack(nginx.base, port, folder / "nginx", device_uuid, device_token)


def trickle(port: int, stop: threading.Event) -> None:
    """An unauthenticated client that sends a sign-in body one byte a second."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            b"POST /api/v1/drivers/sessions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        while not stop.wait(1.0):
            s.sendall(b" ")


def push_heartbeat(stack: Stack) -> float:
    now = to_ms(datetime.now(UTC))
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "scheduled_report",
        "event_time": now,
        "event_publication_time": now,
        "data_source_type": "camera",
        "data_source_device_id": stack.device_uuid,
    }
    request = urllib.request.Request(
        f"{stack.base}/cds/testville/events/event",
        data=json.dumps([event]).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {stack.device_token}"},
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, response.read()
    return time.monotonic() - started


def test_a_device_push_answers_within_a_second_while_more_clients_than_workers_trickle(
    stack: Stack,
) -> None:
    stop = threading.Event()
    clients = [threading.Thread(target=trickle, args=(stack.port, stop)) for _ in range(WORKERS + 1)]
    for client in clients:
        client.start()
    try:
        time.sleep(2.0)  # every trickling body is under way, and would hold a worker without nginx
        took = []
        deadline = time.monotonic() + TRICKLE_SECONDS
        while time.monotonic() < deadline:
            took.append(push_heartbeat(stack))
            time.sleep(0.5)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=10)

    assert len(took) >= 5
    assert max(took) < PUSH_BUDGET_SECONDS, took


def test_the_proxy_access_log_never_holds_a_plate(stack: Stack) -> None:
    quoted = urllib.parse.quote(PLATE)
    with contextlib.suppress(urllib.error.HTTPError):  # only what the log keeps matters here
        urllib.request.urlopen(f"{stack.base}/api/v1/testville/plates/{quoted}/unpaid", timeout=10)
    time.sleep(0.2)  # nginx writes its log line after the answer

    log = (stack.run_dir / "nginx-access.log").read_text()
    assert "/api/v1/testville/plates/-/unpaid" in log
    assert quoted not in log and PLATE not in log
