"""Violations and citations as CDS curb events, derived when read.

They are not written into the event log: that log holds what devices reported, and every
row of it names the device that sent it. The violation and citation tables are already the
record; these events are a view of them with stable ids (`uuid5` of the row and the event
type), so reading the same hour twice gives the same events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from enforcement.models import Citation, Violation
from parking.clock import to_ms
from parking.models import Area, Bay, District, Road

_NAMESPACE = uuid.UUID("5b7f0e52-3f0c-4c47-9d1e-0d6c8a1e4b11")
RULE_NAMES = {
    "overstay": "Stayed longer than the maximum stay",
    "restriction": "Parked or stopped during a restriction",
    "unregistered": "Parked without a registered plate",
    "obstruction": "Bay obstructed by a non-vehicle occupant",
}


def enforcement_source_id(district: District) -> str:
    """The `data_source_device_id` of events the enforcement system itself produces."""
    return str(uuid.uuid5(_NAMESPACE, f"enforcement:{district.slug}"))


def enforcement_events(
    db: Session,
    district: District,
    since: datetime,
    until: datetime,
    *,
    space: str | None = None,
    zone: str | None = None,
    area: str | None = None,
) -> list[tuple[datetime, dict[str, Any]]]:
    """`vehicle_violation_start`, `vehicle_violation_end` and `citation_issued` events with an
    event time in [since, until), optionally at one space, zone or area; newest first."""
    source = enforcement_source_id(district)
    in_window = or_(
        and_(Violation.started_at >= since, Violation.started_at < until),
        and_(Violation.ended_at >= since, Violation.ended_at < until),
    )
    events: list[tuple[datetime, dict[str, Any]]] = []
    violations = _placed(select(Violation, Bay.uuid, Road.uuid, Area.uuid), space, zone, area)
    for violation, bay, road, area_id in db.execute(
        violations.where(Violation.district_id == district.id, in_window)
    ):
        base = _base(source, "other", violation.plate, bay, road, area_id)
        enforcement = {"enforcement_id": violation.uuid, "violations": [_violation(violation.rule)]}
        if since <= violation.started_at < until:
            event = _event(
                base, violation.uuid, "vehicle_violation_start", violation.started_at, violation.detected_at
            )
            events.append((violation.started_at, event | {"enforcement": enforcement}))
        if violation.ended_at is not None and since <= violation.ended_at < until:
            published = max(violation.ended_at, violation.detected_at)
            event = _event(base, violation.uuid, "vehicle_violation_end", violation.ended_at, published)
            events.append((violation.ended_at, event | {"enforcement": enforcement}))
    citations = _placed(select(Citation, Violation, Bay.uuid, Road.uuid, Area.uuid), space, zone, area)
    citations = citations.join(Citation, Citation.violation_id == Violation.id).where(
        Citation.district_id == district.id, Citation.issued_at >= since, Citation.issued_at < until
    )
    for citation, violation, bay, road, area_id in db.execute(citations):
        cost = str(citation.amount)
        enforcement = {
            "enforcement_id": violation.uuid,
            "citation_id": citation.uuid,
            "is_warning": False,
            "action_taken": "citation_registered",
            "citation_cost": cost,
            "violations": [_violation(violation.rule) | {"violation_cost": cost}],
        }
        base = _base(source, "in_person", citation.plate, bay, road, area_id)
        event = _event(base, citation.uuid, "citation_issued", citation.issued_at, citation.issued_at)
        events.append((citation.issued_at, event | {"enforcement": enforcement}))
    events.sort(key=lambda e: e[0], reverse=True)
    return events


def _placed(query: Any, space: str | None, zone: str | None, area: str | None) -> Any:
    query = (
        query.select_from(Violation)
        .join(Bay, Bay.id == Violation.bay_id)
        .join(Road, Road.id == Violation.road_id)
        .outerjoin(Area, Area.id == Road.area_id)
    )
    if space:
        query = query.where(Bay.uuid == space)
    if zone:
        query = query.where(Road.uuid == zone)
    if area:
        query = query.where(Area.uuid == area)
    return query


def _base(
    source: str, source_type: str, plate: str | None, bay: str, road: str, area: str | None
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "curb_zone_id": road,
        "curb_space_id": bay,
        "data_source_type": source_type,
        "data_source_device_id": source,
    }
    if area is not None:
        base["curb_area_ids"] = [area]
    if plate is not None:
        base["vehicle_license_plate"] = plate
    return base


def _event(
    base: dict[str, Any], row_uuid: str, event_type: str, at: datetime, published: datetime
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid5(_NAMESPACE, f"{row_uuid}:{event_type}")),
        "event_type": event_type,
        "event_time": to_ms(at),
        "event_publication_time": to_ms(published),
        **base,
    }


def _violation(rule: str) -> dict[str, str]:
    return {"violation_code": rule, "violation_name": RULE_NAMES.get(rule, rule)}
