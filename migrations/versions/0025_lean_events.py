"""A lean event log: the sent CDS JSON is no longer stored whole beside the columns that
already hold most of it. `curb_event.payload` becomes `sent_fields` (bits: which sent fields
the columns, the device's name and uuid and the bay's uuid and point give back exactly),
`extra` (the rest, as sent) and `published_ms` (event_publication_time); every event's JSON
is the same before and after (sensors/event_payload.py, issue 17 item 5).

The split is written out here rather than imported, so this revision does what it did when
it was written whatever the code becomes.

Revision ID: 0025_lean_events
Revises: 0024_district_tiles
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0025_lean_events"
down_revision = "0024_district_tiles"
branch_labels = None
depends_on = None

_CHUNK = 5000
_DERIVED = (  # sensors/event_payload.py DERIVED, in bit order
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    with op.batch_alter_table("curb_event") as batch:
        batch.add_column(sa.Column("published_ms", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("sent_fields", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("extra", sa.JSON(none_as_null=True), nullable=True))
    bind = op.get_bind()
    event = _event_table(with_payload=True)
    update = (
        event.update()
        .where(event.c.id == sa.bindparam("row_id"))
        .values(
            published_ms=sa.bindparam("published"),
            sent_fields=sa.bindparam("fields"),
            extra=sa.bindparam("rest"),
        )
    )
    for rows in _chunks(bind, event, event.c.payload):
        changes = []
        for row in rows:
            payload = _loaded(row.payload)
            derived = _derived(row)
            published = payload.get("event_publication_time")
            published = published if isinstance(published, int) and not isinstance(published, bool) else None
            derived["event_publication_time"] = published
            fields, rest = _split(payload, derived)
            changes.append({"row_id": row.id, "published": published, "fields": fields, "rest": rest})
        if changes:
            bind.execute(update, changes)
    with op.batch_alter_table("curb_event") as batch:
        batch.alter_column("sent_fields", existing_type=sa.SmallInteger(), server_default=None)
        batch.drop_column("payload")


def downgrade() -> None:
    with op.batch_alter_table("curb_event") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    bind = op.get_bind()
    event = _event_table(with_payload=False)
    update = event.update().where(event.c.id == sa.bindparam("row_id")).values(payload=sa.bindparam("whole"))
    for rows in _chunks(bind, event, event.c.published_ms, event.c.sent_fields, event.c.extra):
        changes = []
        for row in rows:
            derived = _derived(row)
            derived["event_publication_time"] = row.published_ms
            changes.append({"row_id": row.id, "whole": _joined(derived, row.sent_fields, _loaded(row.extra))})
        if changes:
            bind.execute(update, changes)
    with op.batch_alter_table("curb_event") as batch:
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("extra")
        batch.drop_column("sent_fields")
        batch.drop_column("published_ms")


def _event_table(with_payload: bool) -> sa.Table:
    columns = [
        sa.Column("id", sa.BigInteger()),
        sa.Column("event_id", sa.String()),
        sa.Column("event_type", sa.String()),
        sa.Column("event_time", sa.DateTime(timezone=True)),
        sa.Column("data_source_type", sa.String()),
        sa.Column("device_id", sa.Integer()),
        sa.Column("bay_id", sa.Integer()),
        sa.Column("road_id", sa.Integer()),
        sa.Column("session_id", sa.String()),
        sa.Column("plate", sa.String()),
        sa.Column("plate_confidence", sa.Integer()),
    ]
    if with_payload:
        columns.append(sa.Column("payload", sa.JSON()))
    columns += [
        sa.Column("published_ms", sa.BigInteger()),
        sa.Column("sent_fields", sa.SmallInteger()),
        sa.Column("extra", sa.JSON(none_as_null=True)),
    ]
    return sa.Table("curb_event", sa.MetaData(), *columns)


def _chunks(bind: Any, event: sa.Table, *more: Any) -> Any:
    """The events with their device's, bay's and road's CDS ids, in id order, a chunk at a time."""
    device = sa.table("device", sa.column("id"), sa.column("uuid"), sa.column("name"))
    bay = sa.table("bay", sa.column("id"), sa.column("uuid"), sa.column("lng"), sa.column("lat"))
    road = sa.table("road", sa.column("id"), sa.column("uuid"))
    c = event.c
    query = (
        sa.select(
            c.id,
            c.event_id,
            c.event_type,
            c.event_time,
            c.data_source_type,
            c.session_id,
            c.plate,
            c.plate_confidence,
            device.c.uuid.label("device_uuid"),
            device.c.name.label("device_name"),
            bay.c.uuid.label("space_uuid"),
            bay.c.lng.label("bay_lng"),
            bay.c.lat.label("bay_lat"),
            road.c.uuid.label("zone_uuid"),
            *more,
        )
        .join(device, device.c.id == c.device_id)
        .outerjoin(bay, bay.c.id == c.bay_id)
        .outerjoin(road, road.c.id == c.road_id)
        .order_by(c.id)
        .limit(_CHUNK)
    )
    last = None
    while True:
        rows = bind.execute(query if last is None else query.where(c.id > last)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _derived(row: Any) -> dict[str, Any]:
    at = row.event_time
    if isinstance(at, str):  # SQLite without the model's type: its stored text, UTC
        at = datetime.fromisoformat(at)
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    bay = row.space_uuid if row.space_uuid is not None else None
    return {
        "event_id": row.event_id,
        "event_type": row.event_type,
        "event_time": (at - _EPOCH) // timedelta(milliseconds=1),
        "data_source_type": row.data_source_type,
        "data_source_device_id": row.device_uuid,
        "curb_space_id": bay,
        "curb_zone_id": row.zone_uuid if bay is not None else None,
        "event_session_id": row.session_id,
        "vehicle_license_plate": row.plate,
        "vehicle_license_plate_confidence": row.plate_confidence,
        "data_source_device_name": row.device_name,
        "event_location": None
        if bay is None
        else {"type": "Point", "coordinates": [float(row.bay_lng), float(row.bay_lat)]},
    }


def _same(sent: Any, derived: Any) -> bool:
    return derived is not None and _exact(sent, derived)


def _exact(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_exact(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_exact(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _split(payload: dict[str, Any], derived: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    fields = 0
    extra = {}
    for name, value in payload.items():
        if name in derived and _same(value, derived[name]):
            fields |= 1 << _DERIVED.index(name)
        else:
            extra[name] = value
    return fields, extra or None


def _joined(derived: dict[str, Any], fields: int, extra: dict[str, Any] | None) -> dict[str, Any]:
    out = {
        name: derived[name]
        for i, name in enumerate(_DERIVED)
        if fields & (1 << i) and derived[name] is not None
    }
    out.update(extra or {})
    return out
