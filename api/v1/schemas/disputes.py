"""Marshmallow schemas of disputes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import AwareDateTime, QuerySchema
from enforcement.models import DISPUTE_DECIDED, DISPUTE_OPEN, DISPUTE_OUTCOMES

_ID = validate.Length(equal=36)
_REASON = validate.Length(min=1, max=500)


class DisputeIn(Schema):
    """Name the `stay` or the `citation` (its id) and say why."""

    stay = fields.String(validate=_ID)
    citation = fields.String(validate=_ID)
    reason = fields.String(required=True, validate=_REASON)


class DisputeDecisionIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(DISPUTE_OUTCOMES))
    amount = fields.Integer(strict=True, validate=validate.Range(min=0))
    reason = fields.String(required=True, validate=_REASON)


class DisputeQuery(QuerySchema):
    status = fields.String(validate=validate.OneOf((DISPUTE_OPEN, DISPUTE_DECIDED)))
    since = AwareDateTime()
    until = AwareDateTime()


class DisputeOut(Schema):
    id = fields.String()
    district = fields.String()
    status = fields.String()
    plate = fields.String(allow_none=True)
    stay = fields.String(allow_none=True)
    citation = fields.String(allow_none=True)
    reason = fields.String()
    amount_before = fields.Integer()
    amount_after = fields.Integer(allow_none=True)
    currency = fields.String()
    outcome = fields.String(allow_none=True)
    refunded = fields.Integer()
    decision_reason = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class DisputeCounts(Schema):
    open = fields.Integer()
    upheld = fields.Integer()
    adjusted = fields.Integer()
    cancelled = fields.Integer()


class DisputeList(Schema):
    disputes = fields.List(fields.Nested(DisputeOut))
    since = fields.DateTime()
    until = fields.DateTime()
    counts = fields.Nested(DisputeCounts)
