"""Marshmallow schemas of pricing advice (native API) and of the open-data feed's query."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import AwareDateTime, QuerySchema

# Months of this century: year 0 is no date, and the month after 9999-12 is none either.
MONTH = validate.Regexp(r"^20\d{2}-(0[1-9]|1[0-2])$", error="a month is YYYY-MM, 2000-01 to 2099-12")


class AdviceQuery(QuerySchema):
    month = fields.String(validate=MONTH)


class RuleOut(Schema):
    min_per_minute = fields.Integer()
    max_per_minute = fields.Integer()
    step_percent = fields.Integer()
    raise_at_percent = fields.Float()
    lower_below_percent = fields.Float()
    hold_days = fields.Integer()


class BandAdviceOut(Schema):
    band = fields.String()
    days = fields.List(fields.String())
    windows = fields.List(fields.List(fields.String()))
    occupancy_percent = fields.Float(allow_none=True)
    hours_measured = fields.Integer()
    current_rate = fields.Integer(metadata={"description": "first tier, minor units per minute"})
    advised_rate = fields.Integer()
    current_rates = fields.List(fields.Integer(), metadata={"description": "per tier, per minute"})
    advised_rates = fields.List(fields.Integer())
    action = fields.String(metadata={"enum": ["raise", "keep", "lower", "hold"]})
    reason = fields.String()


class RoadAdviceOut(Schema):
    road = fields.String()
    road_name = fields.String()
    tariff_code = fields.String()
    tariff_version = fields.Integer()
    held_until = fields.DateTime(allow_none=True)
    changes = fields.Boolean()
    bands = fields.List(fields.Nested(BandAdviceOut))


class AdviceOut(Schema):
    district = fields.String()
    month = fields.String()
    time_zone = fields.String()
    currency = fields.String()
    rule = fields.Nested(RuleOut)
    roads = fields.List(fields.Nested(RoadAdviceOut))


class ReplayTotalOut(Schema):
    stays = fields.Integer()
    charged = fields.Integer(metadata={"description": "the stored fees of those stays"})
    at_current_tariff = fields.Integer()
    at_advised_tariff = fields.Integer()
    change = fields.Integer(metadata={"description": "at_advised_tariff - at_current_tariff"})
    change_percent = fields.Float(allow_none=True)


class RoadReplayOut(ReplayTotalOut):
    road = fields.String()
    road_name = fields.String()
    tariff_code = fields.String()


class WhatIfOut(Schema):
    district = fields.String()
    month = fields.String()
    currency = fields.String()
    assumption = fields.String()
    roads = fields.List(fields.Nested(RoadReplayOut))
    total = fields.Nested(ReplayTotalOut)


class PublishIn(Schema):
    effective_from = AwareDateTime(required=True)
    month = fields.String(validate=MONTH)
    roads = fields.List(
        fields.String(validate=validate.Length(min=1, max=36)), validate=validate.Length(min=1, max=1000)
    )


class PublishedOut(Schema):
    road = fields.String()
    road_name = fields.String()
    tariff_code = fields.String()
    version = fields.Integer()
    tariff_version_id = fields.String()
    forked_from = fields.String(allow_none=True)


class PublishOut(Schema):
    effective_from = fields.DateTime()
    month = fields.String()
    published = fields.List(fields.Nested(PublishedOut))


class OpenDayQuery(QuerySchema):
    date = fields.Date()


class OpenOccupancyQuery(QuerySchema):
    date = fields.Date()
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))
