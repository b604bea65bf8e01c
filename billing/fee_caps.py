"""Caps that a dispute decision puts on a stay's fee, so that re-pricing keeps them.

A decision that adjusts or cancels a fee (enforcement/disputes.py) is recorded on its
`dispute` row (`amount_after`). When a late event re-derives the stay, pricing works the fee
out afresh from the tariff and then applies the cap: the fee is the lower of the two, so a
stay that turns out longer never costs more than was decided, and one that turns out shorter
costs its lower tariff fee (docs/ENFORCEMENT.md, Evidence and disputes).

billing may not import enforcement: the decided rows are read from their table by name, as
`billing/receipts.py` reads the POS terminal's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

_DISPUTE = table(
    "dispute",
    column("uuid"),
    column("stay_id"),
    column("status"),
    column("outcome"),
    column("amount_after"),
    column("decided_at"),
)
# A decision that lowers the fee; `upheld` leaves the tariff fee standing.
CAPPING_OUTCOMES = ("adjusted", "cancelled")


@dataclass(frozen=True)
class FeeCap:
    """The most a stay's fee may be, and the decision that said so."""

    dispute: str
    amount: int


def decided_caps(db: Session, stay_ids: Sequence[int]) -> dict[int, FeeCap]:
    """The cap on each of these stays that has one: the lowest decided amount (one dispute
    is open at a time, but a stay may be disputed again after a decision)."""
    if not stay_ids:
        return {}
    rows = db.execute(
        select(_DISPUTE.c.stay_id, _DISPUTE.c.uuid, _DISPUTE.c.amount_after)
        .where(
            _DISPUTE.c.stay_id.in_(list(stay_ids)),
            _DISPUTE.c.status == "decided",
            _DISPUTE.c.outcome.in_(CAPPING_OUTCOMES),
            _DISPUTE.c.amount_after.is_not(None),
        )
        .order_by(_DISPUTE.c.decided_at)
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
