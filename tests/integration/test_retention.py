"""Plate retention (parking/retention.py): what is erased after the retention, what is kept
and why, a second run erases nothing, statistics do not move, and lookups by plate find live
plates only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.scheduler.jobs import PLATE_RETENTION, run_job
from billing.ledger import mark_arrears, plate_ledger
from billing.models import (
    CLAIM_PENDING,
    CLAIM_PROVEN,
    CLAIM_REFUSED,
    CLAIM_WITHDRAWN,
    PAID,
    Payment,
    PlateClaim,
    StayFee,
)
from billing.tariffs import price_ended_stays, publish_tariff
from enforcement.models import ISSUED, OPEN, OVERSTAY, RESOLVED, VOIDED, Citation, Task, Violation
from enforcement.models_warden import PlateCheck
from enforcement.plate_check import CheckedFrom, check_plate
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.drivers import sign_up
from identity.staff import issue_staff_token
from parking.clock import FixedClock, to_ms
from parking.models import Stay
from parking.plates import plate_key
from parking.retention import erase_old_plates
from parking.stay_search import StayFilter, find_stays
from sensors.log import logged_payloads
from sensors.models import CurbEvent
from sensors.services import log_pushed_batch

SKEW = timedelta(seconds=120)
TARIFF = {
    "name": "flat",
    "bands": [
        {
            "name": "all day",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "windows": [["00:00", "24:00"]],
            "tiers": [{"increment_minutes": 30, "amount": 300}],
        }
    ],
}
PAID_OLD, OWING, CITED, CLEARED, RECENT = "贵A10001", "贵A20002", "贵A30003", "贵A40004", "贵A50005"


@dataclass
class Town:
    small: SmallDistrict
    stays: dict[str, Stay]


def park(db: Session, small: SmallDistrict, bay: int, start: datetime, plate: str, cash: bool) -> Stay:
    """A 70-minute stay (900 due) on a POS, paid in cash at the end when `cash`."""
    pos, where = small.pos, small.bays[bay]
    end: dict[str, Any] = {}
    if cash:
        end = {"actual_cost": 900, "payment_method": "cash", "payment_transaction_id": str(uuid.uuid4())}
    events = [
        cds_event(pos, where, "park_start", start, plate=plate),
        cds_event(pos, where, "park_end", start + timedelta(minutes=70), **end),
    ]
    at = start + timedelta(minutes=70)
    result = log_pushed_batch(db, small.district, pos.device, events, at, SKEW)
    assert result.success == 2, result.failures
    price_ended_stays(db, small.district, at)
    return db.scalars(select(Stay).where(Stay.start_event_id == events[0]["event_id"])).one()


def violation(db: Session, stay: Stay, citation_status: str) -> Violation:
    row = Violation(
        district_id=stay.district_id,
        rule=OVERSTAY,
        stay_id=stay.id,
        bay_id=stay.bay_id,
        road_id=stay.road_id,
        plate=stay.plate,
        stay_started_at=stay.started_at,
        started_at=stay.started_at,
        detected_at=stay.started_at,
        ended_at=stay.ended_at,
        evidence={},
    )
    db.add(row)
    db.flush()
    db.add(
        Citation(
            district_id=stay.district_id,
            violation_id=row.id,
            plate=stay.plate,
            amount=5000,
            currency="CNY",
            status=citation_status,
            issued_by="warden one",
            issued_at=stay.ended_at,
            updated_at=stay.ended_at,
        )
    )
    return row


@pytest.fixture
def town(db: Session, clock: FixedClock) -> Town:
    """Stays 40 days ago: one paid (erased), one unpaid and now in arrears (kept), one paid by
    the owing plate (kept: its plate has arrears), one paid with a standing citation (kept),
    one paid with a voided citation (erased); and a paid stay 5 days ago (kept: too recent)."""
    now = clock.now()
    small = build_small_district(db, now - timedelta(days=60))
    publish_tariff(db, small.district, "standard", TARIFF, now - timedelta(days=60), now - timedelta(days=60))
    old = now - timedelta(days=40)
    stays = {
        "paid": park(db, small, 0, old, PAID_OLD, cash=True),
        "owing": park(db, small, 1, old, OWING, cash=False),
        "owing_paid": park(db, small, 1, old + timedelta(hours=3), OWING, cash=True),
        "cited": park(db, small, 2, old, CITED, cash=True),
        "cleared": park(db, small, 3, old, CLEARED, cash=True),
        "recent": park(db, small, 0, now - timedelta(days=5), RECENT, cash=True),
    }
    violation(db, stays["cited"], ISSUED)
    violation(db, stays["cleared"], VOIDED)
    assert mark_arrears(db, small.district, now) == 1
    for key, plate, status, created in (
        ("old-resolved", CLEARED, RESOLVED, old),  # erased: closed and old
        ("old-open", CITED, OPEN, old),  # kept: still to be worked
        ("recent-resolved", RECENT, RESOLVED, now - timedelta(days=5)),  # kept: too recent
    ):
        db.add(
            Task(
                district_id=small.district.id,
                key=key,
                team="warden",
                kind="check_violation",
                details={"plate": plate, "rule": OVERSTAY},
                status=status,
                created_at=created,
            )
        )
    staff = issue_staff_token(db, small.district, "warden", "warden one", old)[0]
    for plate in (PAID_OLD, OWING):
        check_plate(db, small.district, plate, staff, CheckedFrom(), old + timedelta(days=1))
    db.commit()
    return Town(small, stays)


def plates_left(db: Session, model: Any) -> set[str]:
    return set(db.scalars(select(model.plate).where(model.plate.is_not(None))))


def test_settled_old_plates_go_everywhere_and_those_still_needed_stay(
    db: Session, clock: FixedClock, town: Town
) -> None:
    result = erase_old_plates(db, town.small.district, clock.now(), 30, PLATE_RETENTION)
    kept = {OWING, CITED, RECENT}
    assert plates_left(db, Stay) == kept
    assert plates_left(db, StayFee) == kept
    assert plates_left(db, Payment) == {OWING, CITED, RECENT}  # the owing plate's cash payment
    assert plates_left(db, CurbEvent) == kept
    assert plates_left(db, Violation) == plates_left(db, Citation) == {CITED}
    assert plates_left(db, PlateCheck) == {OWING}
    tasks = {t.key: t.details for t in db.scalars(select(Task))}
    assert tasks == {
        "old-resolved": {"rule": OVERSTAY},
        "old-open": {"plate": CITED, "rule": OVERSTAY},
        "recent-resolved": {"plate": RECENT, "rule": OVERSTAY},
    }
    erased = db.get_one(Stay, town.stays["paid"].id)
    assert (erased.plate, erased.plate_key, erased.plate_source, erased.plate_confidence) == (None,) * 4
    events = db.scalars(select(CurbEvent).where(CurbEvent.bay_id == town.small.bays[0].id)).all()
    old_events = [e for e in events if e.event_time < clock.now() - timedelta(days=30)]
    sent = logged_payloads(db, CurbEvent.id.in_([e.id for e in old_events]))
    assert old_events and all(
        e.plate is None and e.plate_key is None and "vehicle_license_plate" not in sent[e.event_id]
        for e in old_events
    )
    assert result.erased == {
        "stays": 2,
        "fees": 2,
        "violations": 1,
        "citations": 1,
        "payments": 2,
        "curb_events": 2,  # the park_starts: a park_end carries no plate here
        "tasks": 1,
        "plate_checks": 1,
        "plate_claims": 0,
    }
    assert erase_old_plates(db, town.small.district, clock.now(), 30, PLATE_RETENTION).total == 0


def test_fees_times_and_payments_stay_and_lookups_find_only_live_plates(
    db: Session, clock: FixedClock, town: Town
) -> None:
    def snapshot() -> list[Any]:
        fees = db.execute(select(StayFee.stay_id, StayFee.amount, StayFee.paid, StayFee.status)).all()
        stays = db.execute(select(Stay.id, Stay.started_at, Stay.ended_at, Stay.updated_at)).all()
        money = db.execute(select(Payment.id, Payment.amount, Payment.status)).all()
        return sorted(fees) + sorted(stays) + sorted(money)

    before = snapshot()
    erase_old_plates(db, town.small.district, clock.now(), 30, PLATE_RETENTION)
    db.expire_all()
    assert snapshot() == before
    district, now = town.small.district, clock.now()
    found, total = find_stays(db, district.id, StayFilter(plate=RECENT.lower()), now)
    assert total == 1 and found[0].plate == RECENT
    assert find_stays(db, district.id, StayFilter(plate=PAID_OLD), now)[1] == 0
    assert plate_ledger(db, district, OWING).arrears == 900
    assert db.scalar(select(StayFee.status).where(StayFee.stay_id == town.stays["paid"].id)) == PAID


def test_the_job_reads_its_retention_from_the_config_and_reports(
    client: FlaskClient, db: Session, clock: FixedClock, town: Town
) -> None:
    app = client.application
    app.config["PLATE_RETENTION_DAYS"] = 45
    assert run_job(app, "plate-retention").startswith("testville 0 plates erased")
    app.config["PLATE_RETENTION_DAYS"] = 30
    assert run_job(app, "plate-retention").startswith("testville 12 plates erased (2 stays")
    assert plate_key(PAID_OLD) not in set(db.scalars(select(Stay.plate_key)))


def test_reports_and_cds_metrics_read_the_same_after_the_erasure(
    client: FlaskClient, db: Session, clock: FixedClock, town: Town
) -> None:
    token = issue_staff_token(db, town.small.district, "bureau", "bureau one", clock.now())[1]
    db.commit()
    urls = [
        (
            "/api/v1/testville/reports/summary",
            {"start": (clock.now() - timedelta(days=40)).date().isoformat(), "period": "day"},
        ),
        ("/cds/testville/metrics/sessions", {"start_time": to_ms(clock.now() - timedelta(days=45))}),
        ("/cds/testville/metrics/aggregates", {"start_time": to_ms(clock.now() - timedelta(days=45))}),
    ]

    def bodies() -> list[bytes]:
        out = []
        for url, query in urls:
            response = client.get(url, query_string=query, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.get_data(as_text=True)
            out.append(response.get_data())
        return out

    before = bodies()
    assert erase_old_plates(db, town.small.district, clock.now(), 30, PLATE_RETENTION).total == 12
    db.commit()
    assert bodies() == before


def test_plate_claims_go_once_decided_or_left_pending_longer_than_the_retention(
    db: Session, clock: FixedClock, town: Town
) -> None:
    """Issue 12 follow-up: plate_claim rows kept their plate (and the driver's evidence) for
    ever. A claim decided (proven, refused, withdrawn) more than the retention ago goes, and so
    does one nobody proved or decided within the retention; newer ones stay."""
    now = clock.now()
    account = sign_up(db, "claims@example.org", "correct horse battery", None, now - timedelta(days=60))
    d = town.small.district.id
    old, recent = now - timedelta(days=40), now - timedelta(days=5)
    for plate, status, created, decided in (
        ("贵AC0001", CLAIM_PROVEN, old, old + timedelta(days=1)),  # goes: the link is in driver_plate
        ("贵AC0002", CLAIM_REFUSED, old, old + timedelta(days=1)),  # goes
        ("贵AC0003", CLAIM_WITHDRAWN, old, old),  # goes
        ("贵AC0004", CLAIM_PENDING, old, None),  # goes: never proven within the retention
        ("贵AC0005", CLAIM_REFUSED, old, recent),  # stays: decided recently
        ("贵AC0006", CLAIM_PENDING, recent, None),  # stays: recent
    ):
        db.add(
            PlateClaim(
                account_id=account.id,
                district_id=d,
                plate=plate,
                status=status,
                evidence="registration document on request",
                created_at=created,
                decided_at=decided,
            )
        )
    db.commit()

    result = erase_old_plates(db, town.small.district, now, 30, PLATE_RETENTION)

    assert result.erased["plate_claims"] == 4
    assert set(db.scalars(select(PlateClaim.plate))) == {"贵AC0005", "贵AC0006"}
    assert erase_old_plates(db, town.small.district, now, 30, PLATE_RETENTION).erased["plate_claims"] == 0
