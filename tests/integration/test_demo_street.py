"""The demo shows the whole street: the live simulator driven against the app for the first
ten minutes of `make run` (default speed 60), with the scheduler's jobs run as its timers
would, gives wardens overstay tasks they can act on, stakes that fall silent, drivers who pay
at the curb, and departures nobody paid for."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from api.scheduler.jobs import run_job
from enforcement.models import Task
from fixtures.demo import DEMO_SLUG, DEMO_STAFF_PASSWORD, DEMO_TIME_ZONE, demo_token, seed_demo
from fixtures.simulator import LiveStreet, sim_bays
from parking.clock import FixedClock
from parking.models import Bay, Road, Stay
from sensors.models import Device

API = f"/api/v1/{DEMO_SLUG}"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
# The scheduler's timers (api/scheduler/jobs.py), in seconds.
JOBS = {"device-health": 60, "overstay": 60, "unregistered": 120, "escalation": 60, "price-stays": 30}


def street_for(db: Session, clock: FixedClock) -> tuple[LiveStreet, dict[str, str]]:
    seed_demo(db, clock.now())
    db.commit()
    spaces = {
        name: (space, zone)
        for name, space, zone in db.execute(
            select(Bay.name, Bay.uuid, Road.uuid).join(Road, Road.id == Bay.road_id)
        )
    }
    devices = {d.name: d.uuid for d in db.scalars(select(Device))}
    street = LiveStreet(sim_bays(spaces, devices), ZoneInfo(DEMO_TIME_ZONE), clock.now(), speed=60, seed=11)
    return street, {uuid: demo_token(name) for name, uuid in devices.items()}


def push(client: FlaskClient, events: list[dict[str, Any]], token_of: dict[str, str]) -> Counter[str]:
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_device[event["data_source_device_id"]].append(event)
    refused: Counter[str] = Counter()
    for device, items in by_device.items():
        answer = client.post(
            f"/cds/{DEMO_SLUG}/events/event",
            json=items,
            headers={"Authorization": f"Bearer {token_of[device]}"},
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        refused.update(f["error"] for f in answer.get_json()["failures"])
    return refused


def test_within_ten_minutes_of_make_run_a_warden_sees_overstay_tasks_and_issues_a_citation(
    app: Flask, client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    street, token_of = street_for(db, clock)
    start = clock.now()
    refused: Counter[str] = Counter()
    for tick in range(0, 10 * 60 + 1, 10):  # ten real minutes, the runner's tick made 10 s
        clock.set(start + timedelta(seconds=tick))
        refused += push(client, street.due(clock.now()), token_of)
        for job, every in JOBS.items():
            if tick % every == 0:
                run_job(app, job, DEMO_SLUG)

    assert not refused
    tasks = db.scalars(select(Task)).all()
    kinds = Counter(t.kind for t in tasks)
    assert kinds["check_overstay"] >= 5, kinds
    assert kinds["repair_device"] >= 1, kinds  # the stake that fell silent
    ended = db.scalar(select(func.count()).select_from(Stay).where(Stay.ended_at.is_not(None))) or 0
    assert ended >= 20  # departures: billed, some paid at the curb, some not

    signed_in = client.post(
        f"{API}/staff/sign-in", json={"username": "warden", "password": DEMO_STAFF_PASSWORD}
    ).get_json()
    auth = {"Authorization": f"Bearer {signed_in['token']}"}
    listed = client.get(f"{API}/tasks", headers=auth).get_json()["tasks"]
    overstays = [t for t in listed if t["kind"] == "check_overstay"]
    assert overstays
    task = overstays[0]["id"]
    assert client.post(f"{API}/tasks/{task}/take", headers=auth).status_code == 200
    boundary, body = encode_multipart(
        MultiDict(
            {
                "outcome": "citation_issued",
                "note": "seen at the curb",
                "photo": FileStorage(io.BytesIO(PNG), "photo.png"),
            }
        )
    )
    resolved = client.post(
        f"{API}/tasks/{task}/resolve",
        data=body,
        headers=auth,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert resolved.status_code == 200, resolved.get_data(as_text=True)
    assert resolved.get_json()["outcome"] == "citation_issued"
