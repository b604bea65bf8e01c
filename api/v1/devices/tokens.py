"""Native device API: a device checks its own token and learns its id and district zone; a
device rotates its own token without downtime; an admin resets a device's token (the old one
ends at once) or decommissions the device.

The HTTP shell of POST /api/v1/<district>/device/rotate-token,
POST /api/v1/<district>/devices/<device_id>/revoke,
POST /api/v1/<district>/devices/<device_id>/rotate-token, GET /api/v1/<district>/devices/me:
each view parses, calls the domain, writes the answer."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, jsonify

from api.auth import bearer_token, clock_now, require_staff
from api.database import get_db
from api.errors import ApiError
from api.openapi import documented
from api.schemas import DeviceOut
from api.v1.schemas.staff import RevokedDeviceOut, RotatedTokenOut
from parking.inventory import get_district
from parking.unit_of_work import writing
from sensors.devices import (
    device_for_token,
    find_device,
    reset_device_token,
    revoke_device,
    rotate_device_token,
)
from sensors.models import Device

bp = Blueprint("devices", __name__, url_prefix="/api/v1/<district>")


@bp.get("/devices/me")
@documented("Who this device token belongs to", DeviceOut, auth="device")
def me(district: str) -> Response:
    """Who this device token belongs to."""
    db = get_db()
    place = get_district(db, district)
    device = device_for_token(db, place.id, bearer_token(), clock_now())
    if device is None:
        raise ApiError(401, "unauthorized", "the device token is unknown or for another district")
    return jsonify(
        DeviceOut().dump(
            {
                "data_source_device_id": device.uuid,
                "kind": device.kind,
                "name": device.name,
                "online": device.online,
                "district": place.slug,
                "time_zone": place.time_zone,
            }
        )
    )


@bp.post("/devices/<device_id>/rotate-token")
@documented(
    "Rotate a device's token (admin), the answer to a leak: the new one is shown once; every "
    "earlier token ends at once",
    RotatedTokenOut,
    errors=(401, 403, 404, 409),
)
def rotate_token(district: str, device_id: str) -> Response:
    with writing(get_db()) as db:
        place = get_district(db, district)
        require_staff(db, place)
        device = find_device(db, place, device_id)
        token = reset_device_token(db, device)
    return _rotated(device, token)


@bp.post("/devices/<device_id>/revoke")
@documented(
    "Decommission a device (admin): none of its tokens works any more; revoking again changes nothing",
    RevokedDeviceOut,
    errors=(401, 403, 404),
)
def revoke(district: str, device_id: str) -> Response:
    with writing(get_db()) as db:
        place = get_district(db, district)
        require_staff(db, place)
        device = revoke_device(db, find_device(db, place, device_id), clock_now())
    out = {"data_source_device_id": device.uuid, "name": device.name, "revoked_at": device.revoked_at}
    return jsonify(RevokedDeviceOut().dump(out))


@bp.post("/device/rotate-token")
@documented(
    "Rotate my own device token: the new one is shown once; the one I called with works for "
    "DEVICE_TOKEN_GRACE_HOURS more",
    RotatedTokenOut,
    auth="device",
    errors=(401, 404),
)
def rotate_own_token(district: str) -> Response:
    """Calling again with the previous token (the answer never arrived) keeps that token
    and its grace period, and replaces the new token it never received. Only a token the
    device's own rotation replaced has a grace period: an admin's rotation leaves none."""
    with writing(get_db()) as db:
        place = get_district(db, district)
        presented = bearer_token()
        now = clock_now()
        device = device_for_token(db, place.id, presented, now)
        if device is None:
            raise ApiError(401, "unauthorized", "the device token is unknown or for another district")
        token = rotate_device_token(db, device, now, _grace(), used_token=presented)
    return _rotated(device, token)


def _grace() -> timedelta:
    return timedelta(hours=current_app.config["DEVICE_TOKEN_GRACE_HOURS"])


def _rotated(device: Device, token: str) -> Response:
    out = {
        "data_source_device_id": device.uuid,
        "token": token,
        "previous_token_expires_at": device.previous_token_expires_at,
    }
    response = jsonify(RotatedTokenOut().dump(out))
    response.headers["Cache-Control"] = "no-store"
    return response
