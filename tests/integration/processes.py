"""The web app and the jobs as real processes on 127.0.0.1, each in its own process group so
that a test can SIGKILL it with every worker, and always does so when it ends."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from fixtures.pgcluster import _free_port

REPO = Path(__file__).resolve().parents[2]


def app_env(database_url: str) -> dict[str, str]:
    # These servers run on the real clock but take events stamped by the tests' fixed clock,
    # months before it: no bound on an event's age (EVENT_MAX_AGE_HOURS), as for a replay.
    return {
        **os.environ,
        "PARKING_DATABASE_URL": database_url,
        "PARKING_LOG_LEVEL": "WARNING",
        "PARKING_EVENT_MAX_AGE_HOURS": "0",
    }


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything it started (its process group), then reap it."""
    with suppress(ProcessLookupError):  # it and its group are gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class WebServer:
    """gunicorn serving `api:create_app()` against one database."""

    def __init__(self, database_url: str, workers: int, log: Path) -> None:
        self.database_url, self.workers, self.log = database_url, workers, log
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
            "--timeout", "120", "--no-control-socket", "api:create_app()",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=app_env(self.database_url),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.kill()
                raise RuntimeError(f"gunicorn did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None:
            kill_group(self.process)
            self.process = None

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/cds/none/curbs/zones")
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()


class Pusher:
    """Pushes batches of events (or sends any request) with a bearer token, over HTTP to a
    server or in process through an app's test client; one per writer thread."""

    def __init__(self, token: str, url: str | None = None, app: Any = None) -> None:
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._conn: http.client.HTTPConnection | None = None
        if url is not None:
            parts = urlsplit(url)
            self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
        self._client: Any = app.test_client() if app is not None else None

    def post(self, path: str, batch: list[dict[str, Any]]) -> tuple[int, Any]:
        return self.send("POST", path, batch)

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request, `body` (if any) as JSON; the status and the JSON answer."""
        data = None if body is None else orjson.dumps(body)
        if self._conn is None:
            reply = self._client.open(path, method=method, data=data, headers=self.headers)
            return reply.status_code, reply.get_json()
        self._conn.request(method, path, body=data, headers=self.headers)
        answer = self._conn.getresponse()
        return answer.status, orjson.loads(answer.read())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@contextmanager
def web_server(database_url: str, log: Path, workers: int = 2) -> Iterator[WebServer]:
    server = WebServer(database_url, workers, log)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def start_job(database_url: str, name: str, district: str, log: Path) -> subprocess.Popen[bytes]:
    """`flask --app api run-job NAME --district SLUG` in its own process group."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "api", "run-job", name, "--district", district],
            cwd=REPO,
            env=app_env(database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_job(database_url: str, name: str, district: str, log: Path, timeout: float = 60.0) -> str:
    """Run a job to its end; returns its summary line."""
    process = start_job(database_url, name, district, log)
    try:
        process.wait(timeout=timeout)
    finally:
        kill_group(process)
    lines = log.read_text(errors="replace").strip().splitlines()
    assert process.returncode == 0, "\n".join(lines[-20:])
    return lines[-1]


def wait_for(condition: Callable[[], bool], timeout: float, every: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
