"""A district where every bay has one ended stay (to price) and one open stay far past its
maximum stay (to sweep), written set-based so a test can afford thousands; and the rows the
overstay sweep and the pricing job leave behind, in a form two databases compare by."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from billing.models import StayFee
from billing.tariffs import publish_tariff
from enforcement.models import Task, Violation
from parking.db import insert_rows, update_rows
from parking.inventory import ensure_district
from parking.models import Bay, District, Road, Stay

SLUG = "overstay"
BAYS_PER_ROAD = 20
TARIFF = {
    "name": "crash",
    "max_stay_minutes": 120,
    "grace_minutes": 10,
    "bands": [
        {
            "name": "all",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "windows": [["00:00", "24:00"]],
            "tiers": [{"increment_minutes": 30, "amount": 300}],
        }
    ],
}


def build_overstays(db: Session, now: datetime, bays: int) -> None:
    """`bays` bays, 20 to a road; each bay's first stay ended, its second still open."""
    district, _ = ensure_district(db, SLUG, now, name="Overstay", time_zone="Asia/Shanghai", currency="CNY")
    publish_tariff(db, district, "standard", TARIFF, now - timedelta(days=30), now)
    roads = [
        {
            "uuid": str(uuid.uuid4()), "district_id": district.id, "name": f"Road {r}", "tariff_code": "standard",
            "geometry": {"type": "Point", "coordinates": [106.6, 26.5 + r * 0.001]}, "center_lat": 26.5 + r * 0.001,
            "center_lng": 106.6, "min_lat": 26.5, "min_lng": 106.6, "max_lat": 26.5, "max_lng": 106.6,
            "published_at": now, "updated_at": now,
        }
        for r in range(-(-bays // BAYS_PER_ROAD))
    ]  # fmt: skip
    insert_rows(db, cast(Table, Road.__table__), roads)
    road_ids = dict(db.execute(select(Road.name, Road.id).where(Road.district_id == district.id)).all())
    insert_rows(
        db,
        cast(Table, Bay.__table__),
        [
            {
                "uuid": str(uuid.uuid4()), "district_id": district.id, "road_id": road_ids[f"Road {b // BAYS_PER_ROAD}"],
                "name": f"O{b:05d}", "space_number": b % BAYS_PER_ROAD + 1, "lat": 26.5, "lng": 106.6,
                "geometry": {"type": "Point", "coordinates": [106.6, 26.5]}, "length_cm": 600,
                "published_at": now, "updated_at": now, "state": "vacant", "state_since": now,
            }
            for b in range(bays)
        ],
    )  # fmt: skip
    placed = db.execute(select(Bay.id, Bay.road_id).where(Bay.district_id == district.id).order_by(Bay.id))
    stays = []
    for n, (bay_id, road_id) in enumerate(placed):
        first = now - timedelta(hours=12, minutes=n % 600)
        stays.append(
            _stay(district.id, bay_id, road_id, f"贵A{n:05d}", first, first + timedelta(minutes=n % 170))
        )
        stays.append(_stay(district.id, bay_id, road_id, f"贵B{n:05d}", now - timedelta(hours=8), None))
    insert_rows(db, cast(Table, Stay.__table__), stays)
    opened = db.execute(
        select(Stay.id, Stay.bay_id, Stay.started_at).where(
            Stay.district_id == district.id, Stay.ended_at.is_(None)
        )
    )
    update_rows(
        db,
        cast(Table, Bay.__table__),
        [
            {"id": bay_id, "state": "occupied", "state_since": at, "open_stay_id": stay_id}
            for stay_id, bay_id, at in opened
        ],
    )


def _stay(
    district_id: int, bay_id: int, road_id: int, plate: str, started_at: datetime, ended_at: datetime | None
) -> dict[str, Any]:
    start, end = str(uuid.uuid4()), str(uuid.uuid4()) if ended_at else None
    return {
        "uuid": str(uuid.uuid4()), "district_id": district_id, "bay_id": bay_id, "road_id": road_id,
        "plate": plate, "plate_confidence": 90, "plate_source": "camera", "started_at": started_at,
        "ended_at": ended_at, "ended_by": "event" if ended_at else None, "start_event_id": start,
        "end_event_id": end, "event_ids": [start, end] if end else [start], "sources": ["camera"],
        "updated_at": ended_at or started_at,
    }  # fmt: skip


def enforcement_rows(db: Session) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Each violation with its tasks, by the stay's start event and the rule; no wall clock."""
    district_id = db.scalar(select(District.id).where(District.slug == SLUG))
    tasks: dict[int, list[tuple[str, str, str]]] = {}
    for t in db.scalars(select(Task).where(Task.district_id == district_id)):
        tasks.setdefault(t.violation_id or 0, []).append((t.team, t.kind, t.status))
    return {
        (start_event_id, v.rule): (
            v.plate,
            v.stay_started_at,
            v.started_at,
            v.ended_at,
            {k: x for k, x in v.evidence.items() if k != "withdrawn_at"},
            sorted(tasks.get(v.id, [])),
        )
        for v, start_event_id in db.execute(
            select(Violation, Stay.start_event_id)
            .join(Stay, Stay.id == Violation.stay_id)
            .where(Violation.district_id == district_id)
        )
    }


def fee_rows(db: Session) -> dict[str, tuple[Any, ...]]:
    """Each stay's fee, by the stay's start event; no wall clock."""
    rows = db.execute(
        select(Stay.start_event_id, StayFee)
        .join(Stay, Stay.id == StayFee.stay_id)
        .where(Stay.district_id.in_(select(District.id).where(District.slug == SLUG)))
    )
    return {
        start: (f.plate, f.amount, f.currency, f.paid, f.status, f.due_by, f.breakdown, f.stay_updated_at)
        for start, f in rows
    }
