"""A patrol car's plate reads (a camera car, as scan cars and AutoVu enforce): each read is
matched to the bay it was taken beside and answered only when it is a hit, so the car's crew
stops for the vehicles that need them. Every read is on the plate-lookup audit log.

The reasons a read is a hit:
- `overstayed`: the plate's stay going on has lasted longer than its tariff's maximum stay
  plus the grace (the rule of the overstay sweep), or an overstay violation is still open;
- `unpaid`: a priced stay of the plate is still due after its payment window;
- `arrears`: the plate owes stays already turned into arrears;
- `citation`: the plate has a citation still to be paid or decided;
- `restriction`: the bay it was read beside is under a no-parking or no-stopping restriction
  at the time of the read;
- `unregistered`: it was read beside a bay, but no stay of the plate is going on anywhere
  (no stake saw it arrive and no attendant registered it).
A read below the confidence threshold is never a hit: it comes back to be confirmed by eye,
as does a plate that no rule of the district can read.

The work is set-based: one query for the bays near the batch, one per kind of fact for all
its plates, and one insert for the audit rows, however many reads the batch holds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from billing.models import ARREARS, DUE, StayFee
from billing.tariffs import TariffBook
from enforcement.models import OVERSTAY, Citation, Violation
from enforcement.models_warden import PATROL_READ, PlateCheck
from enforcement.plate_check import STANDING
from enforcement.rules import overstay_limit, overstays
from parking.models import Bay, District, Road, Stay
from parking.plate_rules import accept_plate
from parking.plates import InvalidPlateError, plate_key
from sensors.models import Device

OVERSTAYED, UNPAID, IN_ARREARS, CITATION, RESTRICTED, UNREGISTERED = (
    "overstayed",
    "unpaid",
    "arrears",
    "citation",
    "restriction",
    "unregistered",
)
LOW_CONFIDENCE, UNREADABLE = "low_confidence", "unreadable_plate"
_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class PlateRead:
    plate: str
    confidence: int  # 0-100, the camera's own
    read_at: datetime
    lat: float
    lng: float
    bay_uuid: str | None = None  # the bay the car's system matched, when it did


@dataclass(frozen=True)
class PatrolRules:
    min_confidence: int  # below it a read is "confirm by eye", never a hit
    match_radius_m: float  # a read further than this from every bay is matched to none


@dataclass(frozen=True)
class PatrolAnswer:
    checked: int
    hits: list[dict[str, Any]]
    confirm: list[dict[str, Any]]


@dataclass(frozen=True)
class _Bay:
    id: int
    uuid: str
    name: str
    lat: float
    lng: float
    tariff_code: str


@dataclass
class _Facts:
    """What is known of one plate, from the batch's few queries."""

    open_stays: list[tuple[datetime, str]]  # (started_at, tariff code of the stay's road)
    reasons: set[str]


def check_reads(
    db: Session,
    district: District,
    device: Device,
    reads: Sequence[PlateRead],
    rules: PatrolRules,
    now: datetime,
) -> PatrolAnswer:
    """Answer a batch of reads (the hits and the reads to confirm) and audit every read."""
    bays = _match_bays(db, district, reads, rules.match_radius_m)
    plates = [_plate_or_none(read.plate, district.plate_rule) for read in reads]
    facts = _facts(db, district, {p for p in plates if p}, now)
    book = TariffBook.load(db, district)
    hits: list[dict[str, Any]] = []
    confirm: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for read, plate, bay in zip(reads, plates, bays, strict=True):
        bay_uuid = bay.uuid if bay else None
        if plate is None or read.confidence < rules.min_confidence:
            why = UNREADABLE if plate is None else LOW_CONFIDENCE
            confirm.append(
                {"plate": plate or read.plate, "bay": bay_uuid, "confidence": read.confidence, "why": why}
            )
            audit.append(_audit(district, device, read, plate, bay, {"confirm": why}, now))
            continue
        reasons = sorted(_reasons(facts.get(plate), bay, read.read_at, book, now))
        if reasons:
            hits.append({"plate": plate, "bay": bay_uuid, "reasons": reasons})
        audit.append(_audit(district, device, read, plate, bay, {"hit": reasons}, now))
    if audit:
        db.execute(insert(PlateCheck), audit)
    return PatrolAnswer(len(reads), hits, confirm)


def _plate_or_none(raw: str, rule: str) -> str | None:
    """The read in normal form, None when the district's plate rule refuses it."""
    try:
        return accept_plate(rule, raw)
    except InvalidPlateError:
        return None


def _reasons(
    facts: _Facts | None, bay: _Bay | None, read_at: datetime, book: TariffBook, now: datetime
) -> set[str]:
    reasons = set(facts.reasons) if facts else set()
    for started_at, code in facts.open_stays if facts else []:
        found = book.in_force(code, started_at)
        limit = overstay_limit(found[1]) if found else None
        if limit is not None and overstays(started_at, limit, now):
            reasons.add(OVERSTAYED)
    if bay is not None:
        found = book.in_force(bay.tariff_code, read_at)
        if found is not None and found[1].restriction_at(read_at) is not None:
            reasons.add(RESTRICTED)
        if not (facts and facts.open_stays):
            reasons.add(UNREGISTERED)
    return reasons


def _facts(db: Session, district: District, plates: set[str], now: datetime) -> dict[str, _Facts]:
    """Every plate's stays going on, dues, arrears, standing citations and open overstays."""
    by_key: dict[str | None, str] = {plate_key(p): p for p in plates}
    facts = {p: _Facts([], set()) for p in plates}
    if not by_key:
        return facts
    keys = [key for key in by_key if key]
    open_stays = db.execute(
        select(Stay.plate_key, Stay.started_at, Road.tariff_code)
        .join(Road, Road.id == Stay.road_id)
        .where(Stay.district_id == district.id, Stay.plate_key.in_(keys), Stay.ended_at.is_(None))
    )
    for key, started_at, code in open_stays:
        facts[by_key[key]].open_stays.append((started_at, code))
    fees = db.execute(
        select(StayFee.plate_key, StayFee.status, StayFee.due_by).where(
            StayFee.district_id == district.id,
            StayFee.plate_key.in_(keys),
            StayFee.status.in_((DUE, ARREARS)),
        )
    )
    for key, status, due_by in fees:
        if status == ARREARS:
            facts[by_key[key]].reasons.add(IN_ARREARS)
        elif due_by is not None and due_by < now:
            facts[by_key[key]].reasons.add(UNPAID)
    cited = db.scalars(
        select(Citation.plate_key).where(
            Citation.district_id == district.id, Citation.plate_key.in_(keys), Citation.status.in_(STANDING)
        )
    )
    for key in cited:
        facts[by_key[key]].reasons.add(CITATION)
    overstaying = db.scalars(
        select(Violation.plate_key).where(
            Violation.district_id == district.id,
            Violation.plate_key.in_(keys),
            Violation.rule == OVERSTAY,
            Violation.ended_at.is_(None),
        )
    )
    for key in overstaying:
        facts[by_key[key]].reasons.add(OVERSTAYED)
    return facts


def _match_bays(
    db: Session, district: District, reads: Sequence[PlateRead], radius_m: float
) -> list[_Bay | None]:
    """The bay each read was taken beside: the one the car named, else the nearest bay within
    `radius_m` of the read's position (None when there is none)."""
    if not reads:
        return []
    margin = radius_m / _METRES_PER_DEGREE
    cos_lat = math.cos(math.radians(sum(r.lat for r in reads) / len(reads)))
    lng_margin = margin / max(cos_lat, 0.01)
    named = {r.bay_uuid.lower() for r in reads if r.bay_uuid}
    query = (
        select(Bay.id, Bay.uuid, Bay.name, Bay.lat, Bay.lng, Road.tariff_code)
        .join(Road, Road.id == Bay.road_id)
        .where(Bay.district_id == district.id)
    )
    near = query.where(
        Bay.lat.between(min(r.lat for r in reads) - margin, max(r.lat for r in reads) + margin),
        Bay.lng.between(min(r.lng for r in reads) - lng_margin, max(r.lng for r in reads) + lng_margin),
    )
    rows = {row.id: _Bay(*row) for row in db.execute(near)}
    if named:
        rows.update({row.id: _Bay(*row) for row in db.execute(query.where(Bay.uuid.in_(named)))})
    by_uuid = {bay.uuid: bay for bay in rows.values()}
    grid: dict[tuple[int, int], list[_Bay]] = defaultdict(list)
    for bay in rows.values():
        grid[_cell(bay.lat, bay.lng, margin, lng_margin)].append(bay)
    return [
        by_uuid.get(read.bay_uuid.lower())
        if read.bay_uuid
        else _nearest(grid, read, margin, lng_margin, cos_lat, radius_m)
        for read in reads
    ]


def _cell(lat: float, lng: float, lat_step: float, lng_step: float) -> tuple[int, int]:
    return int(lat // lat_step), int(lng // lng_step)


def _nearest(
    grid: dict[tuple[int, int], list[_Bay]],
    read: PlateRead,
    lat_step: float,
    lng_step: float,
    cos_lat: float,
    radius_m: float,
) -> _Bay | None:
    row, col = _cell(read.lat, read.lng, lat_step, lng_step)
    best: tuple[float, _Bay] | None = None
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            for bay in grid.get((row + dr, col + dc), ()):
                dy = (bay.lat - read.lat) * _METRES_PER_DEGREE
                dx = (bay.lng - read.lng) * _METRES_PER_DEGREE * cos_lat
                metres = math.hypot(dx, dy)
                if metres <= radius_m and (best is None or metres < best[0]):
                    best = (metres, bay)
    return best[1] if best else None


def _audit(
    district: District,
    device: Device,
    read: PlateRead,
    plate: str | None,
    bay: _Bay | None,
    result: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return {
        "district_id": district.id,
        "device_id": device.id,
        "staff_token_id": None,
        "staff_name": device.name,
        "staff_role": device.kind,
        "checked_at": now,
        "route": PATROL_READ,
        "plate": plate,
        "plate_key": plate_key(plate) if plate else None,
        "bay_id": bay.id if bay else None,
        "lat": read.lat,
        "lng": read.lng,
        "result": result | {"confidence": read.confidence, "read_at": read.read_at.isoformat()},
    }
