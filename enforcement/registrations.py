"""A registration typed in at the curb by a warden or attendant: the handheld POS it goes
through, and the in-person CDS event it stands for, built from the request alone (and, for a
resend without a time, the first upload's time) so a resend is recognised as one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.clock import to_ms
from parking.errors import N_, DomainError, InvalidInputError, Message
from parking.models import Bay, District
from parking.plate_rules import accept_plate
from sensors.devices import UnknownDeviceError
from sensors.intake import ItemFailure
from sensors.models import HANDHELD_POS, CurbEvent, Device

EVENT_OF_KIND = {
    "arrival": "park_start",
    "plate": "vehicle_detected",
    "departure": "park_end",
    "payment": "vehicle_detected",  # with the CDS payment fields, as a POS reports cash or QR
}
CDS_PAYMENT_METHOD = {"cash": "cash", "qr": "digital_wallet"}


class DeviceNotPosError(DomainError):
    code = "device_not_pos"
    status = 422


class RegistrationTooOldError(DomainError):
    code = "event_too_old"
    status = 422


class PlateRequiredError(InvalidInputError):
    code = "plate_required"


class PaymentRequiredError(InvalidInputError):
    code = "payment_required"


class RegistrationRefusedError(DomainError):
    """The intake refused the event; the code is the intake's (e.g. `bay_not_covered`), an
    item code of the registry like the class's own."""

    code = "invalid_event"
    status = 422

    def __init__(self, failure: ItemFailure) -> None:
        super().__init__(failure.text or failure.description, failure.details)
        self.code = failure.error


@dataclass(frozen=True)
class Registration:
    """What was typed in: `kind` is a key of EVENT_OF_KIND; `at` None means now (or, on a
    resend, the first upload's time); `amount` in minor units and `method` for a payment."""

    client_id: str
    bay: str
    device: str
    kind: str
    plate: str | None = None
    at: datetime | None = None
    amount: int | None = None
    method: str | None = None


def pos_device(db: Session, district: District, device_uuid: str) -> Device:
    """The district's handheld POS a registration goes through."""
    device = db.scalar(select(Device).where(Device.district_id == district.id, Device.uuid == device_uuid))
    if device is None:
        missing = Message(
            N_("no device %(device)s in %(district)s"), {"device": device_uuid, "district": district.slug}
        )
        raise UnknownDeviceError(missing, ["device"])
    if device.kind != HANDHELD_POS:
        raise DeviceNotPosError(N_("registrations go through a handheld POS"), ["device"])
    return device


def bay_road(db: Session, district: District, bay_uuid: str) -> int | None:
    """The road of a bay, None for an unknown bay (left to the intake to refuse)."""
    return db.scalar(select(Bay.road_id).where(Bay.district_id == district.id, Bay.uuid == bay_uuid))


def registration_event(
    db: Session,
    district: District,
    registration: Registration,
    device: Device,
    staff_name: str,
    now: datetime,
) -> dict[str, Any]:
    """The CDS event the POS would push for this registration."""
    at = registration.at
    if at is None:
        stored = select(CurbEvent.event_time).where(
            CurbEvent.district_id == district.id, CurbEvent.event_id == registration.client_id
        )
        at = db.scalar(stored) or now
    event: dict[str, Any] = {
        "event_id": registration.client_id,
        "event_type": EVENT_OF_KIND[registration.kind],
        "event_time": to_ms(at),
        "event_publication_time": to_ms(at),
        "curb_space_id": registration.bay,
        "data_source_type": "in_person",
        "data_source_device_id": device.uuid,
        "custom_attributes": {"registered_by": staff_name},
    }
    plate = (registration.plate or "").strip()
    if registration.kind == "plate" and not plate:
        raise PlateRequiredError(N_("a plate registration needs the plate"), ["plate"])
    if registration.kind == "payment":
        if registration.amount is None or registration.method is None:
            raise PaymentRequiredError(N_("a payment needs its amount and method"), ["amount", "method"])
        event["actual_cost"] = registration.amount
        event["payment_method"] = CDS_PAYMENT_METHOD[registration.method]
        event["payment_transaction_id"] = f"{device.name}-{registration.client_id[:8]}"
    if plate:
        event["vehicle_license_plate"] = accept_plate(district.plate_rule, plate)
    return event
