"""Taking a batch of pushed CDS events: check each, log the good ones once, fold them in.

Each item either goes into the event log or comes back as a failure naming its fields; the
rest of the batch still applies. Resending an event changes nothing and is not an error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from parking.db import insert_rows, keyed_read, run
from parking.errors import Message
from parking.models import Bay, District, Road
from parking.plate_rules import DEFAULT_PLATE_RULE, PlateRule
from parking.plate_rules import plate_rule as get_plate_rule
from parking.plates import InvalidPlateError, plate_key_or_none
from parking.stays import FOLD_BAY_COLUMNS, ApplyStats, finish_folding, fold_new_events, locking_bays
from parking.timeline import PARK_END, PARK_START, TimelineEvent
from sensors.cds import ItemError, ParsedEvent, check_event_time, parse_event
from sensors.devices import DeviceDecommissionedError, covers
from sensors.event_payload import derived_fields, split_payload
from sensors.health import comms_event
from sensors.log import load_timeline_events, logged_payloads, to_timeline_event
from sensors.models import DEVICE_KINDS, CurbEvent, Device

_EVENT = cast(Table, CurbEvent.__table__)
_DEVICE = cast(Table, Device.__table__)
# Built once for each kind of device: a single pushed event runs it too. Each bay comes with
# whether the device may report on it, and with what its fold reads, locked for it: the fold
# reads no bay again (one statement and, on PostgreSQL, one round trip less a push). The
# lock holds every bay the batch names until it commits, those whose events are refused too.
_PLACING = (Bay.uuid.label("space"), Road.uuid.label("zone"), Bay.lng, Bay.lat, *FOLD_BAY_COLUMNS)
_BAYS_BY_SPACE = {
    kind: keyed_read(
        locking_bays(
            select(*_PLACING, covers(kind).label("covered"))
            .join(Road, Road.id == Bay.road_id)
            .where(Bay.district_id == bindparam("district_id"))
        ),
        Bay.uuid,
    )
    for kind in DEVICE_KINDS
}


@dataclass(frozen=True)
class ItemFailure:
    index: int
    item: Any
    error: str
    description: str
    details: list[str]
    text: Message | None = None  # the description, for translating


@dataclass
class IntakeResult:
    total: int
    success: int = 0
    duplicates: int = 0
    failures: list[ItemFailure] = field(default_factory=list)
    timeline: ApplyStats | None = None
    # Events logged for the first time by this batch, with their bays (billing reads the
    # payments among them).
    logged: list[tuple[ParsedEvent, int | None]] = field(default_factory=list)


@dataclass(frozen=True)
class _Accepted:
    index: int
    event: ParsedEvent
    bay_id: int | None
    road_id: int | None
    zone_uuid: str | None = None  # the CDS id of the bay's road
    point: tuple[float, float] | None = None  # the bay's (lng, lat)


def check_items(
    items: Sequence[Any],
    device_uuid: str,
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None = None,
    *,
    plate_rule: str = DEFAULT_PLATE_RULE,
) -> tuple[IntakeResult, list[tuple[int, ParsedEvent]]]:
    """The checks that need no database: each item against the CDS model, the district's
    plate rule, the sending device and the clock (`check_event_time`; `max_age` None: no
    bound, for imports of history). Pure, so it runs before the write lock is taken."""
    rule = get_plate_rule(plate_rule)
    result = IntakeResult(total=len(items))
    parsed: list[tuple[int, ParsedEvent]] = []
    for index, item in enumerate(items):
        try:
            event = parse_event(item)
            _check_plate(event, rule)
            _check_device(event, device_uuid)
            check_event_time(event.event_time, now, max_skew, max_age)
            parsed.append((index, event))
        except ItemError as error:
            _fail(result, index, item, error)
    return result, parsed


def ingest_checked(
    db: Session,
    device: Device,
    result: IntakeResult,
    parsed: list[tuple[int, ParsedEvent]],
    now: datetime,
) -> IntakeResult:
    """Place, check sessions, deduplicate, log and fold in the items that passed
    `check_items`. Sessions are checked before duplicates are folded, so that a copy of a
    refused event is refused too rather than counted as a resend."""
    placed, bays = _place(db, device, parsed, result)
    placed = _check_sessions(db, device.district_id, placed, result)
    fresh = _log_new(db, device, _first_of_each_id(placed, result), now, result)
    result.logged = [(a.event, a.bay_id) for a in fresh]
    if fresh:
        _update_device(db, device, fresh, now)
        folding = fold_new_events(db, _timeline_events(fresh), now, locked=bays)
        # Bays whose events came late are folded again from the log, which this package reads.
        logged = load_timeline_events(db, folding.needs) if folding.needs else {}
        result.timeline = finish_folding(db, folding, logged)
    result.failures.sort(key=lambda f: f.index)  # in batch order, whichever check refused them
    result.success = result.total - len(result.failures)
    return result


def ingest_batch(
    db: Session, device: Device, items: Sequence[Any], now: datetime, max_skew: timedelta
) -> IntakeResult:
    """Check, log and apply one pushed batch for one authenticated device."""
    district = db.get(District, device.district_id)
    assert district is not None
    result, parsed = check_items(items, device.uuid, now, max_skew, plate_rule=district.plate_rule)
    return ingest_checked(db, device, result, parsed, now)


def _fail(result: IntakeResult, index: int, item: Any, error: ItemError) -> None:
    result.failures.append(ItemFailure(index, item, error.code, error.description, error.details, error.text))


def _check_plate(event: ParsedEvent, rule: PlateRule) -> None:
    if event.plate is None:
        return
    try:
        rule.check(event.plate)
    except InvalidPlateError as error:
        raise ItemError("invalid_plate", error.text, error.details) from None


def _check_device(event: ParsedEvent, device_uuid: str) -> None:
    if event.device_uuid != device_uuid:
        raise ItemError(
            "device_mismatch",
            "data_source_device_id is not the device this token belongs to",
            ["data_source_device_id"],
        )


def _place(
    db: Session, device: Device, parsed: list[tuple[int, ParsedEvent]], result: IntakeResult
) -> tuple[list[_Accepted], dict[int, Any]]:
    """Resolve each event's bay, and refuse bays the device does not cover. Returns the
    events placed and the rows of their bays by id, locked for the fold."""
    space_ids = {e.space_uuid for _, e in parsed if e.space_uuid}
    read = _BAYS_BY_SPACE[device.kind]
    by_space = {
        row.space: row
        for row in read.rows(db, list(space_ids), district_id=device.district_id, device_id=device.id)
    }
    placed = []
    for index, event in parsed:
        if event.space_uuid is None:
            placed.append(_Accepted(index, event, None, None))
            continue
        bay = by_space.get(event.space_uuid)
        if bay is None:
            error = ItemError("unknown_bay", "no bay has this curb_space_id here", ["curb_space_id"])
        elif event.zone_uuid is not None and event.zone_uuid != bay.zone:
            error = ItemError("zone_mismatch", "the bay is not in this curb zone", ["curb_zone_id"])
        elif not bay.covered:
            error = ItemError("bay_not_covered", "this device does not cover that bay", ["curb_space_id"])
        else:
            placed.append(_Accepted(index, event, bay.id, bay.road_id, bay.zone, (bay.lng, bay.lat)))
            continue
        _fail(result, index, event.payload, error)
    return placed, {bay.id: bay for bay in by_space.values()}


def _first_of_each_id(placed: list[_Accepted], result: IntakeResult) -> list[_Accepted]:
    """Within one batch, the first item of an event_id stands; a repeat is a resend."""
    first: dict[str, _Accepted] = {}
    for accepted in placed:
        seen = first.get(accepted.event.event_id)
        if seen is None:
            first[accepted.event.event_id] = accepted
        else:
            _resent(result, accepted, seen.event.payload)
    return list(first.values())


def _resent(result: IntakeResult, accepted: _Accepted, stored: dict[str, Any]) -> None:
    """A resend changes nothing and is fine; the same id with other content is refused."""
    if stored == accepted.event.payload:
        result.duplicates += 1
        return
    error = ItemError(
        "event_id_conflict",
        "an event with this event_id and different content was already received",
        ["event_id"],
    )
    _fail(result, accepted.index, accepted.event.payload, error)


def _log_new(
    db: Session, device: Device, checked: list[_Accepted], now: datetime, result: IntakeResult
) -> list[_Accepted]:
    """Append the events to the log; those already there are resends and are compared.
    Rows go in event_id order: two writers inserting the same ids then wait for each other
    in one order, never in a cycle (docs/TIMELINE.md, "Concurrent writers")."""
    if not checked:
        return []
    rows = insert_rows(
        db,
        _EVENT,
        [_row(device, a, now) for a in sorted(checked, key=lambda a: a.event.event_id)],
        returning=("event_id",),
        skip_conflicts_on=("district_id", "event_id"),
    )
    inserted = {event_id for (event_id,) in rows}
    resent = [a for a in checked if a.event.event_id not in inserted]
    if resent:
        stored = logged_payloads(
            db,
            CurbEvent.district_id == device.district_id,
            CurbEvent.event_id.in_([a.event.event_id for a in resent]),
        )
        for accepted in resent:
            _resent(result, accepted, stored[accepted.event.event_id])
    return [a for a in checked if a.event.event_id in inserted]


def _check_sessions(
    db: Session, district_id: int, fresh: list[_Accepted], result: IntakeResult
) -> list[_Accepted]:
    """A park_end may not come before the park_start of the same `event_session_id`."""
    sessions = {a.event.session_id for a in fresh if a.event.session_id}
    if not sessions:
        return fresh
    times: dict[tuple[str | None, str], datetime] = {}
    rows = db.execute(
        select(CurbEvent.session_id, CurbEvent.event_type, CurbEvent.event_time).where(
            CurbEvent.district_id == district_id,
            CurbEvent.session_id.in_(sessions),
            CurbEvent.event_type.in_((PARK_START, PARK_END)),
        )
    )
    for session_id, event_type, at in rows:
        times[(session_id, event_type)] = at
    kept = []
    for accepted in sorted(fresh, key=lambda a: a.event.event_type != PARK_START):
        event = accepted.event
        if event.session_id and event.event_type in (PARK_START, PARK_END):
            start = event.event_time if event.event_type == PARK_START else None
            end = event.event_time if event.event_type == PARK_END else None
            start = start or times.get((event.session_id, PARK_START))
            end = end or times.get((event.session_id, PARK_END))
            if start is not None and end is not None and end < start:
                _fail(
                    result,
                    accepted.index,
                    event.payload,
                    ItemError(
                        "end_before_start",
                        "park_end is earlier than the park_start of the same event_session_id",
                        ["event_time", "event_session_id"],
                    ),
                )
                continue
            times.setdefault((event.session_id, event.event_type), event.event_time)
        kept.append(accepted)
    kept.sort(key=lambda a: a.index)
    return kept


def _row(device: Device, accepted: _Accepted, now: datetime) -> dict[str, Any]:
    event = accepted.event
    published = event.payload.get("event_publication_time")
    derived = derived_fields(
        event_id=event.event_id,
        event_type=event.event_type,
        event_time=event.event_time,
        published_ms=published,
        data_source_type=event.data_source_type,
        device_uuid=device.uuid,
        space_uuid=event.space_uuid if accepted.bay_id is not None else None,
        zone_uuid=accepted.zone_uuid if accepted.bay_id is not None else None,
        session_id=event.session_id,
        plate=event.plate,
        plate_confidence=event.plate_confidence,
        device_name=device.name,
        bay_point=accepted.point if accepted.bay_id is not None else None,
    )
    sent_fields, extra = split_payload(event.payload, derived)
    return {
        "district_id": device.district_id,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "event_time": event.event_time,
        "received_at": now,
        "device_id": device.id,
        "bay_id": accepted.bay_id,
        "road_id": accepted.road_id,
        "data_source_type": event.data_source_type,
        "session_id": event.session_id,
        "plate": event.plate,
        "plate_key": plate_key_or_none(event.plate),
        "plate_confidence": event.plate_confidence,
        "published_ms": published,
        "sent_fields": sent_fields,
        "extra": extra,
    }


def _update_device(db: Session, device: Device, fresh: list[_Accepted], now: datetime) -> None:
    """Note when the device was last heard, and its own online reports, newest first.
    A device the health sweep took offline for silence is online again once heard.

    The UPDATE that notes the time reads the status back (RETURNING), so what the health
    sweep or a decommission wrote since the token was read counts: a device decommissioned
    meanwhile has its whole push refused. A second UPDATE only when the status changes; both
    kept in step with the loaded row, rather than a unit-of-work flush."""
    noted = run(db, _NOTE_HEARD, {"device_id": device.id, "now": now}).first()
    if noted is None:
        raise DeviceDecommissionedError("the device was decommissioned")
    for name, value in zip(_STATUS, noted, strict=True):
        set_committed_value(device, name, value)
    set_committed_value(device, "last_seen_at", now)
    changes: dict[str, Any] = {}
    if device.offline_reason == "silent":
        changes |= {"online": True, "offline_reason": None, "status_changed_at": now}
        db.add(comms_event(device, "comms_restored", now))
    reports = [a.event for a in fresh if a.event.event_type in _ONLINE_REPORTS]
    if reports:
        latest = max(reports, key=lambda e: e.event_time)
        changed_at = changes.get("status_changed_at", device.status_changed_at)
        if changed_at is None or latest.event_time >= changed_at:
            online = _ONLINE_REPORTS[latest.event_type]
            if latest.sensor_online is not None:
                online = latest.sensor_online
            changes |= {
                "online": online,
                "status_changed_at": latest.event_time,
                "offline_reason": None if online else "reported",
            }
    if changes:
        db.execute(update(_DEVICE).where(_DEVICE.c.id == device.id).values(**changes))
        for name, value in changes.items():
            set_committed_value(device, name, value)


_STATUS = ("online", "offline_reason", "status_changed_at")
_NOTE_HEARD = (  # built once: every push runs it
    update(_DEVICE)
    .where(_DEVICE.c.id == bindparam("device_id"), _DEVICE.c.revoked_at.is_(None))
    .values(last_seen_at=bindparam("now"))
    .returning(*(_DEVICE.c[name] for name in _STATUS))
)
_ONLINE_REPORTS = {"comms_lost": False, "comms_restored": True, "scheduled_report": True}


def _timeline_events(fresh: list[_Accepted]) -> dict[int, list[TimelineEvent]]:
    by_bay: dict[int, list[TimelineEvent]] = defaultdict(list)
    for accepted in fresh:
        e = accepted.event
        timeline_event = to_timeline_event(
            e.event_id, e.event_type, e.event_time, e.data_source_type, e.plate, e.plate_confidence
        )
        if timeline_event is not None and accepted.bay_id is not None:
            by_bay[accepted.bay_id].append(timeline_event)
    return by_bay
