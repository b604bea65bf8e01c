"""A logged curb event's CDS JSON, kept lean: what the columns already hold is not stored twice.

The event log's columns hold the event's id, type, times, source, session, plate and
confidence, and point at its device and bay (whose CDS ids, name and point are theirs). The
JSON the device sent is split into the fields those columns give back exactly, noted as bits
of `sent_fields` (bit i: `DERIVED[i]` was sent and is the columns' value), and the rest (`extra`):
fields the columns do not hold (vehicle_type, custom_attributes, payment fields, ...), and any
field sent otherwise than the column holds it (an upper-case UUID, a plate before it was
normalised). Joining the two gives back the sent JSON, field for field (docs/OPERATIONS.md,
"The event log on disk"). This leans on a device's uuid and name and a bay's uuid and
point never changing once made (nothing in the system changes them; whatever comes to change
them must first write the old values into the `extra` of the events that relied on them).
Pure functions, no database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# The fields the columns can give, in bit order: append only (stored masks name them by place).
DERIVED = (
    "event_id",
    "event_type",
    "event_time",
    "event_publication_time",
    "data_source_type",
    "data_source_device_id",
    "curb_space_id",
    "curb_zone_id",
    "event_session_id",
    "vehicle_license_plate",
    "vehicle_license_plate_confidence",
    "data_source_device_name",
    "event_location",
)
_BIT = {name: 1 << i for i, name in enumerate(DERIVED)}


def derived_fields(
    *,
    event_id: str,
    event_type: str,
    event_time: datetime,
    published_ms: int | None,
    data_source_type: str,
    device_uuid: str,
    space_uuid: str | None,
    zone_uuid: str | None,
    session_id: str | None,
    plate: str | None,
    plate_confidence: int | None,
    device_name: str | None = None,
    bay_point: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """The CDS fields a logged event's columns give (None: the columns give nothing).
    `bay_point` (lng, lat) is the bay's: a stake reports its bay's point as the event's."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": exact_ms(event_time),
        "event_publication_time": published_ms,
        "data_source_type": data_source_type,
        "data_source_device_id": device_uuid,
        "curb_space_id": space_uuid,
        "curb_zone_id": zone_uuid,
        "event_session_id": session_id,
        "vehicle_license_plate": plate,
        "vehicle_license_plate_confidence": plate_confidence,
        "data_source_device_name": device_name,
        "event_location": None if bay_point is None else {"type": "Point", "coordinates": list(bay_point)},
    }


def split_payload(payload: dict[str, Any], derived: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """The bits of the sent fields the columns give back exactly, and the rest (None: nothing)."""
    fields = 0
    extra = {}
    for name, value in payload.items():
        bit = _BIT.get(name)
        if bit is not None and _same(value, derived[name]):
            fields |= bit
        else:
            extra[name] = value
    return fields, extra or None


def join_payload(derived: dict[str, Any], fields: int, extra: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON as the device sent it, from the columns' fields and the rest."""
    # A column emptied since (a plate erased after the retention) gives nothing back.
    out = {name: derived[name] for name, bit in _BIT.items() if fields & bit and derived[name] is not None}
    if extra:
        out.update(extra)
    return out


def exact_ms(at: datetime) -> int:
    """Milliseconds since the epoch, in integers (a float product can fall 1 ms short)."""
    return (at - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _same(sent: Any, derived: Any) -> bool:
    return derived is not None and _exact(sent, derived)


def _exact(a: Any, b: Any) -> bool:
    """Equal as JSON: types too (True == 1 and 1 == 1.0 in Python, not on the wire)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_exact(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_exact(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
