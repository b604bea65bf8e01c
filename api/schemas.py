"""Marshmallow schemas of the native API: what a request may carry and what it answers."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

# The calendar days a report or a ledger may ask about: beyond them, the day before or the
# period after steps out of Python's calendar (year 1 to 9999).
CALENDAR_DAYS = validate.Range(
    min=date(2000, 1, 1), max=date(2099, 12, 31), error="give a date from 2000-01-01 to 2099-12-31"
)


class QuerySchema(Schema):
    """The base of every query schema: unknown parameters are refused (`invalid_parameters`),
    except `lang`, which any GET may carry to choose the language of its answer
    (api/i18n.py reads it; docs/I18N.md)."""

    @pre_load
    def _without_lang(self, data: Any, **_: Any) -> Any:
        if hasattr(data, "copy") and "lang" in data:
            data = data.copy()
            data.pop("lang")
        return data


class AwareDateTime(fields.DateTime):
    """An ISO 8601 time that must carry its offset; comes out in UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None:
            raise ValidationError("give a time with its UTC offset, e.g. 2026-01-01T08:00:00+08:00")
        try:
            return result.astimezone(UTC)
        except OverflowError:
            raise ValidationError("the time is outside the calendar") from None


class StayQuery(QuerySchema):
    road = fields.String(validate=validate.Length(min=1, max=300))
    bay = fields.String(validate=validate.Length(min=1, max=64))
    plate = fields.String(validate=validate.Length(min=2, max=20))
    since = AwareDateTime()
    until = AwareDateTime()
    open = fields.Boolean()
    page = fields.Integer(strict=False, load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(strict=False, load_default=100, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _window(self, data: dict[str, Any], **_: Any) -> None:
        if "since" in data and "until" in data and data["since"] > data["until"]:
            raise ValidationError("since is after until", "since")


class StayOut(Schema):
    id = fields.String(attribute="uuid")
    bay = fields.String()
    road = fields.String()
    plate = fields.String(allow_none=True)
    plate_confidence = fields.Integer(allow_none=True)
    plate_source = fields.String(allow_none=True)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    ended_by = fields.String(allow_none=True)
    duration_seconds = fields.Integer()
    sources = fields.List(fields.String())
    event_ids = fields.List(fields.String())


class StayPage(Schema):
    stays = fields.List(fields.Nested(StayOut))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class AnomalyCount(Schema):
    kind = fields.String()
    count = fields.Integer()


class AnomalyPage(Schema):
    anomalies = fields.List(fields.Nested(AnomalyCount))


class DeviceOut(Schema):
    data_source_device_id = fields.String()
    kind = fields.String()
    name = fields.String()
    online = fields.Boolean()
    district = fields.String()
    time_zone = fields.String()


class Problem(Schema):
    """RFC 9457 problem details, with this API's stable `code` and the fields at fault."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String()
    errors = fields.List(fields.String())
