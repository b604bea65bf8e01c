"""What a signed-in driver reads of their stays: the stays going on now with their fee so far,
the ended ones with what is paid and by which payments, and what their plates owe by district.

A driver's stays are those of the one rule of billing/plate_links.py (what they are charged
for automatically: their plate linked when the stay started) and every stay a payment of
theirs paid. Views turn the payments' ids into receipt links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, union
from sqlalchemy.orm import Session

from billing.ledger import owed_by_plates
from billing.models import ARREARS, SUCCEEDED, DriverPlate, Payment, PaymentAllocation, StayFee
from billing.plate_links import stay_is_the_accounts
from billing.tariff import so_far
from billing.tariffs import TariffBook
from identity.models import DriverAccount
from parking.models import Bay, District, Road, Stay
from parking.plate_rules import vehicle_class_for_plate


def current_stays(db: Session, account: DriverAccount, now: datetime) -> list[dict[str, Any]]:
    """Open stays of my linked plates, priced from their start to `now` by the tariff version
    in force when they started: fee so far, time left before the maximum stay, band now."""
    rows = db.execute(
        select(Stay, Bay.name, Road.name, Road.tariff_code, District)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .join(District, District.id == Stay.district_id)
        .join(DriverPlate, stay_is_the_accounts())
        .where(*_of_linked(db, account), Stay.ended_at.is_(None))
        .order_by(Stay.started_at)
    ).all()
    books: dict[int, TariffBook] = {}
    stays = []
    for stay, bay, road, tariff_code, district in rows:
        book = books.get(district.id) or books.setdefault(district.id, TariffBook.load(db, district))
        stays.append(_current(stay, bay, road, district, book.in_force(tariff_code, stay.started_at), now))
    return stays


def _current(
    stay: Stay, bay: str, road: str, district: District, found: Any, now: datetime
) -> dict[str, Any]:
    vehicle_class = vehicle_class_for_plate(stay.plate, district.plate_rule)
    figures = so_far(found[1] if found is not None else None, stay.started_at, vehicle_class, now)
    left = figures.time_left
    return {
        "uuid": stay.uuid,
        "district": district.slug,
        "plate": stay.plate,
        "bay": bay,
        "road": road,
        "started_at": stay.started_at,
        "elapsed_seconds": int(figures.elapsed.total_seconds()),
        "fee_so_far": figures.fee,
        "currency": district.currency,
        "band": figures.band,
        "max_stay_minutes": figures.max_stay_minutes,
        "time_left_seconds": None if left is None else int(left.total_seconds()),
    }


@dataclass(frozen=True)
class StayHistory:
    total: int
    stays: list[dict[str, Any]]  # each with `paid_by`: the uuids of the payments that paid it


def stay_history(db: Session, account: DriverAccount, page: int, size: int) -> StayHistory:
    """My ended stays, newest first, one page: fee, what is paid, status, and the succeeded
    payments that paid each (mine, or anyone's for a stay of mine by the link rule)."""
    mine = (Stay.id.in_(_my_stays(db, account)), Stay.ended_at.is_not(None))
    total = db.scalar(select(func.count()).select_from(Stay).where(*mine))
    rows = db.execute(
        select(Stay, StayFee, Bay.name, Road.name, District.slug, District.currency)
        .outerjoin(StayFee, StayFee.stay_id == Stay.id)
        .join(Bay, Bay.id == Stay.bay_id)
        .join(Road, Road.id == Stay.road_id)
        .join(District, District.id == Stay.district_id)
        .where(*mine)
        .order_by(Stay.ended_at.desc(), Stay.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    paid_by: dict[int, list[str]] = {}
    for stay_id, payment in db.execute(
        select(PaymentAllocation.stay_id, Payment.uuid)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.stay_id.in_([r[0].id for r in rows]), Payment.status == SUCCEEDED)
        .where(or_(Payment.account_id == account.id, _linked_since_started(account)))
        .order_by(Payment.created_at, Payment.id)
    ):
        paid_by.setdefault(stay_id, []).append(payment)
    stays = [
        {
            "uuid": stay.uuid,
            "district": slug,
            "plate": stay.plate,
            "bay": bay,
            "road": road,
            "started_at": stay.started_at,
            "ended_at": stay.ended_at,
            "fee": fee.amount if fee else None,
            "paid": fee.paid if fee else 0,
            "currency": currency,
            "status": fee.status if fee else "unpriced",
            "paid_by": paid_by.get(stay.id, []),
        }
        for stay, fee, bay, road, slug, currency in rows
    ]
    return StayHistory(total or 0, stays)


def owed_by_district(db: Session, plates: Sequence[str]) -> list[dict[str, Any]]:
    """What these plates owe, per district that they owe in (by slug): the total, the part in
    arrears, and the stays in the order one payment settles them."""
    districts = []
    for district in db.scalars(select(District).order_by(District.slug)) if plates else ():
        owed = owed_by_plates(db, district, plates)
        if not owed:
            continue
        districts.append(
            {
                "district": district.slug,
                "currency": district.currency,
                "outstanding": sum(s.owed for _, s in owed),
                "arrears": sum(s.owed for _, s in owed if s.status == ARREARS),
                "stays": [{**vars(s), "owed": s.owed, "plate": plate} for plate, s in owed],
            }
        )
    return districts


def _of_linked(db: Session, account: DriverAccount) -> tuple[ColumnElement[bool], ...]:
    """Stays of my linked plates (join DriverPlate on `stay_is_the_accounts`). The district
    list lets the (district, plate) index serve the lookup; districts are few."""
    districts = list(db.scalars(select(District.id)))
    return (Stay.district_id.in_(districts), DriverPlate.account_id == account.id)


def _my_stays(db: Session, account: DriverAccount) -> Select[Any]:
    """Ids of my stays: by the one rule of billing/plate_links.py (what I am charged for
    automatically), and every stay a payment of mine paid."""
    by_link = select(Stay.id).join(DriverPlate, stay_is_the_accounts()).where(*_of_linked(db, account))
    paid = (
        select(PaymentAllocation.stay_id)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.account_id == account.id, Payment.status == SUCCEEDED)
    )
    return union(by_link, paid).subquery().select()


def _linked_since_started(account: DriverAccount) -> ColumnElement[bool]:
    """A receipt of a stay of mine by the link rule (paid by anyone, e.g. by plate)."""
    return exists().where(
        PaymentAllocation.stay_id == Stay.id, DriverPlate.account_id == account.id, stay_is_the_accounts()
    )
