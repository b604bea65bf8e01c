"""Driver notifications: max-stay reminders, automatic charges (paid and refused), arrears,
and their signed delivery to a real HTTP server on 127.0.0.1, retried and never repeated."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api import create_app
from api.scheduler.jobs import run_job
from billing.auto_charges import plan_auto_charges
from billing.ledger import mark_arrears
from billing.models import Payment
from billing.notification_models import Notification
from billing.notification_push import http_sender, register_callback, verify_signature
from billing.notifications import collect_events, queue_reminders
from billing.payments import pay
from billing.plate_links import link_plate
from billing.saved_cards import save_card
from billing.tariffs import price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.drivers import sign_up
from identity.models import DriverAccount
from parking.clock import FixedClock
from parking.models import Stay
from sensors.intake import ingest_batch
from tests.support.fake_gateway import FakeGateway

PLATE = "贵A12345"
SKEW = timedelta(seconds=120)
LEAD = timedelta(minutes=15)
LOOKBACK = timedelta(days=7)
TARIFF = {  # 300 per started 30 minutes; at most 120 minutes
    "name": "flat",
    "max_stay_minutes": 120,
    "bands": [
        {
            "name": "all day",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "windows": [["00:00", "24:00"]],
            "tiers": [{"increment_minutes": 30, "amount": 300}],
        }
    ],
}


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    town = build_small_district(db, clock.now() - timedelta(days=40))
    publish_tariff(db, town.district, "standard", TARIFF, clock.now() - timedelta(days=30), clock.now())
    return town


@pytest.fixture
def driver(db: Session, clock: FixedClock) -> DriverAccount:
    linked = clock.now() - timedelta(days=10)
    account = sign_up(db, "driver@example.org", "correct horse battery", None, linked)
    link_plate(db, account, PLATE, linked)
    return account


def park(
    db: Session, town: SmallDistrict, start: datetime, minutes: int | None, plate: str = PLATE, bay: int = 0
) -> Stay:
    """A stay seen by a stake: ended and priced after `minutes`, or still open (None)."""
    stake, where = town.stake_a, town.bays[bay]
    events = [cds_event(stake, where, "park_start", start, plate=plate, confidence=95)]
    end = start + timedelta(minutes=minutes or 0)
    if minutes is not None:
        events.append(cds_event(stake, where, "park_end", end))
    assert ingest_batch(db, stake.device, events, end, SKEW).success == len(events)
    price_ended_stays(db, town.district, end)
    return db.scalars(select(Stay).where(Stay.bay_id == where.id).order_by(Stay.started_at.desc())).one()


def notifications(db: Session, account: DriverAccount) -> list[Notification]:
    return list(
        db.scalars(
            select(Notification).where(Notification.account_id == account.id).order_by(Notification.id)
        )
    )


# --- what drivers are told ---------------------------------------------------------------------


def test_a_reminder_comes_exactly_the_lead_time_before_the_max_stay_and_only_once(
    db: Session, town: SmallDistrict, driver: DriverAccount, clock: FixedClock
) -> None:
    start = clock.now()
    stay = park(db, town, start, None)
    park(db, town, start, None, plate="贵C77777", bay=1)  # nobody's plate: nobody to remind
    ends = start + timedelta(minutes=120)
    assert queue_reminders(db, ends - LEAD - timedelta(seconds=1), LEAD) == 0  # too early
    assert queue_reminders(db, ends - LEAD, LEAD) == 1
    assert queue_reminders(db, ends - LEAD + timedelta(minutes=1), LEAD) == 0  # once per stay
    [reminder] = notifications(db, driver)
    assert (reminder.kind, reminder.subject) == ("max_stay_reminder", stay.uuid)
    assert reminder.data["seconds_left"] == 15 * 60 and reminder.data["bay"] == "T1-1"
    assert reminder.data["max_stay_ends_at"] == ends.isoformat().replace("+00:00", "Z")
    assert "12:00" in reminder.message  # 02:00 UTC + 2 h, local time in Asia/Shanghai


def test_a_stay_past_its_max_stay_or_ended_gets_no_reminder(
    db: Session, town: SmallDistrict, driver: DriverAccount, clock: FixedClock
) -> None:
    park(db, town, clock.now() - timedelta(minutes=130), None)
    park(db, town, clock.now() - timedelta(minutes=110), 5, bay=1)
    assert queue_reminders(db, clock.now(), LEAD) == 0


def test_a_stay_charged_by_the_saved_card_is_told_once(
    db: Session, town: SmallDistrict, driver: DriverAccount, clock: FixedClock
) -> None:
    now = clock.now()
    gateway = FakeGateway()
    save_card(db, gateway, driver, "pm_ok")
    stay = park(db, town, now - timedelta(hours=3), 70)
    payment = db.get_one(Payment, plan_auto_charges(db, town.district, now)[0])
    pay(db, gateway, payment, now)
    assert payment.status == "succeeded"
    assert collect_events(db, now, LOOKBACK) == 1
    assert collect_events(db, now + timedelta(minutes=1), LOOKBACK) == 0
    [charged] = notifications(db, driver)
    assert (charged.kind, charged.subject) == ("stay_charged", stay.uuid)
    assert charged.data | {"stay": None} == {
        "stay": None,
        "plate": PLATE,
        "bay": "T1-1",
        "road": "Jianshan Road",
        "payment": payment.uuid,
        "amount": 900,
        "currency": "CNY",
    }


def test_a_refused_automatic_charge_reaches_the_same_outbox(
    db: Session, town: SmallDistrict, driver: DriverAccount, clock: FixedClock
) -> None:
    now = clock.now()
    gateway = FakeGateway()
    save_card(db, gateway, driver, "pm_ok")
    driver.payment_method_id = "pm_declined"  # the saved card fails later
    park(db, town, now - timedelta(hours=3), 70)
    payment = db.get_one(Payment, plan_auto_charges(db, town.district, now)[0])
    pay(db, gateway, payment, now)
    assert collect_events(db, now, LOOKBACK) == 1
    [failed] = notifications(db, driver)
    assert (failed.kind, failed.subject) == ("payment_failed", payment.uuid)
    assert failed.data["status"] == "declined" and "still payable" in failed.message
    assert collect_events(db, now, LOOKBACK) == 0


def test_a_stay_that_becomes_arrears_is_told_once(
    db: Session, town: SmallDistrict, driver: DriverAccount, clock: FixedClock
) -> None:
    now = clock.now()
    stay = park(db, town, now - timedelta(hours=3), 70)
    assert collect_events(db, now, LOOKBACK) == 0  # due, not arrears yet
    later = now + timedelta(days=1)
    assert mark_arrears(db, town.district, later) == 1
    assert collect_events(db, later, LOOKBACK) == 1
    assert collect_events(db, later + timedelta(minutes=10), LOOKBACK) == 0
    [arrears] = notifications(db, driver)
    assert (arrears.kind, arrears.subject, arrears.data["owed"]) == ("arrears", stay.uuid, 900)


# --- delivery ----------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A driver app's callback: answers the scripted statuses in turn, then 204."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[bytes, str]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((body, self.headers.get("X-Parking-Signature", "")))
            self.send_response(state.statuses.pop(0) if state.statuses else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/parking"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def app(connection: Connection, clock: FixedClock) -> Flask:
    config = {"NOTIFY_ALLOW_PRIVATE_URLS": True, "NOTIFY_MAX_ATTEMPTS": 3, "NOTIFY_BACKOFF_SECONDS": 30}
    return create_app({"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, **config})


def test_notifications_are_pushed_signed_retried_after_a_500_and_never_sent_twice(
    db: Session,
    app: Flask,
    town: SmallDistrict,
    driver: DriverAccount,
    clock: FixedClock,
    receiver: Receiver,
) -> None:
    secret = register_callback(db, driver.id, receiver.url, clock.now() - timedelta(days=1), True)
    stay = park(db, town, clock.now() - timedelta(hours=3), 70)
    clock.advance(timedelta(days=1))
    mark_arrears(db, town.district, clock.now())
    receiver.statuses = [500]

    assert run_job(app, "notify") == "1 new notifications; pushes: 1 retry"
    assert run_job(app, "notify") == "0 new notifications; pushes: none due"  # backing off
    clock.advance(timedelta(seconds=30))
    assert run_job(app, "notify") == "0 new notifications; pushes: 1 delivered"
    clock.advance(timedelta(hours=1))
    assert run_job(app, "notify") == "0 new notifications; pushes: none due"  # never again

    assert len(receiver.received) == 2
    body, signature = receiver.received[-1]
    assert verify_signature(secret, body, signature, clock.now(), timedelta(hours=2))
    # The documented check, done by hand: HMAC-SHA256 over "<t>.<body>" with the secret.
    parts = dict(part.split("=", 1) for part in signature.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert not verify_signature("nsec_wrong", body, signature, clock.now(), timedelta(hours=2))
    assert not verify_signature(secret, body + b" ", signature, clock.now(), timedelta(hours=2))
    pushed = json.loads(body)
    assert pushed["kind"] == "arrears" and pushed["data"]["stay"] == stay.uuid
    assert set(pushed) == {"id", "kind", "created_at", "message", "data"}
    db.expire_all()
    [notification] = notifications(db, driver)
    assert notification.id == pushed["id"] and notification.attempts == 2
    assert notification.delivered_at == clock.now() - timedelta(hours=1)


def test_a_push_that_keeps_failing_is_marked_failed_after_the_last_attempt(
    db: Session,
    app: Flask,
    town: SmallDistrict,
    driver: DriverAccount,
    clock: FixedClock,
    receiver: Receiver,
) -> None:
    register_callback(db, driver.id, receiver.url, clock.now() - timedelta(days=1), True)
    park(db, town, clock.now() - timedelta(hours=3), 70)
    clock.advance(timedelta(days=1))
    mark_arrears(db, town.district, clock.now())
    receiver.statuses = [500, 502, 503, 500]
    outcomes = []
    for wait in (0, 30, 60):  # 30 s, then 60 s of backoff
        clock.advance(timedelta(seconds=wait))
        outcomes.append(run_job(app, "notify").rpartition("pushes: ")[2])
    assert outcomes == ["1 retry", "1 retry", "1 failed"]
    clock.advance(timedelta(days=1))
    assert run_job(app, "notify").endswith("none due")
    assert len(receiver.received) == 3
    db.expire_all()
    [notification] = notifications(db, driver)
    assert notification.failed_at is not None and notification.last_error == "HTTP 503"


def test_only_notifications_written_after_the_callback_is_registered_are_pushed(
    db: Session,
    app: Flask,
    town: SmallDistrict,
    driver: DriverAccount,
    clock: FixedClock,
    receiver: Receiver,
) -> None:
    park(db, town, clock.now() - timedelta(hours=3), 70)
    clock.advance(timedelta(days=1))
    mark_arrears(db, town.district, clock.now())
    collect_events(db, clock.now(), LOOKBACK)
    register_callback(db, driver.id, receiver.url, clock.now() + timedelta(seconds=1), True)
    clock.advance(timedelta(minutes=1))
    assert run_job(app, "notify").endswith("none due")
    assert receiver.received == []


def test_the_reminders_job_writes_reminders(
    db: Session, app: Flask, town: SmallDistrict, driver: DriverAccount, clock: FixedClock
) -> None:
    park(db, town, clock.now() - timedelta(minutes=105), None)
    assert run_job(app, "reminders") == "1 max-stay reminders"
    assert run_job(app, "reminders") == "0 max-stay reminders"


def test_a_callback_name_that_rebinds_to_loopback_after_the_check_reaches_nothing_inside(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding (security review L2): the name answers a public address to the check and
    127.0.0.1 to any later lookup, as a TTL-0 rebinding server does."""
    public, lookups, connected = "93.184.216.34", [], []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.attacker.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        answer = public if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address[0])
        if address[0] == public:  # never leave this machine: as if the host refused
            raise ConnectionRefusedError("refused")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket, "create_connection", connect)
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    send = http_sender(timedelta(seconds=2), allow_private=False)

    with pytest.raises(OSError):
        send(f"http://rebind.attacker.example:{port}/internal-admin", b"{}", {"X-Parking-Signature": "s"})

    assert receiver.received == []
    assert connected == [public] and lookups == ["rebind.attacker.example"]
