"""The enforcement sweeps against a real database: idempotent, ending with the vehicle,
device outages, escalation, arrears, citations, and violations in the CDS Events API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from billing.models import ARREARS, StayFee
from billing.tariffs import TariffBook, publish_tariff
from enforcement.citations import change_citation_status, issue_citation
from enforcement.fines import set_fine
from enforcement.models import Task, Violation
from enforcement.rules import CitationTransitionError
from enforcement.sweeps import sweep_obstructions, sweep_overstays, sweep_restrictions, sweep_unregistered
from enforcement.tasks import escalate_arrears, escalate_tasks, police_feed, raise_device_tasks, take_task
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.models import Stay
from sensors.health import sweep_silent_devices
from sensors.intake import ingest_batch
from sensors.models import CurbEvent
from sensors.models import Device as DeviceRow
from tests.support.cds import assert_valid_cds

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PLATE = "贵A12345"


def document(restrictions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "name": "t",
        "max_stay_minutes": 120,
        "grace_minutes": 10,
        "bands": [
            {
                "name": "all",
                "days": WEEK,
                "windows": [["00:00", "24:00"]],
                "tiers": [{"increment_minutes": 30, "amount": 300}],
            }
        ],
        "restrictions": restrictions or [],
    }


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    small = build_small_district(db, clock.now())
    publish_tariff(db, small.district, "standard", document(), clock.now() - timedelta(days=30), clock.now())
    return small


def push(db: Session, town: SmallDistrict, events: list[dict[str, Any]], now: datetime) -> None:
    result = ingest_batch(db, town.stake_a.device, events, now, timedelta(minutes=2))
    assert result.failures == [], result.failures


def arrive(
    db: Session, town: SmallDistrict, bay: str, at: datetime, plate: str | None = PLATE, **extra: Any
) -> None:
    push(db, town, [cds_event(town.stake_a, town.bay(bay), "park_start", at, plate=plate, **extra)], at)


def leave(db: Session, town: SmallDistrict, bay: str, at: datetime) -> None:
    push(db, town, [cds_event(town.stake_a, town.bay(bay), "park_end", at)], at)


def violations(db: Session, rule: str) -> list[Violation]:
    db.expire_all()
    return list(db.scalars(select(Violation).where(Violation.rule == rule).order_by(Violation.id)))


def tasks(db: Session, **where: Any) -> list[Task]:
    db.expire_all()
    return list(db.scalars(select(Task).filter_by(**where).order_by(Task.id)))


# -- overstay -----------------------------------------------------------------------------


def test_an_overstay_found_by_two_sweeps_is_one_violation_with_one_warden_task(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = clock.now() - timedelta(hours=3)
    arrive(db, town, "T1-1", start)

    first = sweep_overstays(db, town.district, clock.now())
    second = sweep_overstays(db, town.district, clock.now() + timedelta(minutes=1))

    assert (first.found, first.tasks) == (1, 1)
    assert (second.found, second.tasks) == (0, 0)
    [violation] = violations(db, "overstay")
    assert violation.started_at == start + timedelta(minutes=130)
    assert violation.plate == PLATE and violation.evidence["max_stay_minutes"] == 120
    assert [t.team for t in tasks(db, violation_id=violation.id)] == ["warden"]


def test_a_stay_exactly_at_max_stay_plus_grace_is_not_an_overstay_one_second_later_it_is(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = clock.now() - timedelta(minutes=130)
    arrive(db, town, "T1-1", start)

    assert sweep_overstays(db, town.district, clock.now()).found == 0
    assert sweep_overstays(db, town.district, clock.now() + timedelta(seconds=1)).found == 1


def test_a_stay_that_overstayed_and_already_left_is_a_violation_ended_at_its_end_with_no_task(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = clock.now() - timedelta(hours=5)
    arrive(db, town, "T1-1", start)
    leave(db, town, "T1-1", start + timedelta(hours=3))
    arrive(db, town, "T1-2", start)
    leave(db, town, "T1-2", start + timedelta(minutes=130))  # at the limit: no overstay

    result = sweep_overstays(db, town.district, clock.now())

    assert (result.found, result.tasks, result.ended) == (1, 0, 1)
    [violation] = violations(db, "overstay")
    assert violation.started_at == start + timedelta(minutes=130)
    assert violation.ended_at == start + timedelta(hours=3)
    assert tasks(db, violation_id=violation.id) == []
    assert sweep_overstays(db, town.district, clock.now() + timedelta(minutes=1)).found == 0


def test_the_overstay_sweep_judges_ended_stays_written_within_its_look_back_only(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = clock.now() - timedelta(hours=5)
    arrive(db, town, "T1-1", start)
    leave(db, town, "T1-1", start + timedelta(hours=3))

    later = clock.now() + timedelta(days=8)
    assert sweep_overstays(db, town.district, later).found == 0
    assert sweep_overstays(db, town.district, later, look_back=timedelta(days=9)).found == 1


def test_bays_with_their_own_signs_are_swept_by_the_window_limit_their_clock_started_under(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    signs = {
        "name": "signs",
        "grace_minutes": 5,
        "bands": [{"name": "no fee", "days": WEEK, "windows": [["00:00", "24:00"]], "tiers": [{"increment_minutes": 60, "amount": 0}]}],
        "stay_limits": [{"name": "1P", "days": WEEK, "windows": [["07:30", "18:30"]], "max_stay_minutes": 60, "sign": "1P MTR"}],
    }  # fmt: skip
    publish_tariff(db, town.district, "signs-1p", signs, clock.now() - timedelta(days=1), clock.now())
    for name in ("T1-2", "T1-3"):
        town.bay(name).tariff_code = "signs-1p"
    start = clock.now() - timedelta(minutes=70)  # 08:50 local, under the 1P sign
    for name in ("T1-1", "T1-2", "T1-3"):
        arrive(db, town, name, start)
    leave(db, town, "T1-2", clock.now() - timedelta(minutes=2))

    result = sweep_overstays(db, town.district, clock.now())

    assert (result.found, result.tasks) == (2, 1)  # T1-1 has its road's two hours
    found = {v.bay_id: v for v in violations(db, "overstay")}
    ended, still_there = found[town.bay("T1-2").id], found[town.bay("T1-3").id]
    assert ended.started_at == still_there.started_at == start + timedelta(minutes=65)
    assert ended.ended_at == clock.now() - timedelta(minutes=2) and still_there.ended_at is None
    assert still_there.evidence["sign"] == "1P MTR" and still_there.evidence["max_stay_minutes"] == 60
    assert [t.team for t in tasks(db, violation_id=still_there.id)] == ["warden"]
    assert sweep_overstays(db, town.district, clock.now() + timedelta(minutes=1)).found == 0


def test_a_violation_ends_when_the_vehicle_leaves_and_its_untaken_task_is_cancelled(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    arrive(db, town, "T1-1", clock.now() - timedelta(hours=3))
    sweep_overstays(db, town.district, clock.now())
    gone = clock.now() + timedelta(minutes=5)
    leave(db, town, "T1-1", gone)

    result = sweep_overstays(db, town.district, gone + timedelta(minutes=1))

    assert (result.ended, result.cancelled) == (1, 1)
    [violation] = violations(db, "overstay")
    assert violation.ended_at == gone
    [task] = tasks(db, violation_id=violation.id)
    assert task.status == "cancelled" and task.outcome == "violation_ended"


def test_a_taken_task_is_not_cancelled_when_the_vehicle_leaves(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    arrive(db, town, "T1-1", clock.now() - timedelta(hours=3))
    sweep_overstays(db, town.district, clock.now())
    [task] = tasks(db, team="warden")
    take_task(db, town.district, task.uuid, "warden one", clock.now())
    leave(db, town, "T1-1", clock.now() + timedelta(minutes=1))

    sweep_overstays(db, town.district, clock.now() + timedelta(minutes=2))

    assert [t.status for t in tasks(db, team="warden")] == ["taken"]


# -- restriction, unregistered, obstruction -------------------------------------------------


def test_a_stay_in_a_no_stopping_window_raises_one_police_task(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    # 10:00 local: a clearway from 09:30 to 11:00 is in force.
    clearway = {"name": "clearway", "activity": "no stopping", "days": WEEK, "windows": [["09:30", "11:00"]]}
    publish_tariff(
        db, town.district, "clearway", document([clearway]), clock.now() - timedelta(days=1), clock.now()
    )
    town.roads[0].tariff_code = "clearway"
    db.flush()
    arrive(db, town, "T1-2", clock.now() - timedelta(minutes=45))  # 09:15, before the window

    first = sweep_restrictions(db, town.district, clock.now())
    second = sweep_restrictions(db, town.district, clock.now())

    assert (first.found, second.found) == (1, 0)
    [violation] = violations(db, "restriction")
    assert violation.started_at == clock.now() - timedelta(minutes=30)  # the window's start
    assert violation.evidence["restriction"] == "clearway"
    assert [t.team for t in tasks(db, violation_id=violation.id)] == ["police"]


def test_no_restriction_violation_outside_the_window(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    later = {"name": "pm", "activity": "no parking", "days": WEEK, "windows": [["16:00", "19:00"]]}
    publish_tariff(db, town.district, "pm", document([later]), clock.now() - timedelta(days=1), clock.now())
    town.roads[0].tariff_code = "pm"
    db.flush()
    arrive(db, town, "T1-2", clock.now() - timedelta(minutes=5))

    assert sweep_restrictions(db, town.district, clock.now()).found == 0


def test_a_bay_whose_own_signs_forbid_stopping_now_is_a_police_restriction_its_neighbours_are_not(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    clearway = {"name": "CW TOW", "activity": "no stopping", "days": WEEK, "windows": [["07:00", "11:00"]]}
    publish_tariff(
        db, town.district, "signs-cw", document([clearway]), clock.now() - timedelta(days=1), clock.now()
    )
    town.bay("T1-2").tariff_code = "signs-cw"
    db.flush()
    arrive(db, town, "T1-1", clock.now() - timedelta(minutes=5))
    arrive(db, town, "T1-2", clock.now() - timedelta(minutes=5))

    result = sweep_restrictions(db, town.district, clock.now())

    assert (result.found, result.tasks) == (1, 1)
    [violation] = violations(db, "restriction")
    assert violation.bay_id == town.bay("T1-2").id
    assert [t.team for t in tasks(db, violation_id=violation.id)] == ["police"]


def test_a_stay_without_a_plate_past_n_minutes_raises_one_attendant_task(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    arrive(db, town, "T1-3", clock.now() - timedelta(minutes=10), plate=None)

    at_edge = sweep_unregistered(db, town.district, clock.now(), timedelta(minutes=10))
    past = sweep_unregistered(db, town.district, clock.now() + timedelta(seconds=1), timedelta(minutes=10))
    again = sweep_unregistered(db, town.district, clock.now() + timedelta(minutes=1), timedelta(minutes=10))

    assert (at_edge.found, past.found, again.found) == (0, 1, 0)
    assert [t.team for t in tasks(db, kind="register_plate")] == ["attendant"]


def test_a_stake_reporting_an_object_in_a_bay_raises_one_city_task_and_no_plate_task(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    arrive(
        db,
        town,
        "T1-4",
        clock.now() - timedelta(minutes=30),
        plate=None,
        vehicle_type="other",
        custom_attributes={"occupant": "object"},
    )

    first = sweep_obstructions(db, town.district, clock.now())
    second = sweep_obstructions(db, town.district, clock.now())
    plates = sweep_unregistered(db, town.district, clock.now())

    assert (first.found, second.found, plates.found) == (1, 0, 0)
    assert [t.team for t in tasks(db, kind="clear_obstruction")] == ["city"]


# -- devices, escalation, arrears -----------------------------------------------------------


def test_a_device_going_offline_raises_one_maintenance_task_and_logs_comms_lost(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    town.stake_a.device.last_seen_at = clock.now() - timedelta(minutes=11)
    for other in (town.stake_b, town.pos, town.feed):
        other.device.last_seen_at = clock.now()
    db.flush()

    sweep_silent_devices(db, clock.now(), timedelta(minutes=10), town.district.id)
    first = raise_device_tasks(db, town.district, clock.now())
    sweep_silent_devices(db, clock.now() + timedelta(minutes=1), timedelta(minutes=10), town.district.id)
    second = raise_device_tasks(db, town.district, clock.now() + timedelta(minutes=1))

    assert (first.tasks, second.tasks) == (1, 0)
    [task] = tasks(db, team="maintenance")
    assert task.device_id == town.stake_a.device.id and task.details["reason"] == "silent"
    lost = db.scalars(select(CurbEvent).where(CurbEvent.event_type == "comms_lost")).all()
    assert [e.device_id for e in lost] == [town.stake_a.device.id]


def test_a_device_heard_again_logs_comms_restored_and_its_task_is_cancelled(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    town.stake_a.device.last_seen_at = clock.now() - timedelta(minutes=11)
    db.flush()
    sweep_silent_devices(db, clock.now(), timedelta(minutes=10), town.district.id)
    raise_device_tasks(db, town.district, clock.now())

    arrive(db, town, "T1-1", clock.now() + timedelta(minutes=1))
    back = raise_device_tasks(db, town.district, clock.now() + timedelta(minutes=2))

    device = db.get(DeviceRow, town.stake_a.device.id)
    assert device is not None and device.online
    restored = db.scalars(select(CurbEvent.device_id).where(CurbEvent.event_type == "comms_restored")).all()
    assert restored == [town.stake_a.device.id]
    assert back.cancelled == 1
    assert [t.status for t in tasks(db, team="maintenance", device_id=town.stake_a.device.id)] == [
        "cancelled"
    ]


def test_a_task_not_taken_in_time_is_escalated_into_the_police_feed(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    arrive(db, town, "T1-1", clock.now() - timedelta(hours=3))
    sweep_overstays(db, town.district, clock.now())

    early = escalate_tasks(db, town.district, clock.now() + timedelta(minutes=30), timedelta(minutes=30))
    late = escalate_tasks(db, town.district, clock.now() + timedelta(minutes=31), timedelta(minutes=30))
    feed = police_feed(db, town.district, clock.now())

    assert (early.tasks, late.tasks) == (0, 1)
    [item] = feed
    assert item["status"] == "escalated" and item["team"] == "warden"
    assert item["violation"]["rule"] == "overstay" and item["violation"]["plate"] == PLATE
    assert item["violation"]["evidence"]["event_ids"]


def test_plates_with_old_arrears_get_one_warden_task_a_day(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    for n, days in ((1, 10), (2, 9), (3, 2)):
        start = clock.now() - timedelta(days=days)
        arrive(db, town, f"T1-{n}", start)
        leave(db, town, f"T1-{n}", start + timedelta(hours=1))
    version = TariffBook.load(db, town.district).current("standard", clock.now())[0]
    for stay in db.scalars(select(Stay).where(Stay.district_id == town.district.id)):
        db.add(
            StayFee(
                stay_id=stay.id, district_id=town.district.id, plate=stay.plate, tariff_version_id=version.id,
                amount=600, currency="CNY", breakdown={}, paid=0, status=ARREARS, due_by=stay.started_at,
                arrears_since=stay.started_at + timedelta(days=1), stay_updated_at=stay.updated_at,
                priced_at=stay.started_at,
            )
        )  # fmt: skip
    db.flush()

    first = escalate_arrears(db, town.district, clock.now(), timedelta(days=7))
    same_day = escalate_arrears(db, town.district, clock.now() + timedelta(hours=1), timedelta(days=7))
    next_day = escalate_arrears(db, town.district, clock.now() + timedelta(days=1), timedelta(days=7))

    assert (first.tasks, same_day.tasks, next_day.tasks) == (1, 0, 1)
    task = tasks(db, kind="collect_arrears")[0]
    assert task.details["plate"] == PLATE and len(task.details["stays"]) == 2 and task.details["owed"] == 1200


# -- citations and the CDS Events API -------------------------------------------------------


def test_a_citation_is_issued_at_the_district_fine_and_moves_only_as_allowed(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    arrive(db, town, "T1-1", clock.now() - timedelta(hours=3))
    sweep_overstays(db, town.district, clock.now())
    set_fine(db, town.district, "overstay", 5000)
    [violation] = violations(db, "overstay")

    citation = issue_citation(db, town.district, violation.uuid, "warden one", clock.now())
    change_citation_status(db, town.district, citation.uuid, "appealed", clock.now())

    assert (citation.amount, citation.currency, citation.status) == (5000, "CNY", "appealed")
    with pytest.raises(CitationTransitionError):
        change_citation_status(db, town.district, citation.uuid, "paid", clock.now())


def test_the_cds_events_api_lists_violation_and_citation_events_that_validate(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock, tmp_path: Path
) -> None:
    token = issue_staff_token(db, town.district, "bureau", "bureau one", clock.now())[1]
    arrive(db, town, "T1-1", clock.now() - timedelta(hours=3))
    sweep_overstays(db, town.district, clock.now() - timedelta(minutes=40))  # rule broken 50 min ago
    set_fine(db, town.district, "overstay", 5000)
    [violation] = violations(db, "overstay")
    issue_citation(db, town.district, violation.uuid, "warden one", clock.now() - timedelta(minutes=20))
    leave(db, town, "T1-1", clock.now() - timedelta(minutes=10))
    sweep_overstays(db, town.district, clock.now())
    db.commit()

    reply = client.get("/cds/testville/events/events", headers={"Authorization": f"Bearer {token}"})

    body = reply.get_json()
    kinds = [e["event_type"] for e in body["data"]["events"]]
    assert kinds == ["park_end", "vehicle_violation_end", "citation_issued", "vehicle_violation_start"]
    start = body["data"]["events"][-1]
    assert start["enforcement"]["enforcement_id"] == violation.uuid
    assert start["curb_space_id"] == town.bay("T1-1").uuid
    assert_valid_cds(body, tmp_path)
    elsewhere = client.get(
        f"/cds/testville/events/events?curb_space_id={town.bay('T1-2').uuid}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert elsewhere.get_json()["data"]["events"] == []


def test_violation_counts_stay_one_per_stay_and_rule(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    for n in range(1, 5):
        arrive(db, town, f"T1-{n}", clock.now() - timedelta(hours=3), plate=None)
    for _ in range(3):
        sweep_overstays(db, town.district, clock.now())
        sweep_unregistered(db, town.district, clock.now())

    count = db.scalar(select(func.count()).select_from(Violation))
    assert count == 8


# -- rows built by the database, withdrawal -------------------------------------------------


def test_uuids_written_by_the_database_are_unique_version_4_uuids(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    for n in range(1, 5):
        arrive(db, town, f"T1-{n}", clock.now() - timedelta(hours=3))

    sweep_overstays(db, town.district, clock.now())

    written = [v.uuid for v in violations(db, "overstay")] + [t.uuid for t in tasks(db, team="warden")]
    parsed = [uuid.UUID(text) for text in written]
    assert len(written) == 8 and len(set(written)) == 8
    assert all(
        u.version == 4 and u.variant == uuid.RFC_4122 and str(u) == t
        for u, t in zip(parsed, written, strict=True)
    )
    assert {t.key for t in tasks(db, team="warden")} == {
        f"violation:{v.uuid}" for v in violations(db, "overstay")
    }


def test_times_written_by_the_database_read_back_equal_and_are_stored_as_the_app_stores_them(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = clock.now() - timedelta(hours=3, milliseconds=-123)  # CDS times are milliseconds
    arrive(db, town, "T1-1", start)

    sweep_overstays(db, town.district, clock.now())

    [violation] = violations(db, "overstay")
    assert violation.started_at == start + timedelta(minutes=130)
    assert (violation.stay_started_at, violation.detected_at) == (start, clock.now())
    if db.get_bind().dialect.name == "sqlite":
        stored = db.execute(text("SELECT started_at, stay_started_at FROM violation")).one()
        assert tuple(stored) == ("2026-03-02 01:10:00.123000", "2026-03-01 23:00:00.123000")


def test_a_late_park_end_before_the_limit_withdraws_the_violation_and_cancels_its_task(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = clock.now() - timedelta(hours=3)
    arrive(db, town, "T1-1", start)
    sweep_overstays(db, town.district, clock.now())
    [task] = tasks(db, team="warden")
    late = clock.now() + timedelta(minutes=1)
    push(
        db,
        town,
        [cds_event(town.stake_a, town.bay("T1-1"), "park_end", start + timedelta(minutes=100))],
        late,
    )

    result = sweep_overstays(db, town.district, late + timedelta(minutes=1))

    assert (result.withdrawn, result.cancelled, result.ended) == (1, 1, 0)
    assert violations(db, "overstay") == []  # nobody acted on it: it never happened
    [task] = tasks(db, uuid=task.uuid)
    assert task.status == "cancelled" and task.outcome == "violation_withdrawn"


def test_a_withdrawn_violation_someone_acted_on_is_kept_ended_at_its_stay_end(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = clock.now() - timedelta(hours=3)
    arrive(db, town, "T1-1", start)
    sweep_overstays(db, town.district, clock.now())
    [task] = tasks(db, team="warden")
    take_task(db, town.district, task.uuid, "warden one", clock.now())
    late = clock.now() + timedelta(minutes=1)
    push(
        db,
        town,
        [cds_event(town.stake_a, town.bay("T1-1"), "park_end", start + timedelta(minutes=130))],
        late,
    )

    first = sweep_overstays(db, town.district, late + timedelta(minutes=1))
    again = sweep_overstays(db, town.district, late + timedelta(minutes=2))

    assert (first.withdrawn, again.withdrawn) == (1, 0)
    [violation] = violations(db, "overstay")
    assert violation.ended_at == start + timedelta(minutes=130) == violation.started_at
    assert violation.evidence["withdrawn_at"] == (late + timedelta(minutes=1)).isoformat()
    assert [t.status for t in tasks(db, team="warden")] == ["taken"]


def test_a_late_park_end_after_the_limit_only_ends_the_violation(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    start = clock.now() - timedelta(hours=3)
    arrive(db, town, "T1-1", start)
    sweep_overstays(db, town.district, clock.now())
    late = clock.now() + timedelta(minutes=1)
    gone = start + timedelta(minutes=130, seconds=1)
    push(db, town, [cds_event(town.stake_a, town.bay("T1-1"), "park_end", gone)], late)

    result = sweep_overstays(db, town.district, late + timedelta(minutes=1))

    assert (result.withdrawn, result.ended) == (0, 1)
    assert [v.ended_at for v in violations(db, "overstay")] == [gone]
