"""Marshmallow schemas of street-order reports and case timings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import AwareDateTime, QuerySchema
from enforcement.street_reports import STREET_KINDS


class StreetReportIn(Schema):
    """JSON, or multipart/form-data with the same fields and the file part `photo`."""

    kind = fields.String(required=True, validate=validate.OneOf(STREET_KINDS))
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    note = fields.String(validate=validate.Length(max=500))


class StreetReportOut(Schema):
    id = fields.String()
    task = fields.String()
    kind = fields.String()
    status = fields.String()
    lat = fields.Float()
    lng = fields.Float()
    road = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    source = fields.String()
    reported_by = fields.String()
    created_at = fields.DateTime()
    outcome = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    photo_url = fields.String(allow_none=True)


class StreetReportQuery(QuerySchema):
    since = AwareDateTime()
    until = AwareDateTime()


class RoadHourOut(Schema):
    road = fields.String(allow_none=True)
    hour = fields.Integer()
    total = fields.Integer()
    kinds = fields.Dict(keys=fields.String(), values=fields.Integer())


class StreetReportList(Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    reports = fields.List(fields.Nested(StreetReportOut))
    by_road_and_hour = fields.List(fields.Nested(RoadHourOut))


class TimingQuery(QuerySchema):
    since = AwareDateTime()
    until = AwareDateTime()


class SpreadOut(Schema):
    median = fields.Integer(allow_none=True)
    p90 = fields.Integer(allow_none=True)


class TeamTimingOut(Schema):
    team = fields.String()
    opened = fields.Integer()
    escalated = fields.Integer()
    taken = fields.Integer()
    resolved = fields.Integer()
    minutes_to_escalation = fields.Nested(SpreadOut)
    minutes_to_take = fields.Nested(SpreadOut)
    minutes_to_close = fields.Nested(SpreadOut)
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer())


class TimingList(Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    teams = fields.List(fields.Nested(TeamTimingOut))
