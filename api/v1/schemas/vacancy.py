"""Marshmallow schemas of the driver-facing vacancy and forecast endpoints (public: no plates,
no stays, only bays and what is known of them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext, pgettext
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas import AwareDateTime, QuerySchema
from billing.money import format_money
from billing.tariff import BandPeriod, Tariff
from billing.tariff_parts import RESTRICTION_WORDS, Band


class VacancyQuery(QuerySchema):
    """Where to look: a point (`lat`, `lng`, `radius` in metres) or a box (`bbox`, or the four
    CDS box parameters). `api/place_args.py` checks them, with the same codes as the CDS
    curbs routes, before this schema loads the rest."""

    lat = fields.Float()
    lng = fields.Float()
    radius = fields.Float(load_default=500.0)
    bbox = fields.String(metadata={"description": "min_lng,min_lat,max_lng,max_lat"})
    min_lat = fields.Float()
    min_lng = fields.Float()
    max_lat = fields.Float()
    max_lng = fields.Float()
    limit = fields.Integer(strict=False, load_default=100, validate=validate.Range(min=1, max=500))


class FreeBayOut(Schema):
    id = fields.String()
    name = fields.String()
    lat = fields.Float()
    lng = fields.Float()


class RoadVacancyOut(Schema):
    id = fields.String()
    name = fields.String()
    distance_m = fields.Float()
    total = fields.Integer()
    free = fields.Integer()
    occupied = fields.Integer()
    unknown_ = fields.Integer(data_key="unknown", attribute="unknown")  # `unknown` is a Schema option
    data_age_seconds = fields.Integer(allow_none=True)
    tariff = fields.String(allow_none=True)
    max_stay_minutes = fields.Integer(allow_none=True)
    restriction_now = fields.String(allow_none=True)
    free_bays = fields.List(fields.Nested(FreeBayOut))


class VacancyOut(Schema):
    district = fields.String()
    at = fields.DateTime()
    stale_after_minutes = fields.Integer()
    roads = fields.List(fields.Nested(RoadVacancyOut))


class BayStateOut(Schema):
    id = fields.String()
    name = fields.String()
    space_number = fields.Integer()
    lat = fields.Float()
    lng = fields.Float()
    state = fields.String(metadata={"enum": ["free", "occupied", "unknown"]})


class BandAheadOut(Schema):
    from_ = fields.DateTime(data_key="from", attribute="from")
    until = fields.DateTime()
    band = fields.String()
    tariff = fields.String(metadata={"description": "the band's price in one line"})


class RestrictionAheadOut(Schema):
    from_ = fields.DateTime(data_key="from", attribute="from")
    until = fields.DateTime()
    name = fields.String()
    activity = fields.String(metadata={"description": "the CDS activity: `no parking` or `no stopping`"})
    activity_label = fields.String(metadata={"description": "the activity in the language of the request"})


class RoadBaysOut(Schema):
    id = fields.String()
    name = fields.String()
    at = fields.DateTime()
    total = fields.Integer()
    free = fields.Integer()
    occupied = fields.Integer()
    unknown_ = fields.Integer(data_key="unknown", attribute="unknown")  # `unknown` is a Schema option
    data_age_seconds = fields.Integer(allow_none=True)
    tariff = fields.String(allow_none=True)
    max_stay_minutes = fields.Integer(allow_none=True)
    restriction_now = fields.String(allow_none=True)
    day_ahead = fields.List(
        fields.Nested(BandAheadOut),
        metadata={"description": "the tariff bands from now to the end of the local day"},
    )
    restrictions_ahead = fields.List(
        fields.Nested(RestrictionAheadOut),
        metadata={"description": "restrictions in force now or still to come today"},
    )
    bays = fields.List(fields.Nested(BayStateOut))


class ForecastQuery(QuerySchema):
    road = fields.String(required=True, validate=validate.Length(min=1, max=36))
    in_minutes = fields.Integer(data_key="in", strict=False, validate=validate.Range(min=0, max=7 * 24 * 60))
    at = AwareDateTime()

    @validates_schema
    def _one_time(self, data: dict[str, Any], **_: Any) -> None:
        if "in_minutes" in data and "at" in data:
            raise ValidationError("give in (minutes from now) or at, not both", "at")


class ForecastOut(Schema):
    road = fields.String()
    road_name = fields.String()
    arrival = fields.DateTime()
    basis = fields.String(
        metadata={
            "enum": ["history", "history+current"],
            "description": "history: the slot's history alone; history+current: the road's bays "
            "now carried forward to the arrival (in= up to 120 minutes, some bay state known)",
        }
    )
    day_class = fields.String(metadata={"enum": ["weekday", "saturday", "sunday_holiday"]})
    slot = fields.String(metadata={"description": "local start of the 15-minute slot, HH:MM"})
    probability_free = fields.Float()
    history_probability = fields.Float(metadata={"description": "the slot's history alone"})
    free_now = fields.Integer(
        allow_none=True, metadata={"description": "bays known free now (history+current only)"}
    )
    samples = fields.Integer()
    road_rate = fields.Float()
    fitted_at = fields.DateTime()


# -- the tariff in one line ----------------------------------------------------------------


def _span(minutes: int) -> str:
    if minutes == 60:
        return str(gettext("hour"))
    if minutes % 60 == 0:
        return str(gettext("%(hours)s h", hours=minutes // 60))
    return str(gettext("%(minutes)s min", minutes=minutes))


def tariff_line(tariff: Tariff, at: datetime, currency: str) -> str:
    """The tariff in force at `at` in one line, in the request's language, e.g. "¥1.50 per
    15 min first hour, then ¥6.00 per 30 min; first 15 min free; max ¥60/day" (the band of
    that moment)."""
    name = tariff.band_at(at)
    kind = tariff.day_type(at.astimezone(tariff.zone).date())
    band = next(
        (b for b in tariff.bands if b.name == name and kind in b.days),
        next(b for b in tariff.bands if b.name == name),
    )
    if all(t.amount == 0 for t in band.tiers):
        return str(gettext("free now"))
    return band_line(tariff, band, currency)


def band_line(tariff: Tariff, band: Band, currency: str) -> str:
    """A band's prices in one line, with the tariff's free time and caps (tariff_line)."""
    rates = []
    for i, tier in enumerate(band.tiers):
        price = (
            pgettext("price", "free")
            if tier.amount == 0
            else gettext(
                "%(amount)s per %(span)s",
                amount=format_money(tier.amount, currency, symbol=True),
                span=_span(tier.increment_minutes),
            )
        )
        if tier.until_ms is not None:
            until = _span(tier.until_ms // 60_000)
            price = (
                gettext("%(price)s first %(span)s", price=price, span=until)
                if i == 0
                else gettext("%(price)s up to %(span)s", price=price, span=until)
            )
        rates.append(price if i == 0 else gettext("then %(price)s", price=price))
    parts = [gettext(", ").join(rates)]
    if tariff.free_ms:
        parts.append(gettext("first %(span)s free", span=_span(tariff.free_ms // 60_000)))
    if tariff.cap_per_day is not None:
        parts.append(
            gettext(
                "max %(amount)s/day",
                amount=format_money(tariff.cap_per_day, currency, symbol=True, trim=True),
            )
        )
    if tariff.cap_per_stay is not None:
        parts.append(
            gettext(
                "max %(amount)s/stay",
                amount=format_money(tariff.cap_per_stay, currency, symbol=True, trim=True),
            )
        )
    return str(gettext("; ").join(parts))


def day_ahead(tariff: Tariff | None, now: datetime, currency: str) -> dict[str, Any]:
    """The rest of the local day on a road: each band from now on with its price line, and
    the restrictions in force or still to come (so 05:49 warns of the 08:00 price and the
    17:00 clearway)."""
    if tariff is None:
        return {"day_ahead": [], "restrictions_ahead": []}
    bands, restrictions = tariff.rest_of_day(now)
    return {
        "day_ahead": [
            {
                "from": b.starts_at,
                "until": b.ends_at,
                "band": b.band.name,
                "tariff": _band_line(tariff, b, currency),
            }
            for b in bands
        ],
        "restrictions_ahead": [
            {
                "from": r.starts_at,
                "until": r.ends_at,
                "name": r.restriction.name,
                "activity": r.restriction.activity,
                "activity_label": gettext(
                    RESTRICTION_WORDS.get(r.restriction.activity, r.restriction.activity)
                ),
            }
            for r in restrictions
        ],
    }


def _band_line(tariff: Tariff, period: BandPeriod, currency: str) -> str:
    if all(tier.amount == 0 for tier in period.band.tiers):
        return "free"
    return tariff_line(tariff, period.starts_at, currency)
