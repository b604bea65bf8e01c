"""Marshmallow schemas of the billing endpoints: tariffs, quotes, stays' fees, payments."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import AwareDateTime


class TariffIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    effective_from = AwareDateTime(required=True)
    document = fields.Dict(required=True)


class TariffOut(Schema):
    id = fields.String(attribute="uuid")
    code = fields.String()
    version = fields.Integer()
    effective_from = fields.DateTime()
    created_at = fields.DateTime()
    document = fields.Dict()


class TariffList(Schema):
    tariffs = fields.List(fields.Nested(TariffOut))


class QuoteQuery(Schema):
    road = fields.String(required=True, validate=validate.Length(min=1, max=36))
    arrival = AwareDateTime(required=True)
    minutes = fields.Integer(strict=False, required=True, validate=validate.Range(min=1, max=7 * 24 * 60))
    vehicle_class = fields.String(validate=validate.Length(min=1, max=20))


class FeeLineOut(Schema):
    band = fields.String()
    tier = fields.Integer()
    local_date = fields.String()
    increments = fields.Integer()
    increment_minutes = fields.Integer()
    unit_amount = fields.Integer()
    amount = fields.Integer()
    # "from" is a keyword: the line's first increment begins then
    from_ = fields.String(data_key="from", attribute="from")


class BreakdownOut(Schema):
    tariff = fields.String()
    version = fields.Integer()
    free_minutes = fields.Integer()
    lines = fields.List(fields.Nested(FeeLineOut))
    gross = fields.Integer()
    day_caps = fields.List(fields.Dict())
    stay_cap_applied = fields.Boolean()
    vehicle_class = fields.String(allow_none=True)
    percent = fields.Integer()
    amount = fields.Integer()


class QuoteOut(Schema):
    road = fields.String()
    road_name = fields.String()
    arrival = fields.DateTime()
    departure = fields.DateTime()
    minutes = fields.Integer()
    amount = fields.Integer()
    currency = fields.String()
    band_at_arrival = fields.String()
    max_stay_minutes = fields.Integer(allow_none=True)
    exceeds_max_stay = fields.Boolean()
    restriction_at_arrival = fields.String(allow_none=True)
    breakdown = fields.Nested(BreakdownOut)
