"""Devices: registering them, their tokens, and what each may report on."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, exists, false, insert, select, true
from sqlalchemy.orm import Session

from identity.tokens import hash_token, new_token
from parking.errors import ConflictError, DomainError, InvalidInputError, NotFoundError
from parking.models import Bay, District, Road
from sensors.models import (
    DATA_FEED,
    DEVICE_KINDS,
    HANDHELD_POS,
    PATROL_CAR,
    VIDEO_STAKE,
    Device,
    device_bay,
    device_road,
)


class UnknownBayError(NotFoundError):
    code = "unknown_bay"


class InvalidDeviceError(InvalidInputError):
    code = "invalid_device"


class UnknownDeviceError(NotFoundError):
    code = "unknown_device"


class DeviceRevokedError(ConflictError):
    code = "device_revoked"


class DeviceDecommissionedError(DomainError):
    """A push whose device was decommissioned after its token was read: refused whole, as
    its token now is."""

    code = "unauthorized"
    status = 401


@dataclass(frozen=True)
class NewDevice:
    device: Device
    token: str


def create_device(
    db: Session,
    district: District,
    kind: str,
    now: datetime,
    *,
    name: str | None = None,
    bay_names: list[str] | None = None,
    road_names: list[str] | None = None,
    token: str | None = None,
) -> NewDevice:
    """Register a device and return it with its bearer token, shown this once only.

    A video stake covers one to four bays; a handheld POS covers a beat of roads;
    a data feed covers the whole district. `token` is for the demo district only, whose
    tokens are published; everywhere else a random one is drawn.
    """
    if kind not in DEVICE_KINDS:
        raise InvalidDeviceError(f"kind must be one of {', '.join(DEVICE_KINDS)}", ["kind"])
    bay_names, road_names = bay_names or [], road_names or []
    if kind == VIDEO_STAKE and not 1 <= len(bay_names) <= 4:
        raise InvalidDeviceError("a video stake covers one to four bays", ["bays"])
    if kind == HANDHELD_POS and not road_names:
        raise InvalidDeviceError("a handheld POS needs a beat of one or more roads", ["roads"])
    if kind in (DATA_FEED, PATROL_CAR) and (bay_names or road_names):
        raise InvalidDeviceError(f"a {kind.replace('_', ' ')} covers its whole district", ["bays", "roads"])
    bay_ids = _ids_by_name(db, Bay, district.id, bay_names, "bay")
    road_ids = _ids_by_name(db, Road, district.id, road_names, "road")

    token = token or new_token("")
    device = Device(
        district_id=district.id,
        kind=kind,
        name=name or f"{kind}-{secrets.token_hex(3)}",
        token_hash=hash_token(token),
        created_at=now,
        online=True,
    )
    db.add(device)
    db.flush()
    if bay_ids:
        db.execute(insert(device_bay), [{"device_id": device.id, "bay_id": b} for b in bay_ids])
    if road_ids:
        db.execute(insert(device_road), [{"device_id": device.id, "road_id": r} for r in road_ids])
    return NewDevice(device, token)


def _ids_by_name(
    db: Session, model: type[Bay] | type[Road], district_id: int, names: list[str], what: str
) -> list[int]:
    if not names:
        return []
    rows = db.execute(
        select(model.name, model.id).where(model.district_id == district_id, model.name.in_(names))
    )
    found = {name: row_id for name, row_id in rows}
    missing = [n for n in names if n not in found]
    if missing:
        raise UnknownBayError(f"no {what} named {', '.join(missing)} in this district", missing)
    return [found[n] for n in names]


def device_names(db: Session, device_ids: Iterable[int | None]) -> dict[int, str]:
    """Names of devices (a POS terminal on a receipt or in a reconciliation) by id."""
    ids = {i for i in device_ids if i is not None}
    if not ids:
        return {}
    rows = db.execute(select(Device.id, Device.name).where(Device.id.in_(ids)))
    return {int(device_id): str(name) for device_id, name in rows}


# Built once: every request a device makes runs one (building a statement costs more CPU
# than SQLite takes to run it).
_BY_TOKEN = select(Device).where(Device.token_hash == bindparam("digest"))
_BY_PREVIOUS_TOKEN = select(Device).where(Device.previous_token_hash == bindparam("digest"))


def device_for_token(db: Session, district_id: int, token: str, now: datetime) -> Device | None:
    """The device a bearer token belongs to, if it belongs to this district and was not
    decommissioned: its current token, or the one its own last rotation replaced while that
    one's grace period lasts."""
    digest = hash_token(token)
    device = db.scalars(_BY_TOKEN, {"digest": digest}).first()
    if device is None:  # the common case is answered by one indexed lookup above
        device = db.scalars(_BY_PREVIOUS_TOKEN, {"digest": digest}).first()
        if device is not None and not _in_grace(device, now):
            return None
    if device is None or device.district_id != district_id or device.revoked_at is not None:
        return None
    return device


def _in_grace(device: Device, now: datetime) -> bool:
    expires = device.previous_token_expires_at
    return expires is not None and now < expires


def find_device(db: Session, district: District, device_uuid: str) -> Device:
    """A device of the district by its CDS data_source_device_id."""
    device = db.scalars(
        select(Device).where(Device.district_id == district.id, Device.uuid == device_uuid)
    ).first()
    if device is None:
        raise UnknownDeviceError(f"no device {device_uuid} in {district.slug}", ["device"])
    return device


def rotate_device_token(
    db: Session, device: Device, now: datetime, grace: timedelta, used_token: str | None = None
) -> str:
    """A new token for the device, returned this once only, when the device rotates its own
    (`used_token`, the token it called with). The token it replaces keeps working for
    `grace`, so the device switches over without a refused push. A device that rotates with
    its previous token (the answer of its last rotation never reached it) keeps that one,
    with its grace unchanged, and the token it never saw is dropped."""
    if device.revoked_at is not None:
        raise DeviceRevokedError("the device was decommissioned", ["device"])
    assert used_token is not None, "an admin rotation is reset_device_token"
    kept_previous = device.previous_token_hash == hash_token(used_token) and _in_grace(device, now)
    if not kept_previous:
        device.previous_token_hash = device.token_hash
        device.previous_token_expires_at = now + grace
    return _new_token(db, device)


def reset_device_token(db: Session, device: Device) -> str:
    """An admin's rotation, the answer to a leaked token: a new token, returned this once
    only, and every earlier token ends at once. No grace is left that a holder of the old
    token could use to rotate again (the lost-answer recovery is only for the device's own
    rotation)."""
    if device.revoked_at is not None:
        raise DeviceRevokedError("the device was decommissioned", ["device"])
    device.previous_token_hash = None
    device.previous_token_expires_at = None
    return _new_token(db, device)


def revoke_device(db: Session, device: Device, now: datetime) -> Device:
    """Decommission a device: none of its tokens works from now on; revoking again changes
    nothing. Its events and history stay; it counts as offline (no bay is free on its word)
    but raises no repair task."""
    if device.revoked_at is None:
        device.revoked_at = now
        device.previous_token_hash = None
        device.previous_token_expires_at = None
        device.online, device.offline_reason, device.status_changed_at = False, "revoked", now
        db.flush()
    return device


def _new_token(db: Session, device: Device) -> str:
    token = new_token("")
    device.token_hash = hash_token(token)
    db.flush()
    return token


def covers(kind: str) -> ColumnElement[bool]:
    """Whether a device of `kind` may report on a bay, as a SQL condition on the bay's row (the
    device's id is the parameter `device_id`): a data feed every bay of its district, a stake
    the bays it sees, a handheld POS the bays of its roads, a patrol car none."""
    if kind == DATA_FEED:
        return true()
    if kind == PATROL_CAR:
        return false()
    if kind == VIDEO_STAKE:
        return exists().where(device_bay.c.device_id == bindparam("device_id"), device_bay.c.bay_id == Bay.id)
    return exists().where(
        device_road.c.device_id == bindparam("device_id"), device_road.c.road_id == Bay.road_id
    )
