"""Native device API: a device checks its own token and learns its id and district zone."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api.cds import bearer_token
from api.database import get_db
from api.errors import ApiError
from api.openapi import documented
from api.schemas import DeviceOut
from parking.inventory import get_district
from sensors.devices import device_for_token

bp = Blueprint("devices", __name__, url_prefix="/api/v1/<district>/devices")


@bp.get("/me")
@documented("Who this device token belongs to", DeviceOut, auth="device")
def me(district: str) -> Response:
    """Who this device token belongs to."""
    db = get_db()
    place = get_district(db, district)
    device = device_for_token(db, place.id, bearer_token())
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
