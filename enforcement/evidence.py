"""The evidence behind a stay's fee or a citation, as a driver contesting it sees it: each
event (which device, what kind, when, the plate read and its confidence, who registered it
by hand), the tariff version and the fee's breakdown, and the photos taken at the curb."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import StayFee, TariffVersion
from enforcement.citations import citation_history, find_citation
from enforcement.models import Citation, Task, Violation
from enforcement.models_warden import TaskPhoto
from parking.errors import NotFoundError
from parking.models import Bay, District, Road, Stay
from sensors.models import CurbEvent, Device


class UnknownStayEvidenceError(NotFoundError):
    code = "unknown_stay"


def stay_evidence(db: Session, district: District, stay_uuid: str) -> dict[str, Any]:
    """The stay, its events oldest first, its fee and tariff version, and its citations."""
    stay = db.scalar(select(Stay).where(Stay.district_id == district.id, Stay.uuid == stay_uuid))
    if stay is None:
        raise UnknownStayEvidenceError(f"no stay {stay_uuid} in {district.slug}")
    return _stay(db, stay)


def citation_evidence(db: Session, district: District, citation_uuid: str) -> dict[str, Any]:
    """The citation, its violation, its audit trail, its photo (the task id serving it), and
    the evidence of its stay while the stay exists (late events may re-derive it away)."""
    citation = find_citation(db, district, citation_uuid)
    violation = db.get_one(Violation, citation.violation_id)
    stay = db.get(Stay, violation.stay_id)
    return {
        "citation": citation.uuid,
        "status": citation.status,
        "amount": citation.amount,
        "currency": citation.currency,
        "issued_by": citation.issued_by,
        "issued_at": citation.issued_at,
        "rule": violation.rule,
        "violation_started_at": violation.started_at,
        "violation_ended_at": violation.ended_at,
        "violation_evidence": violation.evidence,
        "photo_tasks": photo_tasks(db, citation),
        "history": [
            {"status": c.to_status, "by": c.changed_by, "at": c.changed_at, "reason": c.reason}
            for c in citation_history(db, citation)
        ],
        "stay": _stay(db, stay) if stay is not None else None,
    }


def photo_tasks(db: Session, citation: Citation) -> list[str]:
    """The tasks of the citation's violation that have a photo (ids, oldest first)."""
    return list(
        db.scalars(
            select(Task.uuid)
            .join(TaskPhoto, TaskPhoto.task_id == Task.id)
            .where(Task.violation_id == citation.violation_id)
            .order_by(TaskPhoto.uploaded_at)
        )
    )


def citation_photo(db: Session, district: District, citation_uuid: str, task_uuid: str) -> TaskPhoto | None:
    """A photo of the citation's violation, by its task id; None when it is not one."""
    citation = find_citation(db, district, citation_uuid)
    return db.scalar(
        select(TaskPhoto)
        .join(Task, Task.id == TaskPhoto.task_id)
        .where(Task.uuid == task_uuid, Task.violation_id == citation.violation_id)
    )


def _stay(db: Session, stay: Stay) -> dict[str, Any]:
    bay, road = db.get_one(Bay, stay.bay_id), db.get_one(Road, stay.road_id)
    fee = db.get(StayFee, stay.id)
    version = db.get(TariffVersion, fee.tariff_version_id) if fee is not None else None
    citations = db.scalars(
        select(Citation.uuid)
        .join(Violation, Violation.id == Citation.violation_id)
        .where(Violation.stay_id == stay.id, Violation.district_id == stay.district_id)
    )
    return {
        "stay": stay.uuid,
        "bay": bay.name,
        "road": road.name,
        "plate": stay.plate,
        "started_at": stay.started_at,
        "ended_at": stay.ended_at,
        "events": _events(db, stay),
        "fee": None
        if fee is None
        else {"amount": fee.amount, "paid": fee.paid, "status": fee.status, "breakdown": fee.breakdown},
        "tariff": None
        if version is None
        else {"code": version.code, "version": version.version, "effective_from": version.effective_from},
        "currency": fee.currency if fee is not None else None,
        "citations": list(citations),
    }


def _events(db: Session, stay: Stay) -> list[dict[str, Any]]:
    rows = db.execute(
        select(CurbEvent, Device.name, Device.kind)
        .join(Device, Device.id == CurbEvent.device_id)
        .where(CurbEvent.district_id == stay.district_id, CurbEvent.event_id.in_(stay.event_ids))
        .order_by(CurbEvent.event_time, CurbEvent.id)
    )
    return [
        {
            "event_id": event.event_id,
            "kind": event.event_type,
            "at": event.event_time,
            "device": name,
            "device_kind": kind,
            "source": event.data_source_type,
            "plate": event.plate,
            "confidence": event.plate_confidence,
            "registered_by": ((event.extra or {}).get("custom_attributes") or {}).get("registered_by"),
        }
        for event, name, kind in rows
    ]
