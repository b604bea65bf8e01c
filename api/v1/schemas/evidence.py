"""Marshmallow schemas of the evidence views."""

from __future__ import annotations

from marshmallow import Schema, fields


class EvidenceEventOut(Schema):
    event_id = fields.String()
    kind = fields.String()
    at = fields.DateTime()
    device = fields.String()
    device_kind = fields.String()
    source = fields.String()
    plate = fields.String(allow_none=True)
    confidence = fields.Integer(allow_none=True)
    registered_by = fields.String(allow_none=True)


class EvidenceFeeOut(Schema):
    amount = fields.Integer()
    paid = fields.Integer()
    status = fields.String()
    breakdown = fields.Dict()


class EvidenceTariffOut(Schema):
    code = fields.String()
    version = fields.Integer()
    effective_from = fields.DateTime()


class StayEvidenceOut(Schema):
    stay = fields.String()
    bay = fields.String()
    road = fields.String()
    plate = fields.String(allow_none=True)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    events = fields.List(fields.Nested(EvidenceEventOut))
    fee = fields.Nested(EvidenceFeeOut, allow_none=True)
    tariff = fields.Nested(EvidenceTariffOut, allow_none=True)
    currency = fields.String(allow_none=True)
    citations = fields.List(fields.String())


class EvidenceStepOut(Schema):
    status = fields.String()
    by = fields.String()
    at = fields.DateTime()
    reason = fields.String(allow_none=True)


class CitationEvidenceOut(Schema):
    citation = fields.String()
    status = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    issued_by = fields.String()
    issued_at = fields.DateTime()
    rule = fields.String()
    violation_started_at = fields.DateTime()
    violation_ended_at = fields.DateTime(allow_none=True)
    violation_evidence = fields.Dict()
    photo_urls = fields.List(fields.String())
    history = fields.List(fields.Nested(EvidenceStepOut))
    stay = fields.Nested(StayEvidenceOut, allow_none=True)


class PhotoBytes(Schema):
    """The photo itself: image/jpeg, image/png or image/webp bytes."""
