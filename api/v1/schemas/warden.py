"""Marshmallow schemas of the warden handheld and police endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import AwareDateTime, QuerySchema
from enforcement.rules import ALL_OUTCOMES

OUTCOMES = ALL_OUTCOMES
TASK_STATUSES = ("open", "escalated", "taken")
REGISTRATION_KINDS = ("arrival", "plate", "departure", "payment")
PAYMENT_METHODS = ("cash", "qr")

_LAT = validate.Range(min=-90, max=90)
_LNG = validate.Range(min=-180, max=180)


class PositionIn(Schema):
    lat = fields.Float(required=True, allow_nan=False, validate=_LAT)
    lng = fields.Float(required=True, allow_nan=False, validate=_LNG)


class PositionOut(Schema):
    lat = fields.Float()
    lng = fields.Float()
    reported_at = fields.DateTime()


class StaffMeOut(Schema):
    name = fields.String()
    role = fields.String()
    team = fields.String(allow_none=True)
    position = fields.Nested(PositionOut, allow_none=True)
    now = fields.DateTime()


class TaskQuery(QuerySchema):
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))


class ViolationSummaryOut(Schema):
    id = fields.String()
    rule = fields.String()
    plate = fields.String(allow_none=True)
    bay = fields.String(allow_none=True)
    road = fields.String(allow_none=True)
    since = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    evidence = fields.Dict()


class TaskOut(Schema):
    id = fields.String()
    team = fields.String()
    kind = fields.String()
    status = fields.String()
    taken_by = fields.String(allow_none=True)
    mine = fields.Boolean()
    created_at = fields.DateTime()
    escalated_at = fields.DateTime(allow_none=True)
    taken_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    bay = fields.String(allow_none=True)
    road = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    distance_m = fields.Integer(allow_none=True)
    age_minutes = fields.Integer()
    details = fields.Dict()
    violation = fields.Nested(ViolationSummaryOut, allow_none=True)
    photo_url = fields.String(allow_none=True)
    citation = fields.String(allow_none=True)


class TaskList(Schema):
    tasks = fields.List(fields.Nested(TaskOut))
    position = fields.Nested(PositionOut, allow_none=True)


class ResolveForm(Schema):
    """multipart/form-data: `outcome`, `note`, and the file part `photo`."""

    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(validate=validate.Length(max=500))


class PhotoOut(Schema):
    """The photo itself: image/jpeg, image/png or image/webp bytes."""


class PlateCheckQuery(QuerySchema):
    bay = fields.UUID()
    lat = fields.Float(allow_nan=False, validate=_LAT)
    lng = fields.Float(allow_nan=False, validate=_LNG)


class PlateCheckIn(PlateCheckQuery):
    """A plate check with everything in the body, the plate out of the URL."""

    plate = fields.String(required=True, validate=validate.Length(min=1, max=32))


class FeeOut(Schema):
    status = fields.String()
    amount = fields.Integer(allow_none=True)
    paid = fields.Integer()


class CheckedStayOut(Schema):
    id = fields.String()
    bay = fields.String()
    bay_id = fields.String()
    road = fields.String()
    since = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    minutes = fields.Integer()
    fee = fields.Nested(FeeOut)


class CheckedViolationOut(Schema):
    id = fields.String()
    rule = fields.String()
    bay = fields.String()
    road = fields.String()
    since = fields.DateTime()


class CheckedCitationOut(Schema):
    id = fields.String()
    rule = fields.String()
    status = fields.String()
    amount = fields.Integer()
    issued_at = fields.DateTime()


class PlateCheckOut(Schema):
    check = fields.String()
    plate = fields.String()
    checked_at = fields.DateTime()
    currency = fields.String()
    parked = fields.Boolean()
    at_bay = fields.Boolean(allow_none=True)
    stay = fields.Nested(CheckedStayOut, allow_none=True)
    outstanding = fields.Integer()
    arrears = fields.Integer()
    unpaid_stays = fields.Integer()
    violations = fields.List(fields.Nested(CheckedViolationOut))
    citations = fields.List(fields.Nested(CheckedCitationOut))


class AuditQuery(QuerySchema):
    since = AwareDateTime()
    until = AwareDateTime()
    plate = fields.String(validate=validate.Length(min=2, max=20))
    staff = fields.String(validate=validate.Length(min=1, max=100))
    page = fields.Integer(strict=False, load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(strict=False, load_default=100, validate=validate.Range(min=1, max=1000))


class PlateCheckRowOut(Schema):
    id = fields.String(attribute="uuid")
    staff = fields.String(attribute="staff_name")
    role = fields.String(attribute="staff_role")
    checked_at = fields.DateTime()
    route = fields.String()  # the staff route the plate was looked up through
    plate = fields.String(allow_none=True)  # null once the retention erased it
    bay = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    result = fields.Dict()


class AuditPage(Schema):
    checks = fields.List(fields.Nested(PlateCheckRowOut))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class RegistrationIn(Schema):
    bay = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(REGISTRATION_KINDS))
    plate = fields.String(validate=validate.Length(min=1, max=20))
    at = AwareDateTime()
    client_id = fields.UUID(required=True)
    device = fields.UUID(required=True)
    # kind=payment: the fee taken at the curb, in minor units, in cash or by QR
    amount = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000_000))
    method = fields.String(validate=validate.OneOf(PAYMENT_METHODS))


class RegistrationOut(Schema):
    event_id = fields.String()
    event_type = fields.String()
    event_time = fields.DateTime()
    bay = fields.String()
    device = fields.String()
    result = fields.String()
    conflict = fields.String(allow_none=True)


class PoliceFeedQuery(QuerySchema):
    since = AwareDateTime()
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class PoliceEvidenceOut(Schema):
    event_ids = fields.List(fields.String())
    plate = fields.String(allow_none=True)
    bay = fields.String(allow_none=True)
    road = fields.String(allow_none=True)
    since = fields.String(allow_none=True)
    rule = fields.String(allow_none=True)
    photo_url = fields.String(allow_none=True)


class PoliceFeedItemOut(Schema):
    task = fields.String()
    team = fields.String()
    kind = fields.String()
    status = fields.String()
    created_at = fields.String()
    escalated_at = fields.String(allow_none=True)
    bay = fields.String(allow_none=True)
    road = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    violation = fields.Dict(allow_none=True)
    evidence = fields.Nested(PoliceEvidenceOut)


class PoliceFeedOut(Schema):
    since = fields.DateTime()
    items = fields.List(fields.Nested(PoliceFeedItemOut))
