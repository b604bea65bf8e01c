"""What plates owe: the ledger of a plate's unpaid priced stays in the order a payment
settles them (oldest arrears first, then the oldest due), and due stays turning into arrears
once their payment window has passed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from billing.models import ARREARS, DUE, StayFee
from parking.db import run
from parking.models import Bay, District, Road, Stay
from parking.plates import plate_key


@dataclass(frozen=True)
class OwedStay:
    stay_id: int
    stay_uuid: str
    bay: str
    road: str
    started_at: datetime
    ended_at: datetime
    amount: int
    paid: int
    status: str
    due_by: datetime

    @property
    def owed(self) -> int:
        return self.amount - self.paid


@dataclass(frozen=True)
class PlateLedger:
    plate: str
    currency: str
    stays: list[OwedStay]  # oldest arrears first, then oldest due

    @property
    def outstanding(self) -> int:
        return sum(s.owed for s in self.stays)

    @property
    def arrears(self) -> int:
        return sum(s.owed for s in self.stays if s.status == ARREARS)


# Built once: every plate check and quote reads it.
_OWED = (
    select(
        StayFee.stay_id,
        Stay.uuid,
        Bay.name,
        Road.name,
        Stay.started_at,
        Stay.ended_at,
        StayFee.amount,
        StayFee.paid,
        StayFee.status,
        StayFee.due_by,
    )
    .join(Stay, Stay.id == StayFee.stay_id)
    .join(Bay, Bay.id == Stay.bay_id)
    .join(Road, Road.id == Stay.road_id)
    .where(
        StayFee.district_id == bindparam("district_id"),
        StayFee.plate_key == bindparam("plate_key"),
        StayFee.status.in_((DUE, ARREARS)),
    )
)


def plate_ledger(db: Session, district: District, plate: str) -> PlateLedger:
    """What a plate owes in a district: its unpaid priced stays, in the order a payment
    settles them."""
    rows = run(db, _OWED, {"district_id": district.id, "plate_key": plate_key(plate)}).all()
    stays = [
        OwedStay(stay_id, stay_uuid, bay, road, start, end or start, amount, paid, status, due_by)
        for stay_id, stay_uuid, bay, road, start, end, amount, paid, status, due_by in rows
    ]
    stays.sort(key=lambda s: (s.status != ARREARS, s.ended_at, s.stay_id))
    return PlateLedger(plate, district.currency, stays)


def owed_by_plates(db: Session, district: District, plates: Sequence[str]) -> list[tuple[str, OwedStay]]:
    """What several plates owe in a district, as (plate, stay), in the order one payment
    settles them: oldest arrears first, then the oldest due stays, whichever the plate."""
    owed = [(plate, stay) for plate in plates for stay in plate_ledger(db, district, plate).stays]
    owed.sort(key=lambda p: (p[1].status != ARREARS, p[1].ended_at, p[1].stay_id))
    return owed


def mark_arrears(db: Session, district: District, now: datetime) -> int:
    """Due stays whose payment window has passed become arrears on their plate's ledger."""
    result = db.execute(
        update(StayFee)
        .where(StayFee.district_id == district.id, StayFee.status == DUE, StayFee.due_by <= now)
        .values(status=ARREARS, arrears_since=StayFee.due_by)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
