"""The roads that need attention in a period: most violations, lowest collection rate,
highest and lowest occupancy; and every road of a place with its occupancy, for the road map."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from billing.models import StayFee
from enforcement.models import Violation
from parking.metrics import floor_to_local_hour, local_hours
from parking.models import District, Road, Stay
from parking.stay_rules import ended_within
from reports.devices import load_watch
from reports.figures import occupancy_percent
from reports.occupancy import fold, hour_sums, load_place
from reports.periods import Period
from reports.places import Place, find_place

_EVERY_ROAD = 1_000_000  # a ranking long enough to hold every road of a district


@dataclass(frozen=True)
class RoadFigures:
    road_id: int
    uuid: str
    name: str
    violations: int
    billed: int
    paid: int
    collection_rate: float | None
    occupancy_percent: float | None


@dataclass(frozen=True)
class Problems:
    district: District
    period: Period
    most_violations: list[RoadFigures]
    lowest_collection_rate: list[RoadFigures]
    highest_occupancy: list[RoadFigures]
    lowest_occupancy: list[RoadFigures]


def top_problems(db: Session, district: District, period: Period, now: datetime, limit: int = 5) -> Problems:
    """Every road's figures for the period, ranked four ways (ties by road name); roads
    without the figure (nothing billed, no watched time) are left out of that ranking."""
    roads = _road_figures(db, district, period, now)
    by_name = sorted(roads, key=lambda r: r.name)
    billed = [r for r in by_name if r.collection_rate is not None]
    watched = [r for r in by_name if r.occupancy_percent is not None]
    return Problems(
        district,
        period,
        sorted((r for r in by_name if r.violations), key=lambda r: -r.violations)[:limit],
        sorted(billed, key=lambda r: r.collection_rate or 0.0)[:limit],
        sorted(watched, key=lambda r: -(r.occupancy_percent or 0.0))[:limit],
        sorted(watched, key=lambda r: r.occupancy_percent or 0.0)[:limit],
    )


def _road_figures(db: Session, district: District, period: Period, now: datetime) -> list[RoadFigures]:
    start, end = period.start, period.end
    place = find_place(db, district, "district", None)
    bays, stays = load_place(db, district.id, None, start, end)
    zone = ZoneInfo(district.time_zone)
    hours = local_hours(start, min(end, floor_to_local_hour(now, zone)), zone)  # whole past hours
    folded = (
        None
        if not hours
        else fold(
            bays,
            hours,
            stays,
            load_watch(db, district.id, place, end),
            now,
        )
    )
    rows: dict[int, list[int]] = defaultdict(list)
    for row, bay in enumerate(bays):
        if bay.in_service:
            rows[bay.road_id].append(row)
    withdrawn = and_(Violation.ended_at.is_not(None), Violation.ended_at <= Violation.started_at)
    violations: dict[int, int] = {
        road: count
        for road, count in db.execute(
            select(Violation.road_id, func.count())
            .where(
                Violation.district_id == district.id,
                Violation.started_at >= start,
                Violation.started_at < end,
                not_(withdrawn),
            )
            .group_by(Violation.road_id)
        )
    }
    fees = {
        road: (int(billed or 0), int(paid or 0))
        for road, billed, paid in db.execute(
            select(Stay.road_id, func.sum(StayFee.amount), func.sum(StayFee.paid))
            .join(Stay, Stay.id == StayFee.stay_id)
            .where(
                Stay.district_id == district.id,
                Stay.started_at < end,  # implied; narrows the scan by the (district, started) index
                ended_within(start, end),
            )
            .group_by(Stay.road_id)
        )
    }
    out = []
    for road_id, uuid, name in db.execute(
        select(Road.id, Road.uuid, Road.name).where(Road.district_id == district.id)
    ):
        billed, paid = fees.get(road_id, (0, 0))
        mine = rows.get(road_id, [])
        out.append(
            RoadFigures(
                road_id,
                uuid,
                name,
                violations.get(road_id, 0),
                billed,
                paid,
                round(paid / billed, 4) if billed else None,
                occupancy_percent(len(mine), hour_sums(folded, mine, mine)) if mine and folded else None,
            )
        )
    return out


def road_occupancy(
    db: Session, district: District, place: Place, period: Period, now: datetime
) -> list[dict[str, Any]]:
    """The place's roads with their outline and occupancy over the period (null: no watched
    time), from the same per-road fold as the top-problems ranking."""
    ranked = top_problems(db, district, period, now, _EVERY_ROAD).highest_occupancy
    occupancy = {road.road_id: road.occupancy_percent for road in ranked}
    rows = db.execute(
        select(Road.id, Road.name, Road.geometry).where(Road.id.in_(place.road_ids)).order_by(Road.name)
    )
    return [{"name": n, "occupancy_percent": occupancy.get(i), "geometry": g} for i, n, g in rows]
