"""SIGKILL amid the requests the street makes one at a time loses none that was answered.

Stakes push one event a request and a warden checks plates, each from clients of their own,
against gunicorn; once every client has had answers and has a request in flight, the web
app's whole process group is killed. Every event whose push was answered is in the log,
every plate check answered is on the audit log, and the stays and bays are exactly what the
log rebuilds (docs/TIMELINE.md): an answer never runs ahead of its commit. Each test commits
into a database of its own."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from enforcement.models_warden import PlateCheck
from identity.staff import issue_staff_token
from parking.models import District
from sensors.rebuild import rebuild_districts
from tests.conftest import TEST_NOW
from tests.integration.curb_traffic import build_curb, conflicting_traffic
from tests.integration.own_database import own_database, session_on, snapshot
from tests.integration.processes import Pusher, WebServer, wait_for

BAYS, PER_BAY = 40, 60  # 2,400 events, far more than are sent before the kill
EVENT_CLIENTS, CHECK_CLIENTS = 2, 2


class Client(Pusher):
    """A keep-alive connection sending one request at a time; keeps what was answered and
    whether a request is in flight."""

    def __init__(self, server: WebServer, token: str) -> None:
        super().__init__(token, url=server.url)
        self.answered: list[Any] = []
        self.in_flight = False

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.in_flight = True
        answer = super().send(method, path, body)
        self.in_flight = False
        return answer


def run_until_killed(server: WebServer, clients: list[Client], work: list[Callable[[Client], None]]) -> None:
    """Each client does its work in a thread; once every client has 20 answers and a request
    in flight, the server's process group gets SIGKILL."""

    def run(client: Client, job: Callable[[Client], None]) -> None:
        try:
            job(client)
        except (OSError, http.client.HTTPException):  # the server died under it
            return
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=pair) for pair in zip(clients, work, strict=True)]
    for thread in threads:
        thread.start()
    try:
        ready = lambda: all(len(c.answered) >= 20 and c.in_flight for c in clients)  # noqa: E731
        assert wait_for(ready, timeout=120, every=0.001)
    finally:
        server.kill()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)


def test_web_app_killed_amid_single_events_and_plate_checks_loses_no_answered_event_or_check(
    database_url: str, tmp_path: Path
) -> None:
    with own_database(database_url, tmp_path) as url:
        with session_on(url) as db:
            curb = build_curb(db, TEST_NOW, BAYS)
            district = db.scalars(select(District).where(District.slug == curb.slug)).one()
            _, warden = issue_staff_token(db, district, "warden", "crash warden", TEST_NOW)
            district_id = district.id
            db.commit()
        events = conflicting_traffic(list(curb.bay_names), curb.feed_uuid, TEST_NOW, PER_BAY, seed=11)
        plates = sorted({e["vehicle_license_plate"] for e in events if "vehicle_license_plate" in e})
        bays = list(curb.bay_names)

        def push_singles(first: int) -> Callable[[Client], None]:
            def job(client: Client) -> None:
                for event in events[first::EVENT_CLIENTS]:  # each one event a request, as a stake sends it
                    status, body = client.send("POST", curb.path, [event])
                    assert (status, body["success"]) == (200, 1), body
                    client.answered.append(event["event_id"])

            return job

        def check_plates(first: int) -> Callable[[Client], None]:
            def job(client: Client) -> None:
                for n in range(first, 100_000, CHECK_CLIENTS):
                    plate, bay = plates[n % len(plates)], bays[n % len(bays)]
                    path = f"/api/v1/{curb.slug}/plates/{quote(plate)}/check?bay={bay}"
                    status, body = client.send("GET", path)
                    assert status == 200, body
                    client.answered.append(body["check"])

            return job

        server = WebServer(url, workers=2, log=tmp_path / "gunicorn.log")
        server.start()
        stakes = [Client(server, curb.feed_token) for _ in range(EVENT_CLIENTS)]
        wardens = [Client(server, warden) for _ in range(CHECK_CLIENTS)]
        run_until_killed(
            server,
            stakes + wardens,
            [push_singles(n) for n in range(EVENT_CLIENTS)] + [check_plates(n) for n in range(CHECK_CLIENTS)],
        )

        answered_events = {e for client in stakes for e in client.answered}
        answered_checks = {c for client in wardens for c in client.answered}
        logged = snapshot(url, curb.slug).event_ids
        assert answered_events <= logged  # nothing acknowledged is lost
        assert len(logged - answered_events) <= EVENT_CLIENTS  # those in flight may be there too
        with session_on(url) as db:
            audited = set(db.scalars(select(PlateCheck.uuid).where(PlateCheck.district_id == district_id)))
            assert answered_checks <= audited
            assert len(audited - answered_checks) <= CHECK_CLIENTS
            assert rebuild_districts(db, curb.slug, TEST_NOW).differences == []
