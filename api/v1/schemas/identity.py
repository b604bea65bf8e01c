"""Marshmallow schemas of driver identity: signing up, in and out, changing the password,
and plate links with their claims."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import QuerySchema

PASSWORD = validate.Length(min=10, max=200)


class SignUpOut(Schema):
    email = fields.String()
    next = fields.String()


class SignedOutOut(Schema):
    signed_out = fields.Boolean()


class PasswordIn(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    new_password = fields.String(required=True, load_only=True, validate=PASSWORD)


class PlateLinkIn(Schema):
    plate = fields.String(required=True, validate=validate.Length(min=2, max=20))
    # The district whose staff decide the claim; may be left out when there is one district.
    district = fields.String(validate=validate.Length(min=1, max=40))
    evidence = fields.String(validate=validate.Length(max=500))  # for staff, e.g. a registration number


class PlateLinkOut(Schema):
    plate = fields.String()
    status = fields.String()  # linked, or pending until proven
    claim = fields.String(allow_none=True)
    district = fields.String(allow_none=True)


class PlateClaimOut(Schema):
    id = fields.String(attribute="uuid")
    plate = fields.String()
    email = fields.String()
    status = fields.String()
    proof = fields.String(allow_none=True)
    evidence = fields.String(allow_none=True)
    linked_elsewhere = fields.Boolean()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)


class PlateClaimList(Schema):
    claims = fields.List(fields.Nested(PlateClaimOut))


class PlateClaimQuery(QuerySchema):
    status = fields.String(load_default="pending", validate=validate.OneOf(("pending", "proven", "refused")))
