"""The pushed-batch use case (sensors/services.py): one service logs a device's batch and
books its POS payments, for the CDS view, the demo's history and the tests alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, SessionTransaction

from billing.models import Payment
from billing.tariffs import publish_tariff
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from parking.clock import FixedClock
from parking.models import Stay
from sensors.devices import DeviceDecommissionedError
from sensors.intake import IntakeResult
from sensors.models import CurbEvent, Device
from sensors.services import Push, log_history, log_pushed_batch, take_pushed_batch

SKEW = timedelta(minutes=5)
PLATE = "贵A12345"
FLAT = {  # 3.00 a started half hour, all day
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


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    town = build_small_district(db, clock.now())
    publish_tariff(db, town.district, "standard", FLAT, clock.now() - timedelta(days=30), clock.now())
    db.commit()  # the district exists before the unit of work starts (still rolled back per test)
    return town


def test_a_pos_batch_is_logged_and_its_cash_booked_once_however_often_it_is_pushed(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=3)
    pos, bay = town.pos, town.bays[0]
    start = cds_event(pos, bay, "park_start", t0, plate=PLATE)
    end = cds_event(pos, bay, "park_end", t0 + timedelta(minutes=70), actual_cost=900, payment_method="cash")

    results = [
        take_pushed_batch(db, lambda: Push(town.district, pos.device, [start, end]), clock.now(), SKEW, None)
        for _ in range(2)
    ]

    assert not db.in_transaction(), "the service commits its own unit of work"
    assert [(r.success, r.duplicates) for r in results] == [(2, 0), (2, 2)]
    assert db.scalar(select(func.count()).select_from(Payment)) == 1
    assert db.scalars(select(Payment.amount)).one() == 900
    assert db.scalars(select(Stay.ended_at).where(Stay.bay_id == bay.id)).one() is not None


def test_a_refused_item_is_reported_and_the_rest_of_the_batch_is_kept(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(minutes=30)
    stake, bay = town.stake_a, town.bays[0]
    good = cds_event(stake, bay, "park_start", t0, plate=PLATE)
    bad = {"event_type": "park_start"}

    push = Push(town.district, stake.device, [bad, good])

    result = take_pushed_batch(db, lambda: push, clock.now(), SKEW, timedelta(hours=72))

    assert (result.total, result.success, [f.index for f in result.failures]) == (2, 1, [0])
    assert db.scalars(select(CurbEvent.event_id)).all() == [good["event_id"]]


def test_payment_fields_from_a_camera_are_logged_but_are_not_money(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    t0 = clock.now() - timedelta(hours=2)
    stake, bay = town.stake_a, town.bays[0]
    events = [
        cds_event(stake, bay, "park_start", t0, plate=PLATE),
        cds_event(stake, bay, "park_end", t0 + timedelta(hours=1), actual_cost=900, payment_method="cash"),
    ]

    result = log_pushed_batch(db, town.district, stake.device, events, clock.now(), SKEW)

    assert result.success == 2
    assert db.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_push_is_read_in_the_one_write_transaction_or_checked_before_it_as_the_caller_says(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    stake, bays = town.stake_a, town.bays
    events = [cds_event(stake, bay, "park_start", clock.now() - timedelta(minutes=5)) for bay in bays[:2]]
    device_id = stake.device.id
    ended: list[SessionTransaction] = []
    event.listen(db, "after_transaction_end", lambda _s, t: t.parent is None and ended.append(t))
    ends_after_read = []

    def take(item: dict[str, object], check_first: bool) -> IntakeResult:
        def read_push() -> Push:
            device = db.get_one(Device, device_id)  # the token's read
            read_at = len(ended)
            ends_after_read.append(lambda: len(ended) - read_at)
            return Push(town.district, device, [item])

        return take_pushed_batch(db, read_push, clock.now(), SKEW, None, check_first=check_first)

    inside = take(events[0], check_first=False)
    inside_ends = ends_after_read[0]()
    before = take(events[1], check_first=True)

    assert (inside_ends, ends_after_read[1]()) == (1, 2)  # the commit; the read's end, then the commit
    assert (inside.success, before.success, db.in_transaction()) == (1, 1, False)
    assert sorted(db.scalars(select(CurbEvent.event_id))) == sorted(e["event_id"] for e in events)


def test_a_device_decommissioned_between_its_tokens_read_and_the_write_has_its_push_refused_whole(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    stake, bays = town.stake_a, town.bays
    events = [cds_event(stake, bay, "park_start", clock.now() - timedelta(minutes=5)) for bay in bays[:2]]

    def read_push() -> Push:
        device = db.get_one(Device, stake.device.id)  # the token's read: not yet decommissioned
        db.execute(update(Device).where(Device.id == device.id).values(revoked_at=clock.now()))  # meanwhile
        return Push(town.district, device, events)

    with pytest.raises(DeviceDecommissionedError):
        take_pushed_batch(db, read_push, clock.now(), SKEW, None)

    assert db.scalar(select(func.count()).select_from(CurbEvent)) == 0
    assert db.scalar(select(func.count()).select_from(Stay)) == 0


def test_a_history_for_scoring_the_forecast_is_logged_one_unit_of_work_per_day(
    db: Session, clock: FixedClock, town: SmallDistrict
) -> None:
    stake, bay = town.stake_a, town.bays[0]
    first = clock.now() - timedelta(days=2)
    second = first + timedelta(days=1)
    days = [
        (first + timedelta(hours=1), [cds_event(stake, bay, "park_start", first)]),
        (
            second + timedelta(hours=1),
            [
                cds_event(stake, bay, "park_end", second),
                cds_event(stake, bay, "park_start", second + timedelta(minutes=5)),
            ],
        ),
    ]
    commits: list[Session] = []
    event.listen(db, "after_commit", commits.append)

    logged = log_history(db, stake.device.id, days, SKEW, batch_size=1)

    assert (logged, len(commits), db.in_transaction()) == (3, 2, False)
    assert len(db.scalars(select(Stay.id).where(Stay.bay_id == bay.id)).all()) == 2
