"""Use cases of what the curb devices report: a pushed batch of events, taken in whole, and
the free-bay forecast fitted (and scored, on a history logged for it) on what they sensed.

A service function takes the session and primitives, runs its own unit of work
(parking/unit_of_work.py) and returns a value; the view, the demo command and the tests call
it instead of assembling the intake and the POS payments themselves. It is the one place in
`sensors/` that reaches into `billing/` (POS payments, the tariffs' holidays): the intake rules
themselves know nothing of money.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from billing.holidays import district_holidays
from billing.pos_payments import record_pos_payment
from parking.forecast import HISTORY
from parking.forecast_calibration import Scores, calibrate
from parking.forecast_history import FitResult, fit_forecasts, load_history
from parking.models import District
from parking.unit_of_work import end_reads, writing
from sensors.cds import ParsedEvent
from sensors.intake import IntakeResult, check_items, ingest_batch, ingest_checked
from sensors.models import HANDHELD_POS, Device
from sensors.watch import unwatched_history


@dataclass(frozen=True)
class Push:
    """What a request pushes: to which district, from which device (its token already
    checked), and the batch of items."""

    district: District
    device: Device
    items: Sequence[Any]


def take_pushed_batch(
    db: Session,
    read_push: Callable[[], Push],
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None,
    *,
    check_first: bool = True,
) -> IntakeResult:
    """One batch pushed by an authenticated device: logged, folded into the bays' timelines
    and, from a POS terminal, its cash and QR payments booked, in one unit of work.

    `read_push` is the caller's reading of the request (the device's token, the district,
    the batch). `check_first`: it runs first and the batch is parsed and checked with no
    transaction held, then the write lock taken (SQLite, which has one writer at a time).
    Otherwise all of it, the token's read included, runs in the one write transaction
    (PostgreSQL, which locks only the rows written).
    `max_age` None: no bound. Plates are checked by the district's plate rule."""
    if not check_first:
        with writing(db):
            push = read_push()
            device, rule = push.device, push.district.plate_rule
            result, parsed = check_items(push.items, device.uuid, now, max_skew, max_age, plate_rule=rule)
            _log(db, push.district, device, result, parsed, now)
        return result
    push = read_push()
    # The device and district stay loaded; what a sweep may change in the device row meanwhile
    # (its status, a decommission) is read back under the lock by the UPDATE that notes the time.
    end_reads(db, keep_loaded=True)
    rule = push.district.plate_rule
    result, parsed = check_items(push.items, push.device.uuid, now, max_skew, max_age, plate_rule=rule)
    with writing(db, keep_reads=True):
        _log(db, push.district, push.device, result, parsed, now)
    return result


def _log(
    db: Session,
    district: District,
    device: Device,
    result: IntakeResult,
    parsed: list[tuple[int, ParsedEvent]],
    now: datetime,
) -> None:
    ingest_checked(db, device, result, parsed, now)
    book_pos_payments(db, district, device, result.logged, now)


def log_pushed_batch(
    db: Session, district: District, device: Device, items: Sequence[Any], now: datetime, max_skew: timedelta
) -> IntakeResult:
    """The same batch inside the caller's transaction, for callers that write many devices'
    batches at once (the demo's history) or hold one open (tests): checked, logged, folded
    in and its POS payments booked."""
    result = ingest_batch(db, device, items, now, max_skew)
    book_pos_payments(db, district, device, result.logged, now)
    return result


def log_history(
    db: Session,
    device_id: int,
    days: Iterable[tuple[datetime, Sequence[Any]]],
    max_skew: timedelta,
    batch_size: int = 1000,
) -> int:
    """A feed's past events, for scoring the forecast on them: each `(received_at, events)`
    logged and folded into the bays' timelines in batches of `batch_size`, in one unit of
    work per item, so the next one is built with no transaction open. Returns how many
    events were logged."""
    logged = 0
    for received_at, events in days:
        with writing(db):
            device = db.get_one(Device, device_id)
            for first in range(0, len(events), batch_size):
                batch = events[first : first + batch_size]
                logged += ingest_batch(db, device, batch, received_at, max_skew).success
    return logged


def score_forecast(
    db: Session, district_id: int, since: datetime, until: datetime, training: Callable[[datetime], bool]
) -> list[Scores]:
    """Fit the forecast on the district's history in [since, until) whose times `training`
    accepts and score it on the rest, leaving out unwatched time, with the tariffs' holidays
    (parking/forecast_calibration.py). Reads only."""
    district = db.get_one(District, district_id)
    unwatched = unwatched_history(db, district_id, since, until, timedelta(minutes=15))
    history = load_history(db, district_id, since, until, unwatched)
    return calibrate(history, ZoneInfo(district.time_zone), district_holidays(db, district_id), training)


def fit_district_forecast(
    db: Session, district_id: int, now: datetime, stale: timedelta = timedelta(minutes=15)
) -> FitResult:
    """Refit a district's free-bay forecast on its last `HISTORY`, leaving out the time no
    online device watched a bay (a device `stale` minutes silent showed its bays unknown),
    with the tariffs' holidays as Sundays; committed as one unit of work."""
    with writing(db):
        district = db.get_one(District, district_id)
        unwatched = unwatched_history(db, district_id, now - HISTORY, now, stale)
        holidays = district_holidays(db, district_id)
        return fit_forecasts(db, district_id, ZoneInfo(district.time_zone), holidays, now, unwatched)


def book_pos_payments(
    db: Session,
    district: District,
    device: Device,
    logged: list[tuple[ParsedEvent, int | None]],
    now: datetime,
) -> None:
    """Cash or QR that an attendant took, reported with the event's CDS payment fields.
    Payment fields from other kinds of device are kept in the log but are not money."""
    if device.kind != HANDHELD_POS:
        return
    for event, bay_id in logged:
        if event.payment is None:
            continue
        amount, method, transaction = event.payment
        record_pos_payment(
            db,
            district,
            device_id=device.id,
            attendant=str(event.payload.get("data_source_device_name") or device.name),
            event_id=event.event_id,
            bay_id=bay_id,
            at=event.event_time,
            plate=event.plate,
            amount=amount,
            method=method,
            transaction_id=transaction,
            now=now,
        )
