"""The soak's end-of-run checks against the database, and the plates it starts paying for.

After the traffic stops, the server's state must match what the clients were told: every event
the server accepted is in the event log exactly once, there is one stay per arrival sent (and
no other stay began during the run), every cash or QR payment a POS reported is recorded, and
every card payment answered 201 succeeded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.database import make_engine
from bench.soak_traffic import World
from billing.models import CHANNEL_PLATE, CHANNEL_POS, SUCCEEDED, Payment, StayFee
from fixtures.demo import DEMO_DRIVER_PLATES
from parking.models import District, Stay
from sensors.models import CurbEvent

CHUNK = 500
PAYABLE_PLATES = 5000


def payable_plates(db: Session, district_id: int) -> list[str]:
    """Plates whose priced stays are not paid, not app users' (their cards are charged by
    the scheduler), oldest first."""
    rows = db.execute(
        select(StayFee.plate, func.min(StayFee.priced_at))
        .where(
            StayFee.district_id == district_id,
            StayFee.plate.is_not(None),
            StayFee.paid < StayFee.amount,
            StayFee.plate.not_in(DEMO_DRIVER_PLATES),
        )
        .group_by(StayFee.plate)
        .order_by(func.min(StayFee.priced_at), StayFee.plate)
        .limit(PAYABLE_PLATES)
    )
    return [plate for plate, _ in rows if plate]


def check_state(url: str, world: World, started_at: datetime) -> dict[str, dict[str, Any]]:
    """Each check: ok and a line saying what was compared."""
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            district_id = db.scalars(select(District.id).where(District.slug == world.district)).one()
            return {
                "events logged once": _logged_once(db, district_id, world.accepted),
                "one stay per arrival": _stays(db, district_id, world.sent_park_starts, started_at),
                "POS payments recorded": _pos_payments(db, district_id, world.pos_payments),
                "card payments succeeded": _plate_payments(db, district_id, world.plate_payments, started_at),
            }
    finally:
        engine.dispose()


def _logged_once(db: Session, district_id: int, accepted: set[str]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for chunk in _chunks(accepted):
        rows = db.execute(
            select(CurbEvent.event_id, func.count())
            .where(CurbEvent.district_id == district_id, CurbEvent.event_id.in_(chunk))
            .group_by(CurbEvent.event_id)
        )
        counts.update({event_id: n for event_id, n in rows})
    missing = len(accepted) - len(counts)
    twice = sum(1 for n in counts.values() if n > 1)
    return {
        "ok": missing == 0 and twice == 0,
        "detail": f"{len(accepted):,} accepted, {missing} missing from the log, {twice} logged more than once",
    }


def _stays(db: Session, district_id: int, park_starts: set[str], started_at: datetime) -> dict[str, Any]:
    matched = sum(
        db.scalar(select(func.count()).where(Stay.district_id == district_id, Stay.start_event_id.in_(chunk)))
        or 0
        for chunk in _chunks(park_starts)
    )
    began = db.scalar(
        select(func.count()).where(Stay.district_id == district_id, Stay.started_at >= started_at)
    )
    return {
        "ok": matched == len(park_starts) == began,
        "detail": f"{len(park_starts):,} arrivals sent, {matched:,} stays started by them, "
        f"{began:,} stays began during the run",
    }


def _pos_payments(db: Session, district_id: int, event_ids: set[str]) -> dict[str, Any]:
    recorded = sum(
        db.scalar(
            select(func.count()).where(
                Payment.district_id == district_id,
                Payment.channel == CHANNEL_POS,
                Payment.event_id.in_(chunk),
            )
        )
        or 0
        for chunk in _chunks(event_ids)
    )
    return {
        "ok": recorded == len(event_ids),
        "detail": f"{len(event_ids)} cash/QR payments reported by POS, {recorded} recorded",
    }


def _plate_payments(db: Session, district_id: int, answered: int, started_at: datetime) -> dict[str, Any]:
    succeeded = db.scalar(
        select(func.count()).where(
            Payment.district_id == district_id,
            Payment.channel == CHANNEL_PLATE,
            Payment.status == SUCCEEDED,
            Payment.created_at >= started_at,
        )
    )
    return {
        "ok": succeeded == answered,
        "detail": f"{answered} pay-by-plate payments answered 201, {succeeded} succeeded in the database",
    }


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]
