"""Who is calling: the Bearer token of a staff member or a device, checked against the access
matrix (api/access.py); and the clock the app was given."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, request
from sqlalchemy.orm import Session

from api.access import DEVICE, PATROL, require_allowed
from api.errors import ApiError
from identity.models import StaffToken
from identity.staff import staff_for_token
from parking.models import District
from sensors.devices import device_for_token
from sensors.models import PATROL_CAR, Device


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "a Bearer token is required", ["Authorization"])
    return token.strip()


def require_staff(db: Session, district: District) -> StaffToken:
    """The district's staff member behind the Bearer token (401 otherwise), if the access
    matrix (api/access.py) lets their role call this endpoint (403 otherwise)."""
    # Unknown: 401 `unauthorized`; revoked, expired or account disabled: 401 `invalid_token`.
    staff = staff_for_token(db, district.id, bearer_token(), clock_now())
    if staff is None:
        raise ApiError(401, "unauthorized", "the token is unknown, revoked or for another district")
    require_allowed(staff.role)
    return staff


def require_device(db: Session, district: District) -> Device:
    """The district's device behind the Bearer token (401 otherwise), if the access matrix
    lets devices call this endpoint (403 otherwise)."""
    device = device_for_token(db, district.id, bearer_token(), clock_now())
    if device is None:
        raise ApiError(401, "unauthorized", "the device token is unknown or for another district")
    require_allowed(PATROL if device.kind == PATROL_CAR else DEVICE)
    return device


def clock_now() -> datetime:
    now: datetime = current_app.extensions["parking.clock"].now()
    return now
