"""Caps that a dispute decision puts on a stay's fee, so that re-pricing keeps them.

A decision that adjusts or cancels a fee (enforcement/disputes.py) writes the decided amount
into billing's own `stay_fee_cap` table through `cap_fee`. When a late event re-derives the
stay, pricing works the fee out afresh from the tariff and then applies the cap: the fee is
the lower of the two, so a stay that turns out longer never costs more than was decided, and
one that turns out shorter costs its lower tariff fee (docs/ENFORCEMENT.md, Evidence and
disputes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import StayFeeCap


@dataclass(frozen=True)
class FeeCap:
    """The most a stay's fee may be, and the decision that said so."""

    dispute: str
    amount: int


def cap_fee(db: Session, stay_id: int, decision: str, amount: int, decided_at: datetime) -> None:
    """Record that the decision `decision` (a dispute's id) capped the stay's fee at `amount`."""
    db.add(StayFeeCap(stay_id=stay_id, decision=decision, amount=amount, decided_at=decided_at))


def decided_caps(db: Session, stay_ids: Sequence[int]) -> dict[int, FeeCap]:
    """The cap on each of these stays that has one: the lowest decided amount (one dispute
    is open at a time, but a stay may be disputed again after a decision)."""
    if not stay_ids:
        return {}
    rows = db.execute(
        select(StayFeeCap.stay_id, StayFeeCap.decision, StayFeeCap.amount)
        .where(StayFeeCap.stay_id.in_(list(stay_ids)))
        .order_by(StayFeeCap.decided_at, StayFeeCap.id)
    )
    caps: dict[int, FeeCap] = {}
    for stay_id, dispute, amount in rows:
        found = caps.get(int(stay_id))
        if found is None or int(amount) < found.amount:
            caps[int(stay_id)] = FeeCap(str(dispute), int(amount))
    return caps


def capped(amount: int, breakdown: dict[str, Any], cap: FeeCap | None) -> tuple[int, dict[str, Any]]:
    """The fee after its cap, and its breakdown saying which decision capped it and from what."""
    if cap is None or amount <= cap.amount:
        return amount, breakdown
    note = {"dispute": cap.dispute, "amount": cap.amount, "priced": amount}
    return cap.amount, {**breakdown, "dispute_cap": note}
