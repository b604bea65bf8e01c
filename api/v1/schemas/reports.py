"""Marshmallow schemas of the bureau reports (the JSON shape is documented in docs/REPORTS.md
and kept stable: the dashboard and the monthly PDF read it)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import CALENDAR_DAYS, QuerySchema
from reports.periods import PERIOD_KINDS
from reports.places import PLACE_TYPES

FORMATS = ("json", "csv", "xlsx")


class SummaryQuery(QuerySchema):
    place_type = fields.String(load_default="district", validate=validate.OneOf(PLACE_TYPES))
    place_id = fields.String(load_default=None)
    period = fields.String(load_default="day", validate=validate.OneOf(PERIOD_KINDS))
    start = fields.Date(required=True, format="%Y-%m-%d", validate=CALENDAR_DAYS)
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class ProblemsQuery(QuerySchema):
    period = fields.String(load_default="day", validate=validate.OneOf(PERIOD_KINDS))
    start = fields.Date(required=True, format="%Y-%m-%d", validate=CALENDAR_DAYS)
    limit = fields.Integer(load_default=5, validate=validate.Range(1, 50))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class PlaceOut(Schema):
    type = fields.String()
    id = fields.String(allow_none=True)
    name = fields.String()


class PeriodOut(Schema):
    kind = fields.String()
    start = fields.Date()
    end = fields.Date(metadata={"description": "the last local date of the period (inclusive)"})
    granularity = fields.String()


class HourValueOut(Schema):
    hour = fields.Integer()
    occupancy_percent = fields.Float(allow_none=True)


class BucketOut(Schema):
    label = fields.String()
    occupancy_percent = fields.Float(allow_none=True)
    stays = fields.Integer()


class OccupancyOut(Schema):
    mean_percent = fields.Float(allow_none=True)
    peak_hours = fields.List(fields.Nested(HourValueOut))
    by_hour_of_day = fields.List(fields.Nested(HourValueOut))
    series = fields.List(fields.Nested(BucketOut))


class DwellBinOut(Schema):
    label = fields.String()
    from_minutes = fields.Integer()
    to_minutes = fields.Integer(allow_none=True)
    stays = fields.Integer()


class StaysOut(Schema):
    count = fields.Integer()
    ended = fields.Integer()
    bays_in_service = fields.Integer()
    turnover_per_bay_per_day = fields.Float(allow_none=True)
    dwell_mean_minutes = fields.Float(allow_none=True)
    dwell_median_minutes = fields.Float(allow_none=True)
    dwell_bins = fields.List(fields.Nested(DwellBinOut))


class RevenueOut(Schema):
    fees = fields.Integer()
    billed = fields.Integer()
    paid = fields.Integer()
    outstanding = fields.Integer()
    collection_rate = fields.Float(allow_none=True)
    collected = fields.Integer()
    refunded = fields.Integer()
    net_collected = fields.Integer()


class ChannelOut(Schema):
    channel = fields.String()
    payments = fields.Integer()
    amount = fields.Integer()
    share = fields.Float(allow_none=True)


class AgeingOut(Schema):
    label = fields.String()
    from_days = fields.Integer()
    to_days = fields.Integer(allow_none=True)
    fees = fields.Integer()
    amount = fields.Integer()


class ViolationCountOut(Schema):
    rule = fields.String()
    count = fields.Integer()


class CitationCountOut(Schema):
    rule = fields.String()
    count = fields.Integer()
    voided = fields.Integer()
    fines = fields.Integer()


class ResponseTimesOut(Schema):
    team = fields.String()
    created = fields.Integer()
    taken = fields.Integer()
    resolved = fields.Integer()
    take_median_seconds = fields.Float(allow_none=True)
    take_p90_seconds = fields.Float(allow_none=True)
    resolve_median_seconds = fields.Float(allow_none=True)
    resolve_p90_seconds = fields.Float(allow_none=True)


class DeviceUptimeOut(Schema):
    kind = fields.String()
    devices = fields.Integer()
    outages = fields.Integer()
    offline_seconds = fields.Float()
    uptime_percent = fields.Float(allow_none=True)


class FiguresOut(Schema):
    period = fields.Nested(PeriodOut)
    occupancy = fields.Nested(OccupancyOut)
    stays = fields.Nested(StaysOut)
    revenue = fields.Nested(RevenueOut)
    channels = fields.List(fields.Nested(ChannelOut))
    arrears_ageing = fields.List(fields.Nested(AgeingOut))
    violations = fields.List(fields.Nested(ViolationCountOut))
    citations = fields.List(fields.Nested(CitationCountOut))
    response_times = fields.List(fields.Nested(ResponseTimesOut))
    devices = fields.List(fields.Nested(DeviceUptimeOut))


class ReportOut(Schema):
    district = fields.String()
    time_zone = fields.String()
    currency = fields.String()
    generated_at = fields.DateTime()
    place = fields.Nested(PlaceOut)
    current = fields.Nested(FiguresOut)
    previous = fields.Nested(FiguresOut)


class RoadProblemOut(Schema):
    road = fields.String()
    name = fields.String()
    violations = fields.Integer()
    billed = fields.Integer()
    paid = fields.Integer()
    collection_rate = fields.Float(allow_none=True)
    occupancy_percent = fields.Float(allow_none=True)


class ProblemsOut(Schema):
    district = fields.String()
    time_zone = fields.String()
    currency = fields.String()
    period = fields.Nested(PeriodOut)
    most_violations = fields.List(fields.Nested(RoadProblemOut))
    lowest_collection_rate = fields.List(fields.Nested(RoadProblemOut))
    highest_occupancy = fields.List(fields.Nested(RoadProblemOut))
    lowest_occupancy = fields.List(fields.Nested(RoadProblemOut))
