"""The use case behind the CDS event list (`GET /cds/<district>/events/events`): one window's
events, logged ones (`sensors.log`) and those derived from violations and citations
(`enforcement.cds`), newest first, one page of them, optionally at one space, zone or area.

Plates (docs/PRIVACY.md, "Plates in staff listings"): a role that does not read plates gets the
events without them; a page that carries plates to a role that does is put on the audit log
(`audit_plate_listing`), committed before the answer leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.cds import enforcement_events
from enforcement.lookup_services import audit_plate_listing
from enforcement.models_warden import EVENT_LIST
from identity.models import StaffToken
from parking.models import Area, Bay, District, Road
from sensors.log import payload_of, select_payloads
from sensors.models import CurbEvent

# The fields of a CDS event that identify a vehicle.
CDS_PLATE_FIELDS = ("vehicle_license_plate", "vehicle_license_plate_confidence")


@dataclass(frozen=True)
class EventFilter:
    """An hour's window and, optionally, one space, zone or area (by uuid)."""

    since: datetime
    until: datetime
    space: str | None = None
    zone: str | None = None
    area: str | None = None


@dataclass(frozen=True)
class EventPage:
    items: list[dict[str, Any]]
    total: int


def without_cds_plates(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key not in CDS_PLATE_FIELDS}


def list_events_as(
    db: Session,
    district: District,
    staff: StaffToken,
    reads_plates: bool,
    where: EventFilter,
    page: int,
    size: int,
    query: str,
    now: datetime,
) -> EventPage:
    """One page of the window's events, newest first, and how many there are in all.
    `query` (the request's query string) is what the audit row records of the search."""
    window = (
        CurbEvent.district_id == district.id,
        CurbEvent.event_time >= where.since,
        CurbEvent.event_time < where.until,
    )
    counted = _at_place(select(CurbEvent.id).where(*window), district.id, where)
    logged_query = _at_place(select_payloads().where(*window), district.id, where)
    # Violation and citation events are derived from their own tables when read, not logged.
    derived = enforcement_events(
        db, district, where.since, where.until, space=where.space, zone=where.zone, area=where.area
    )
    total = (db.scalar(select(func.count()).select_from(counted.subquery())) or 0) + len(derived)
    ordered = logged_query.order_by(CurbEvent.event_time.desc(), CurbEvent.id.desc()).limit(page * size)
    logged = [(row.event_time, payload_of(row)) for row in db.execute(ordered)]
    merged = sorted([*logged, *derived], key=lambda event: event[0], reverse=True)
    items = [payload for _, payload in merged[(page - 1) * size : page * size]]
    if not reads_plates:
        items = [without_cds_plates(item) for item in items]
    elif any(item.get("vehicle_license_plate") for item in items):
        plates = len({item["vehicle_license_plate"] for item in items if item.get("vehicle_license_plate")})
        summary = {"query": query[:300], "events": len(items), "plates": plates}
        audit_plate_listing(db, district, staff, EVENT_LIST, summary, now)
    return EventPage(items, total)


def _at_place(query: Any, district_id: int, where: EventFilter) -> Any:
    if where.space:
        query = query.where(CurbEvent.bay_id.in_(select(Bay.id).where(Bay.uuid == where.space)))
    if where.zone:
        query = query.where(CurbEvent.road_id.in_(select(Road.id).where(Road.uuid == where.zone)))
    if where.area:
        area_roads = (
            select(Road.id)
            .join(Area, Area.id == Road.area_id)
            .where(Area.uuid == where.area, Area.district_id == district_id)
        )
        query = query.where(CurbEvent.road_id.in_(area_roads))
    return query
