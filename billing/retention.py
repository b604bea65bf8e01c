"""Plate retention in billing's tables (parking/retention.py runs it): a stay still owes
while its fee is neither paid nor free; a plate in arrears is kept; an erased stay's fee and
the payments for erased stays lose their plate; plate claims decided, or left pending, since
before the cutoff are deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, exists, or_
from sqlalchemy.orm import Session

from billing.models import ARREARS, CLAIM_PENDING, FREE, PAID, Payment, PaymentAllocation, PlateClaim, StayFee
from parking.models import Stay
from parking.retention import Keeps, RetentionStep, erase_plates, erased_stays, run

SETTLED_FEES = (PAID, FREE)
_FEE = cast(Table, StayFee.__table__)
_PAYMENT = cast(Table, Payment.__table__)
_ALLOCATION = cast(Table, PaymentAllocation.__table__)
_CLAIM = cast(Table, PlateClaim.__table__)


def has_arrears(district_id: int, key: Any) -> ColumnElement[bool]:
    fee = _FEE.c
    return exists().where(fee.district_id == district_id, fee.plate_key == key, fee.status == ARREARS)


def unsettled(stay_id: Any) -> ColumnElement[bool]:
    """The stay has a fee that is neither paid nor free (never priced: no fee, settled)."""
    fee = _FEE.c
    return exists().where(fee.stay_id == stay_id, fee.status.not_in(SETTLED_FEES))


def erase_fees(db: Session, district_id: int, cutoff: datetime, _kept: Keeps) -> int:
    """The fees of stays that lost their plate."""
    return run(
        db, erase_plates(_FEE, district_id).where(_FEE.c.stay_id.in_(erased_stays(district_id, cutoff)))
    )


def erase_payments(db: Session, district_id: int, cutoff: datetime, kept: Keeps) -> int:
    """Payments made before the cutoff for stays that all lost their plate (or for none:
    a declined card), unless the plate is kept."""
    allocation, payment = _ALLOCATION.c, _PAYMENT.c
    plated_stay = (
        exists()
        .where(allocation.payment_id == payment.id)
        .where(Stay.id == allocation.stay_id, Stay.plate_key.is_not(None))
    )
    statement = erase_plates(_PAYMENT, district_id).where(
        payment.created_at < cutoff, ~plated_stay, ~kept(district_id, payment.plate_key)
    )
    return run(db, statement)


def delete_claims(db: Session, district_id: int, cutoff: datetime, _kept: Keeps) -> int:
    """Plate claims decided before the cutoff (a proven link lives on in `driver_plate`), and
    claims still pending that were filed before it: nobody proved them within the retention,
    and the driver may file again. The whole row goes: the plate and the driver's evidence
    are all it holds."""
    claim = _CLAIM.c
    statement = delete(_CLAIM).where(
        claim.district_id == district_id,
        or_(claim.decided_at < cutoff, and_(claim.status == CLAIM_PENDING, claim.created_at < cutoff)),
    )
    return run(db, statement)


FEES = RetentionStep("fees", erase_fees)
PAYMENTS = RetentionStep("payments", erase_payments)
PLATE_CLAIMS = RetentionStep("plate_claims", delete_claims)
