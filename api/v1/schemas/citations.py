"""Marshmallow schemas of fines and the citation lifecycle."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import AwareDateTime
from api.v1.schemas.billing import PlateLedgerOut, PlatePaymentIn
from enforcement.models import FINE_RULES

_REASON = validate.Length(min=1, max=500)


class FineIn(Schema):
    rule = fields.String(required=True, validate=validate.OneOf(FINE_RULES))
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))
    effective_from = AwareDateTime()


class FineOut(Schema):
    rule = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    effective_from = fields.DateTime()
    in_force = fields.Boolean()
    created_by = fields.String(allow_none=True)


class FineList(Schema):
    fines = fields.List(fields.Nested(FineOut))


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=_REASON)


class AppealDecisionIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("upheld", "voided")))
    reason = fields.String(required=True, validate=_REASON)


class CitationChangeOut(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason = fields.String(allow_none=True)
    changed_by = fields.String()
    changed_at = fields.DateTime()


class CitationOut(Schema):
    id = fields.String(attribute="uuid")
    status = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    plate = fields.String(allow_none=True)
    rule = fields.String()
    issued_by = fields.String()
    issued_at = fields.DateTime()
    updated_at = fields.DateTime()
    history = fields.List(fields.Nested(CitationChangeOut))


class OwedCitationOut(Schema):
    citation = fields.String(attribute="uuid")
    rule = fields.String()
    amount = fields.Integer()
    status = fields.String()
    issued_at = fields.DateTime()


class PlateOwesOut(PlateLedgerOut):
    """The plate's unpaid stays and its standing citations; `outstanding` counts both."""

    citations = fields.List(fields.Nested(OwedCitationOut))


class PlatePayIn(PlatePaymentIn):
    """Name `stays` or `citations` (not both); naming neither pays the unpaid stays, or the
    standing citations when no stay is unpaid. A citation is paid whole."""

    citations = fields.List(
        fields.String(validate=validate.Length(equal=36)), validate=validate.Length(min=1, max=100)
    )


class AccountCitationOut(Schema):
    """A standing citation of one of my plates."""

    citation = fields.String(attribute="uuid")
    district = fields.String()
    plate = fields.String(allow_none=True)
    rule = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()
    issued_at = fields.DateTime()


class AccountCitationList(Schema):
    citations = fields.List(fields.Nested(AccountCitationOut))


class CitationPaymentIn(Schema):
    """A citation is paid whole: `amount` is its amount. My saved card unless a
    `payment_method` from the provider's card form is given."""

    amount = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    payment_method = fields.String(validate=validate.Length(min=1, max=100))
