"""The public holidays a district's tariffs list: tariff day classes and the free-bay
forecast's day classes both treat them as Sundays."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import TariffVersion


def district_holidays(db: Session, district_id: int) -> frozenset[date]:
    """The public holidays listed by any of the district's tariffs (a date that does not
    parse is skipped: the tariff was checked when published)."""
    days: set[date] = set()
    for document in db.scalars(
        select(TariffVersion.document).where(TariffVersion.district_id == district_id)
    ):
        for text in document.get("holidays") or []:
            try:
                days.add(date.fromisoformat(text))
            except (TypeError, ValueError):
                continue
    return frozenset(days)
