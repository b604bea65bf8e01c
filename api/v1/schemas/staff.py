"""Marshmallow schemas of staff sign-in, staff account management and device token rotation."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from identity.models import STAFF_ROLES
from identity.staff import MAX_PASSWORD_LENGTH


class StaffSignInIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH))


class StaffSignInOut(Schema):
    token = fields.String()
    role = fields.String()
    name = fields.String()
    expires_at = fields.DateTime()


class StaffSignedOut(Schema):
    signed_out = fields.Boolean()


class StaffAccountIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    # The length rule (10 or more) is the domain's, answered `weak_password`.
    password = fields.String(required=True, validate=validate.Length(max=MAX_PASSWORD_LENGTH))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    beat = fields.List(
        fields.String(validate=validate.Length(min=1, max=300)), validate=validate.Length(max=200)
    )


class StaffTokenOut(Schema):
    id = fields.Integer()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class StaffAccountOut(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    role = fields.String()
    beat = fields.List(fields.String(), allow_none=True)
    created_at = fields.DateTime()
    disabled_at = fields.DateTime(allow_none=True)
    tokens = fields.List(fields.Nested(StaffTokenOut))


class StaffAccountList(Schema):
    accounts = fields.List(fields.Nested(StaffAccountOut))


class RotatedTokenOut(Schema):
    data_source_device_id = fields.String()
    token = fields.String()
    previous_token_expires_at = fields.DateTime(allow_none=True)


class RevokedDeviceOut(Schema):
    data_source_device_id = fields.String()
    name = fields.String()
    revoked_at = fields.DateTime()
