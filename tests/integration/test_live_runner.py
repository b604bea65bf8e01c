"""The live runner (fixtures/live.py) against a real server on 127.0.0.1: it pushes the street
with each device's own token, leaves alone a stay someone pushed by hand, drives the patrol
car past the parked vehicles, and pays by plate the way the driver page does."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from api import create_app
from api.database import make_engine
from api.migrations import upgrade
from api.scheduler.jobs import run_job
from enforcement.models_warden import PlateCheck
from fixtures.demo import DEMO_SLUG, demo_layout, demo_token, seed_demo
from fixtures.live import _Http, pay_by_plate, run_live
from fixtures.localstripe import running_localstripe
from parking.clock import to_ms
from parking.models import Bay, Stay
from sensors.models import Device

TOKENS = {device.name: demo_token(device.name) for device in demo_layout().devices}


@dataclass
class Site:
    url: str
    app: Flask
    engine: Engine


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'site.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        seed_demo(db, datetime.now(UTC))
        db.commit()
    with running_localstripe() as stripe:
        app = create_app(
            {"TESTING": True, "DATABASE_URL": url, "STRIPE_API_BASE": stripe, "VACANCY_CACHE_SECONDS": 0}
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-runner-site", daemon=True)
        thread.start()
        try:
            yield Site(f"http://127.0.0.1:{server.server_port}", app, engine)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            app.extensions["parking.engine"].dispose()
            engine.dispose()


def camera(site: Site, bay_name: str, kind: str, at: datetime, plate: str) -> dict[str, Any]:
    with Session(site.engine) as db:
        bay = db.scalars(select(Bay).where(Bay.name == bay_name)).one()
        stake = next(s for s in demo_layout().stakes if bay_name in s.bay_names)
        device = db.scalars(select(Device).where(Device.name == stake.name)).one()
        event = {
            "event_id": str(uuid.uuid4()),
            "event_type": kind,
            "event_time": to_ms(at),
            "event_publication_time": to_ms(datetime.now(UTC)),
            "curb_space_id": bay.uuid,
            "data_source_type": "camera",
            "data_source_device_id": device.uuid,
            "vehicle_license_plate": plate,
            "vehicle_license_plate_confidence": 95,
        }
    status, reply = _Http(site.url).request(
        "POST", f"/cds/{DEMO_SLUG}/events/event", TOKENS[stake.name], json_bytes([event])
    )
    assert status == 200 and reply["success"] == 1, reply
    return event


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def vacant_bays(site: Site) -> list[str]:
    with Session(site.engine) as db:
        return sorted(db.scalars(select(Bay.name).where(Bay.state.in_(("vacant", "unknown")))))


def open_stays(site: Site, plate: str) -> list[Stay]:
    with Session(site.engine) as db:
        return list(db.scalars(select(Stay).where(Stay.plate == plate, Stay.ended_at.is_(None))))


def test_the_runner_pushes_the_street_and_leaves_a_stay_pushed_by_hand_alone(site: Site) -> None:
    reports: list[Any] = []
    runner = threading.Thread(
        target=lambda: reports.append(
            run_live(
                site.url,
                DEMO_SLUG,
                TOKENS,
                60,
                8,
                seed=5,
                tick_seconds=1,
                observe_seconds=1,
                patrol_bays_per_second=200,  # round the whole district in the run
            )
        )
    )
    runner.start()
    time.sleep(3)
    free = vacant_bays(site)
    by_hand = camera(site, free[0], "park_start", datetime.now(UTC), "贵AH0001")
    runner.join(timeout=60)

    report = reports[0]
    assert report.accepted >= 200 and report.request_errors == 0 and not report.failures, report
    assert [s.bay_id for s in open_stays(site, "贵AH0001")]  # still parked
    assert by_hand["curb_space_id"]
    with Session(site.engine) as db:  # the patrol car's reads, each audited as the car's
        car = db.scalars(select(Device).where(Device.kind == "patrol_car")).one()
        audited = db.scalar(select(func.count()).where(PlateCheck.device_id == car.id))
    assert report.patrol_reads > 0 and audited == report.patrol_reads


def test_a_driver_pays_what_the_plate_owes_by_plate(site: Site) -> None:
    guiyang = ZoneInfo("Asia/Shanghai")
    yesterday = datetime.now(guiyang).date() - timedelta(days=1)
    left = datetime.combine(yesterday, datetime.min.time(), tzinfo=guiyang) + timedelta(hours=12)
    bay = vacant_bays(site)[-1]
    camera(site, bay, "park_start", left - timedelta(hours=2), "贵AH0002")  # 10:00-12:00, a fee is due
    camera(site, bay, "park_end", left, "贵AH0002")
    run_job(site.app, "price-stays", DEMO_SLUG)
    client = _Http(site.url)
    path = f"/api/v1/{DEMO_SLUG}/plates/{quote('贵AH0002')}/unpaid"
    owed_before = client.request("GET", path)[1]["outstanding"]

    paid = pay_by_plate(client, DEMO_SLUG, "贵AH0002")

    assert owed_before > 0
    assert paid == 1
    assert client.request("GET", path)[1]["outstanding"] == 0
    assert pay_by_plate(client, DEMO_SLUG, "贵AH0002") == 0  # nothing owed: nothing paid
