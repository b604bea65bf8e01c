"""Tariff versions in the database: publishing them, finding the one in force, pricing stays."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, Table, func, or_, select
from sqlalchemy.orm import Session

from billing.credits import release_removed_stays, trim_overpaid_fees
from billing.fee_caps import capped, decided_caps
from billing.models import (
    DUE,
    FREE,
    PAID,
    REVIEW,
    SUCCEEDED,
    Payment,
    PaymentAllocation,
    StayFee,
    TariffVersion,
)
from billing.tariff import Tariff
from billing.tariff_parts import InvalidTariffError
from parking.db import insert_rows, update_rows
from parking.errors import ConflictError, NotFoundError
from parking.models import Bay, District, Road, Stay
from parking.plate_rules import vehicle_class_for_plate

_FEE = cast(Table, StayFee.__table__)
# Event times start in 2000 (sensors/cds.py); no tariff can be in force before any stay.
EARLIEST_EFFECTIVE_FROM = datetime(2000, 1, 1, tzinfo=UTC)
_COMPILED: dict[tuple[str, str], Tariff] = {}  # (version uuid, time zone): versions never change


class TariffInPastError(ConflictError):
    code = "tariff_in_past"


class NoTariffError(NotFoundError):
    code = "no_tariff"


def compiled(version: TariffVersion, time_zone: str) -> Tariff:
    key = (version.uuid, time_zone)
    tariff = _COMPILED.get(key)
    if tariff is None:
        tariff = _COMPILED[key] = Tariff(version.document, time_zone)
    return tariff


def version_in_force(versions: Sequence[tuple[datetime, str]], at: datetime) -> str | None:
    """Of one code's versions as (effective from, uuid) in order, the uuid of the one in force
    at `at`: the latest to take effect at or before it; None before the first."""
    i = bisect_right([starts for starts, _ in versions], at) - 1
    return versions[i][1] if i >= 0 else None


def in_force(district_id: Any, code: Any, at: Any) -> Select[str]:
    """The uuid of the version of tariff `code` in force at `at`: the latest that took
    effect by then. The arguments are columns (or bound parameters) of the read that asks it
    as `in_force(...).scalar_subquery()`, as the plate check's stay read does."""
    return (
        select(TariffVersion.uuid)
        .where(
            TariffVersion.district_id == district_id,
            TariffVersion.code == code,
            TariffVersion.effective_from <= at,
        )
        .order_by(TariffVersion.effective_from.desc())
        .limit(1)
    )


def tariff_version(db: Session, uuid: str, time_zone: str) -> Tariff:
    """The tariff version `uuid`, compiled for `time_zone`; read from the database only the
    first time this process meets it (versions never change)."""
    tariff = _COMPILED.get((uuid, time_zone))
    if tariff is None:
        tariff = compiled(
            db.scalars(select(TariffVersion).where(TariffVersion.uuid == uuid)).one(), time_zone
        )
    return tariff


def tariff_versions(db: Session, district: District) -> list[TariffVersion]:
    """Every version of the district's tariffs, by code then version."""
    return list(
        db.scalars(
            select(TariffVersion)
            .where(TariffVersion.district_id == district.id)
            .order_by(TariffVersion.code, TariffVersion.version)
        )
    )


def publish_tariff(
    db: Session,
    district: District,
    code: str,
    document: Mapping[str, Any],
    effective_from: datetime,
    now: datetime,
) -> TariffVersion:
    """Add a version of tariff `code`. Later versions may not take effect in the past: stays
    already priced keep the version they were priced by."""
    if not code or len(code) > 40:
        raise InvalidTariffError("a tariff code is 1 to 40 characters", ["code"])
    if effective_from < EARLIEST_EFFECTIVE_FROM:
        raise InvalidTariffError("a tariff takes effect in 2000 or later", ["effective_from"])
    _refuse_huge_integers(document)
    Tariff(document, district.time_zone)  # validates, or raises with every problem listed
    latest = db.execute(
        select(func.max(TariffVersion.version), func.max(TariffVersion.effective_from)).where(
            TariffVersion.district_id == district.id, TariffVersion.code == code
        )
    ).one()
    if latest[0] is not None:
        if effective_from < now:
            raise TariffInPastError("a new tariff version cannot take effect in the past", ["effective_from"])
        if effective_from <= latest[1]:
            raise TariffInPastError(
                f"version {latest[0]} of {code} takes effect at {latest[1].isoformat()}; "
                "a new version must take effect after it",
                ["effective_from"],
            )
    version = TariffVersion(
        district_id=district.id,
        code=code,
        version=(latest[0] or 0) + 1,
        effective_from=effective_from,
        document=dict(document),
        created_at=now,
    )
    db.add(version)
    db.flush()
    return version


def _refuse_huge_integers(document: Mapping[str, Any]) -> None:
    """No number in a document is beyond 64 bits: it could not be stored (JSON columns) and
    is no amount or duration anyway."""
    pending: list[tuple[str, Any]] = list(document.items())
    while pending:
        name, value = pending.pop()
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise InvalidTariffError("a number in the tariff is too large", [f"{name}: beyond 64 bits"])
        if isinstance(value, Mapping):
            pending.extend((f"{name}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            pending.extend((f"{name}[{i}]", v) for i, v in enumerate(value))


@dataclass
class TariffBook:
    """Every version of every tariff of one district, to find the one in force at a time."""

    district: District
    versions: dict[str, list[TariffVersion]]  # by code, by effective_from
    _starts: dict[str, list[datetime]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def load(cls, db: Session, district: District) -> TariffBook:
        versions: dict[str, list[TariffVersion]] = {}
        rows = db.scalars(
            select(TariffVersion)
            .where(TariffVersion.district_id == district.id)
            .order_by(TariffVersion.code, TariffVersion.effective_from)
        )
        for row in rows:
            versions.setdefault(row.code, []).append(row)
        return cls(district, versions)

    def in_force(self, code: str, at: datetime) -> tuple[TariffVersion, Tariff] | None:
        starts = self._starts.get(code)
        if starts is None:
            starts = self._starts[code] = [v.effective_from for v in self.versions.get(code, [])]
        i = bisect_right(starts, at) - 1
        if i < 0:
            return None
        versions = self.versions[code]
        return versions[i], compiled(versions[i], self.district.time_zone)

    def current(self, code: str, at: datetime) -> tuple[TariffVersion, Tariff]:
        found = self.in_force(code, at)
        if found is None:
            raise NoTariffError(f"no tariff {code!r} is in force at {at.isoformat()}")
        return found


def price_ended_stays(db: Session, district: District, now: datetime) -> int:
    """Price every ended stay of the district that has no fee yet, or changed since it was
    priced (a late event re-derived it). Idempotent: a second run prices nothing. Returns
    how many stays were priced. Payments to stays a late event removed are released first
    (`release_removed_stays`), so the stay that absorbed one is priced without them."""
    release_removed_stays(db, district.id, now)
    stay = cast(Table, Stay.__table__).c
    fee = _FEE.c
    paid_so_far = (  # succeeded payments already allocated to the stay (a POS payment at the curb)
        select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.stay_id == stay.id, Payment.status == SUCCEEDED)
        .scalar_subquery()
    )
    found = db.execute(
        select(
            stay.id,
            stay.plate,
            stay.plate_key,
            stay.started_at,
            stay.ended_at,
            stay.updated_at,
            func.coalesce(Bay.tariff_code, Road.tariff_code).label("tariff_code"),
            fee.stay_id.label("priced"),
            fee.amount.label("priced_amount"),
            paid_so_far.label("paid"),
        )
        .join(Road, Road.id == stay.road_id)
        .join(Bay, Bay.id == stay.bay_id)
        .outerjoin(_FEE, fee.stay_id == stay.id)
        .where(
            stay.district_id == district.id,
            stay.ended_at.is_not(None),
            or_(fee.stay_id.is_(None), fee.stay_updated_at < stay.updated_at),
        )
    )
    rows = [_EndedStay._make(row) for row in found]
    if not rows:
        return 0
    book = TariffBook.load(db, district)
    priced = sum(
        _price_rows(db, district, book, rows[i : i + _CHUNK], now) for i in range(0, len(rows), _CHUNK)
    )
    # A paid stay re-priced lower: its surplus becomes an overpayment (billing/credits.py).
    trim_overpaid_fees(db, [row.id for row in rows if int(row.paid) > 0], now)
    return priced


class _EndedStay(NamedTuple):
    """An ended stay to price, as `price_ended_stays` reads it: copied out of SQLAlchemy's Row,
    whose column read by name first asks whether Row's class has an attribute of that name, and
    the miss builds and drops an AttributeError. At a dozen reads a stay that was a seventh of
    the job's CPU; a NamedTuple's fields are read at C speed."""

    id: int
    plate: str
    plate_key: str | None
    started_at: datetime
    ended_at: datetime
    updated_at: datetime
    tariff_code: str  # the bay's own, else its road's
    priced: int | None  # the stay's id when it has a fee already
    priced_amount: int | None
    paid: int


# Stays are priced and written this many at a time, so that a run over many stays holds only
# a chunk's fees (with their breakdowns) in memory at once.
_CHUNK = 5_000


def _price_rows(
    db: Session, district: District, book: TariffBook, rows: Sequence[_EndedStay], now: datetime
) -> int:
    window = timedelta(minutes=district.payment_window_minutes)
    district_id, currency, plate_rule = district.id, district.currency, district.plate_rule
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    heads: dict[int, dict[str, Any]] = {}  # by version id: how each breakdown by it begins
    caps = decided_caps(db, [row.id for row in rows if row.priced is not None])  # disputes decided
    for row in rows:
        found = book.in_force(row.tariff_code, row.started_at)
        if found is None:
            continue  # no tariff: the stay stays unpriced (and free) until one is published
        version, tariff = found
        version_id = version.id
        head = heads.get(version_id)
        if head is None:
            head = heads[version_id] = {"tariff": version.code, "version": version.version}
        priced = tariff.price(row.started_at, row.ended_at, vehicle_class_for_plate(row.plate, plate_rule))
        amount, breakdown = capped(priced.amount, {**head, **priced.breakdown()}, caps.get(row.id))
        already = int(row.paid)
        values = {
            "stay_id": row.id,
            "district_id": district_id,
            "plate": row.plate,
            "plate_key": row.plate_key,
            "tariff_version_id": version_id,
            "vehicle_class": priced.vehicle_class,
            "amount": amount,
            "currency": currency,
            "breakdown": breakdown,
            "paid": already,
            "status": REVIEW if _held(row.priced_amount, amount) else status_of(amount, already),
            "due_by": row.ended_at + window,
            "arrears_since": None,
            "stay_updated_at": row.updated_at,
            "priced_at": now,
        }
        (updates if row.priced is not None else inserts).append(values)
    insert_rows(db, _FEE, inserts)
    update_rows(db, _FEE, [{"id": v.pop("stay_id"), **v} for v in updates], key="stay_id")
    return len(inserts) + len(updates)


# A stay re-derived (by a late event) into a fee this many times what it was priced at is held
# for review instead of being charged: a change of that size is a broken or hostile device far
# more often than a real stay (docs/BILLING.md, security review M5).
REVIEW_FACTOR = 10


def _held(priced_before: int | None, amount: int) -> bool:
    return priced_before is not None and priced_before > 0 and amount >= priced_before * REVIEW_FACTOR


def status_of(amount: int, paid: int) -> str:
    if amount == 0 and paid == 0:
        return FREE
    return PAID if paid >= amount else DUE
