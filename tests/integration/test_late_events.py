"""Late and out-of-order events re-derive only the part of a bay's timeline they touch, and
the stored stays (and bay states and anomalies) always equal a fresh replay of the log."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district, cds_event
from parking.clock import FixedClock
from parking.models import Bay, District, Stay, TimelineAnomaly
from sensors.devices import NewDevice
from sensors.intake import IntakeResult, check_items, ingest_batch, ingest_checked
from sensors.rebuild import rebuild_districts

SLUG = "testville"
MAX_SKEW = timedelta(seconds=120)


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    return build_small_district(db, clock.now(), slug=SLUG)


@pytest.fixture
def t0(clock: FixedClock) -> datetime:
    """Three hours before the clock: 07:00 in Testville."""
    return clock.now() - timedelta(hours=3)


def minutes(start: datetime, n: float) -> datetime:
    return start + timedelta(minutes=n)


# --- what is stored, and a fresh replay of it -------------------------------------------------


def derived_state(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the timeline derives for the district: stays, bay states, anomalies."""
    district_id = db.scalars(select(District.id).where(District.slug == SLUG)).one()
    stays = db.execute(
        select(
            Stay.id,
            Stay.bay_id,
            Stay.start_event_id,
            Stay.started_at,
            Stay.ended_at,
            Stay.ended_by,
            Stay.end_event_id,
            Stay.plate,
            Stay.plate_confidence,
            Stay.plate_source,
            Stay.event_ids,
            Stay.sources,
        )
        .where(Stay.district_id == district_id)
        .order_by(Stay.id)
    )
    bays = db.execute(
        select(Bay.id, Bay.state, Bay.state_since, Bay.open_stay_id, Bay.last_event_at)
        .where(Bay.district_id == district_id)
        .order_by(Bay.id)
    )
    anomalies = db.execute(
        select(
            TimelineAnomaly.bay_id, TimelineAnomaly.event_id, TimelineAnomaly.kind, TimelineAnomaly.at
        ).where(TimelineAnomaly.district_id == district_id)
    )
    return {
        "stays": [(*row[:10], tuple(sorted(row.event_ids)), tuple(row.sources)) for row in stays],
        "bays": [tuple(row) for row in bays],
        "anomalies": sorted(tuple(row) for row in anomalies),
    }


def assert_stored_equals_a_fresh_replay(
    db: Session, now: datetime, derived: tuple[str, ...] = ("stays", "bays", "anomalies")
) -> None:
    """Rebuild every bay from the log in a savepoint, then roll it back: no differences
    reported, and not one stored row of what `derived` names changes (stays, bay states,
    anomalies)."""
    db.flush()
    stored = derived_state(db)
    savepoint = db.begin_nested()
    try:
        report = rebuild_districts(db, SLUG, now)
        fresh = derived_state(db)
    finally:
        savepoint.rollback()
    assert report.differences == []
    for what in derived:
        assert stored[what] == fresh[what], what


def send(
    db: Session,
    device: NewDevice,
    events: list[dict[str, Any]],
    now: datetime,
    derived: tuple[str, ...] = ("stays", "bays", "anomalies"),
) -> IntakeResult:
    """One pushed batch, then the check that storage equals a fresh replay."""
    result = ingest_batch(db, device.device, events, now, MAX_SKEW)
    assert result.failures == [], result.failures
    assert_stored_equals_a_fresh_replay(db, now, derived)
    return result


def rederived(result: IntakeResult) -> int:
    assert result.timeline is not None
    return result.timeline.rederived_bays


def stays_of(db: Session, bay: Bay) -> list[Stay]:
    """A bay's stays in time order; of stays that start at one instant, the shortest first."""
    db.expire_all()
    stays = db.scalars(select(Stay).where(Stay.bay_id == bay.id))
    return sorted(stays, key=lambda s: (s.started_at, s.ended_at is None, s.ended_at or s.started_at, s.id))


def spans(stays: list[Stay]) -> list[tuple[datetime, datetime | None, str | None, str | None]]:
    return [(s.started_at, s.ended_at, s.ended_by, s.plate) for s in stays]


# --- the cases --------------------------------------------------------------------------------


def test_a_late_park_end_after_a_later_park_start_of_another_vehicle_ends_the_first_stay_at_its_own_time(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    bay, other = town.bay("T1-1"), town.bay("T1-2")
    first = cds_event(town.stake_a, bay, "park_start", t0, plate="贵A11111", confidence=90)
    second = cds_event(town.stake_a, bay, "park_start", minutes(t0, 30), plate="贵A22222", confidence=90)
    elsewhere = cds_event(town.stake_a, other, "park_start", minutes(t0, 5), plate="贵A33333", confidence=90)
    in_order = send(db, town.stake_a, [first, second, elsewhere], clock.now())
    before = stays_of(db, bay)
    assert rederived(in_order) == 0
    assert spans(before) == [
        (t0, minutes(t0, 30), "implicit", "贵A11111"),
        (minutes(t0, 30), None, None, "贵A22222"),
    ]
    untouched = [(s.id, s.updated_at) for s in stays_of(db, other)]

    clock.advance(timedelta(minutes=1))
    late_end = cds_event(town.stake_a, bay, "park_end", minutes(t0, 20), plate="贵A11111", confidence=90)
    late = send(db, town.stake_a, [late_end], clock.now())

    after = stays_of(db, bay)
    assert rederived(late) == 1
    assert spans(after) == [
        (t0, minutes(t0, 20), "event", "贵A11111"),
        (minutes(t0, 30), None, None, "贵A22222"),
    ]
    assert [s.id for s in after] == [s.id for s in before]
    assert after[0].end_event_id == late_end["event_id"]
    assert [(s.id, s.updated_at) for s in stays_of(db, other)] == untouched


def test_a_late_park_start_before_an_existing_stay_opens_a_stay_that_ends_where_the_next_begins(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    bay = town.bay("T1-2")
    later = [
        cds_event(town.stake_a, bay, "park_start", minutes(t0, 60), plate="贵A33333", confidence=90),
        cds_event(town.stake_a, bay, "park_end", minutes(t0, 90), plate="贵A33333", confidence=90),
    ]
    send(db, town.stake_a, later, clock.now())
    (existing,) = stays_of(db, bay)

    clock.advance(timedelta(minutes=1))
    early = cds_event(town.stake_a, bay, "park_start", minutes(t0, 40), plate="贵A44444", confidence=90)
    late = send(db, town.stake_a, [early], clock.now())

    after = stays_of(db, bay)
    assert rederived(late) == 1
    assert spans(after) == [
        (minutes(t0, 40), minutes(t0, 60), "implicit", "贵A44444"),
        (minutes(t0, 60), minutes(t0, 90), "event", "贵A33333"),
    ]
    assert after[1].id == existing.id and after[1].uuid == existing.uuid


def test_a_pos_registration_uploaded_an_hour_late_sets_the_plate_of_a_stay_that_has_since_ended(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    bay = town.bay("T1-3")
    now = clock.now()
    arrived = now - timedelta(minutes=70)
    stake_reads = [
        cds_event(town.stake_a, bay, "park_start", arrived, plate="贵A5555B", confidence=70),  # misread
        cds_event(
            town.stake_a, bay, "park_end", now - timedelta(minutes=30), plate="贵A5555B", confidence=70
        ),
        cds_event(
            town.stake_a, bay, "park_start", now - timedelta(minutes=20), plate="贵A77777", confidence=95
        ),
        cds_event(
            town.stake_a, bay, "park_end", now - timedelta(minutes=10), plate="贵A77777", confidence=95
        ),
    ]
    send(db, town.stake_a, stake_reads, now)
    before = stays_of(db, bay)
    assert [s.plate for s in before] == ["贵A5555B", "贵A77777"]

    registered = now - timedelta(minutes=65)  # typed in by the attendant, then queued offline
    queue = [cds_event(town.pos, bay, "park_start", registered, plate="贵A 55558")]
    late = send(db, town.pos, queue, now)

    after = stays_of(db, bay)
    assert rederived(late) == 1
    assert [s.id for s in after] == [s.id for s in before]
    ended = after[0]
    assert (ended.started_at, ended.ended_at, ended.ended_by) == (
        arrived,
        now - timedelta(minutes=30),
        "event",
    )
    assert (ended.plate, ended.plate_source, ended.plate_confidence) == ("贵A55558", "in_person", None)
    assert ended.sources == ["camera", "in_person"]
    assert queue[0]["event_id"] in ended.event_ids
    assert (after[1].plate, after[1].sources) == ("贵A77777", ["camera"])


def test_a_late_start_at_another_stays_end_instant_merges_with_it_until_a_later_read_undoes_the_merge(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    bay = town.bay("T2-1")
    feed = [
        cds_event(town.feed, bay, "park_start", t0),
        cds_event(town.feed, bay, "park_end", minutes(t0, 30)),
    ]
    send(db, town.feed, feed, clock.now())
    (cut,) = stays_of(db, bay)

    clock.advance(timedelta(minutes=1))
    at_the_end = cds_event(town.stake_b, bay, "park_start", minutes(t0, 30), plate="GB12345", confidence=80)
    merged = send(db, town.stake_b, [at_the_end], clock.now())

    (goes_on,) = stays_of(db, bay)
    assert rederived(merged) == 1
    assert goes_on.id == cut.id
    assert (goes_on.started_at, goes_on.ended_at, goes_on.plate) == (t0, None, "GB12345")
    assert town.bay("T2-1").state == "occupied" and town.bay("T2-1").open_stay_id == cut.id

    clock.advance(timedelta(minutes=1))
    other_plate = cds_event(
        town.stake_b, bay, "vehicle_detected", minutes(t0, 10), plate="GB99999", confidence=90
    )
    undone = send(db, town.stake_b, [other_plate], clock.now())

    after = stays_of(db, bay)
    assert rederived(undone) == 1
    assert spans(after) == [
        (t0, minutes(t0, 30), "event", "GB99999"),
        (minutes(t0, 30), None, None, "GB12345"),
    ]
    assert after[0].id == cut.id
    assert after[0].end_event_id == feed[1]["event_id"]
    assert after[1].start_event_id == at_the_end["event_id"]


def test_a_late_batch_keeps_the_ids_of_the_stays_it_does_not_change(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    events = []
    for n, name in enumerate(("T1-1", "T1-2", "T1-3", "T1-4")):
        bay = town.bay(name)
        for k in range(4):  # stays at 0-20, 30-50, 60-80, 90-110 minutes
            plate = f"GA{n}{k}000"
            events.append(
                cds_event(town.stake_a, bay, "park_start", minutes(t0, 30 * k), plate=plate, confidence=90)
            )
            events.append(
                cds_event(town.stake_a, bay, "park_end", minutes(t0, 30 * k + 20), plate=plate, confidence=90)
            )
    send(db, town.stake_a, events, clock.now())
    db.expire_all()
    before = {s.id: s for s in db.scalars(select(Stay))}
    snapshot = {s.id: (s.uuid, s.bay_id, s.started_at, s.ended_at, s.updated_at) for s in before.values()}

    clock.advance(timedelta(minutes=5))
    bay = town.bay("T1-3")
    read = cds_event(town.stake_a, bay, "vehicle_detected", minutes(t0, 65), plate="贵A29999", confidence=99)
    late = send(db, town.stake_a, [read], clock.now())

    db.expire_all()
    after = {s.id: s for s in db.scalars(select(Stay))}
    assert rederived(late) == 1
    assert after.keys() == before.keys()
    changed = {
        i
        for i in after
        if (after[i].uuid, after[i].bay_id, after[i].started_at, after[i].ended_at, after[i].updated_at)
        != snapshot[i]
    }
    (read_into,) = [s for s in after.values() if s.bay_id == bay.id and s.started_at == minutes(t0, 60)]
    assert read_into.plate == "贵A29999"
    # Only the stays of T1-3 that end at or after the read are derived again; the rest are not
    # even rewritten.
    assert changed <= {
        s.id
        for s in after.values()
        if s.bay_id == bay.id and (s.ended_at is None or s.ended_at >= minutes(t0, 65))
    }
    assert read_into.id in changed


# --- several arrivals at one instant, and what a fresh replay says about bays and anomalies ---


def event_id(n: int) -> str:
    """Ids that sort in the order given: at one instant, starts apply in event_id order."""
    return f"00000000-0000-4000-8000-{n:012d}"


def test_a_late_event_does_not_refold_an_arrival_that_joined_a_stay_ended_at_the_same_instant(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    """At 07:30 three arrivals: the feed's (no plate) joins the 07:00 stay, GA22222 ends that
    stay and is itself ended at once by GA33333, whose stay lasts until 08:00."""
    bay = town.bay("T1-1")
    stake = [
        cds_event(town.stake_a, bay, "park_start", t0, plate="贵A11111", confidence=90, event_id=event_id(1)),
        cds_event(
            town.stake_a,
            bay,
            "park_start",
            minutes(t0, 30),
            plate="贵A22222",
            confidence=90,
            event_id=event_id(3),
        ),
        cds_event(
            town.stake_a,
            bay,
            "park_start",
            minutes(t0, 30),
            plate="贵A33333",
            confidence=90,
            event_id=event_id(4),
        ),
        cds_event(
            town.stake_a,
            bay,
            "park_end",
            minutes(t0, 60),
            plate="贵A33333",
            confidence=90,
            event_id=event_id(5),
        ),
    ]
    send(db, town.stake_a, stake, clock.now(), derived=("stays",))
    feed = [cds_event(town.feed, bay, "park_start", minutes(t0, 30), event_id=event_id(2))]
    send(db, town.feed, feed, clock.now(), derived=("stays",))
    before = stays_of(db, bay)
    assert [(s.start_event_id, s.started_at, s.ended_at, s.plate) for s in before] == [
        (event_id(1), t0, minutes(t0, 30), "贵A11111"),
        (event_id(3), minutes(t0, 30), minutes(t0, 30), "贵A22222"),
        (event_id(4), minutes(t0, 30), minutes(t0, 60), "贵A33333"),
    ]

    clock.advance(timedelta(minutes=1))
    read = cds_event(town.stake_a, bay, "vehicle_detected", minutes(t0, 45), plate="贵A33333", confidence=95)
    send(db, town.stake_a, [read], clock.now(), derived=("stays",))

    after = stays_of(db, bay)
    assert [(s.id, s.start_event_id, s.started_at, s.ended_at) for s in after] == [
        (s.id, s.start_event_id, s.started_at, s.ended_at) for s in before
    ]


def test_a_late_event_after_two_vehicles_came_and_went_in_one_instant_is_accepted(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    """At 07:30 three camera reads of different plates: two stays of no length, then one
    that lasts until 08:00. A read at 07:45 arriving later must still be taken."""
    bay = town.bay("T1-1")
    stake = [
        cds_event(town.stake_a, bay, "park_start", t0, plate="贵A11111", confidence=90, event_id=event_id(1)),
        *(
            cds_event(
                town.stake_a,
                bay,
                "park_start",
                minutes(t0, 30),
                plate=plate,
                confidence=90,
                event_id=event_id(n),
            )
            for n, plate in ((2, "贵A22222"), (3, "贵A33333"), (4, "贵A44444"))
        ),
        cds_event(
            town.stake_a,
            bay,
            "park_end",
            minutes(t0, 60),
            plate="贵A44444",
            confidence=90,
            event_id=event_id(5),
        ),
    ]
    send(db, town.stake_a, stake, clock.now(), derived=("stays",))
    before = [(s.id, s.start_event_id, s.started_at, s.ended_at) for s in stays_of(db, bay)]
    assert len(before) == 4

    clock.advance(timedelta(minutes=1))
    read = cds_event(town.stake_a, bay, "vehicle_detected", minutes(t0, 45), plate="贵A44444", confidence=95)
    send(db, town.stake_a, [read], clock.now(), derived=("stays",))

    after = stays_of(db, bay)
    assert [(s.id, s.start_event_id, s.started_at, s.ended_at) for s in after] == before
    assert read["event_id"] in after[-1].event_ids


def test_a_late_event_keeps_the_anomaly_of_the_arrival_that_ended_the_previous_stay_unseen(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    bay = town.bay("T1-2")
    stake = [
        cds_event(town.stake_a, bay, "park_start", t0, plate="贵A11111", confidence=90),
        cds_event(town.stake_a, bay, "park_start", minutes(t0, 30), plate="贵A22222", confidence=90),
        cds_event(town.stake_a, bay, "park_end", minutes(t0, 60), plate="贵A22222", confidence=90),
    ]
    send(db, town.stake_a, stake, clock.now())
    assert [a[2] for a in derived_state(db)["anomalies"]] == ["start_on_occupied_new_vehicle"]

    clock.advance(timedelta(minutes=1))
    read = cds_event(town.stake_a, bay, "vehicle_detected", minutes(t0, 45), plate="贵A22222", confidence=95)
    send(db, town.stake_a, [read], clock.now(), derived=("stays", "bays"))

    anomalies = derived_state(db)["anomalies"]
    assert [(a[1], a[2]) for a in anomalies] == [(stake[1]["event_id"], "start_on_occupied_new_vehicle")]
    assert_stored_equals_a_fresh_replay(db, clock.now())


def test_a_stray_park_end_on_a_vacant_bay_does_not_move_the_time_it_is_vacant_since(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    bay = town.bay("T1-3")
    stay = [
        cds_event(town.stake_a, bay, "park_start", t0, plate="贵A11111", confidence=90),
        cds_event(town.stake_a, bay, "park_end", minutes(t0, 30), plate="贵A11111", confidence=90),
    ]
    send(db, town.stake_a, stay, clock.now())

    clock.advance(timedelta(minutes=1))
    stray = cds_event(town.feed, bay, "park_end", minutes(t0, 60))
    in_order = ingest_batch(db, town.feed.device, [stray], clock.now(), MAX_SKEW)

    assert rederived(in_order) == 0
    db.expire_all()
    assert (bay.state, bay.state_since) == ("vacant", minutes(t0, 30))
    assert_stored_equals_a_fresh_replay(db, clock.now())


def test_a_late_stray_event_on_a_bay_that_never_had_a_stay_moves_its_vacant_since_back(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime
) -> None:
    """With no stay, a bay is vacant since its first event, in event time: a stray park_end
    uploaded late but earlier than the one already stored is that first event."""
    bay = town.bay("T1-4")
    send(db, town.feed, [cds_event(town.feed, bay, "park_end", minutes(t0, 60))], clock.now())
    db.expire_all()
    assert (bay.state, bay.state_since) == ("vacant", minutes(t0, 60))

    clock.advance(timedelta(minutes=1))
    earlier = cds_event(town.feed, bay, "park_end", t0)
    late = ingest_batch(db, town.feed.device, [earlier], clock.now(), MAX_SKEW)

    assert rederived(late) == 1
    db.expire_all()
    assert (bay.state, bay.state_since) == ("vacant", t0)
    assert_stored_equals_a_fresh_replay(db, clock.now())


# --- randomised: arrival order does not matter ------------------------------------------------

PLATES = ("贵A10001", "贵A10002", "贵A10003")


def random_events(
    town: SmallDistrict, rng: random.Random, t0: datetime, count: int
) -> list[tuple[NewDevice, dict[str, Any]]]:
    """Events on three bays from the stake, the POS and the feed, on a coarse grid of times so
    that many share an instant."""
    bays = [town.bay(name) for name in ("T1-1", "T1-2", "T1-3")]
    out = []
    for _ in range(count):
        bay = rng.choice(bays)
        at = minutes(t0, rng.randrange(0, 120, 5))
        device = rng.choice((town.stake_a, town.pos, town.feed))
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if device is town.feed:
            kind = rng.choice(("park_start", "park_end"))
            out.append((device, cds_event(device, bay, kind, at, event_id=event_id)))
        elif device is town.pos:
            kind = rng.choice(("park_start", "park_start", "park_end", "vehicle_detected"))
            out.append(
                (device, cds_event(device, bay, kind, at, plate=rng.choice(PLATES), event_id=event_id))
            )
        else:
            kind = rng.choice(("park_start", "park_end", "vehicle_detected"))
            plate, confidence = rng.choice((*PLATES, None)), rng.choice((None, 60, 80, 95))
            out.append(
                (
                    device,
                    cds_event(device, bay, kind, at, plate=plate, confidence=confidence, event_id=event_id),
                )
            )
    return out


def send_by_device(db: Session, events: list[tuple[NewDevice, dict[str, Any]]], now: datetime) -> None:
    """A batch as the devices push it: one request per device, each checked after."""
    devices: dict[str, NewDevice] = {}
    for device, _ in events:
        devices.setdefault(device.device.uuid, device)
    for device in devices.values():
        send(db, device, [e for d, e in events if d is device], now)


def send_as_one_batch(
    db: Session, feed: NewDevice, events: list[tuple[NewDevice, dict[str, Any]]], now: datetime
) -> None:
    """Every event, each checked against its own device, logged and folded as one batch
    (through the district's data feed, which may report on any bay)."""
    result = IntakeResult(total=len(events))
    parsed = []
    for index, (device, item) in enumerate(events):
        checked, ok = check_items([item], device.device.uuid, now, MAX_SKEW, plate_rule="cn_ga36")
        assert checked.failures == [] and len(ok) == 1, checked.failures
        parsed.append((index, ok[0][1]))
    ingest_checked(db, feed.device, result, parsed, now)
    assert result.failures == [] and result.success == len(events)
    assert_stored_equals_a_fresh_replay(db, now)


def stays_as_replayed(db: Session) -> list[tuple[Any, ...]]:
    return sorted(row[1:] for row in derived_state(db)["stays"])


@pytest.fixture(params=[1, 2, 3, 4, 5])
def seed(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def test_random_events_in_random_batches_and_order_give_the_stays_of_one_in_order_batch(
    db: Session, town: SmallDistrict, clock: FixedClock, t0: datetime, seed: int
) -> None:
    rng = random.Random(seed)
    events = random_events(town, rng, t0, 200)
    in_order = sorted(events, key=lambda de: (de[1]["event_time"], de[1]["event_type"] != "park_end"))

    savepoint = db.begin_nested()
    send_as_one_batch(db, town.feed, in_order, clock.now())
    expected = stays_as_replayed(db)
    savepoint.rollback()
    db.expire_all()

    shuffled = events[:]
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), 9))
    for lo, hi in zip([0, *cuts], [*cuts, len(shuffled)], strict=True):
        clock.advance(timedelta(seconds=1))
        send_by_device(db, shuffled[lo:hi], clock.now())

    assert stays_as_replayed(db) == expected
    assert len(expected) > 10
