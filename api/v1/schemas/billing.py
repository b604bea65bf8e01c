"""Marshmallow schemas of the billing endpoints: tariffs, quotes, stays' fees, payments."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import AwareDateTime, QuerySchema


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


class QuoteQuery(QuerySchema):
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


class OwedStayOut(Schema):
    stay = fields.String(attribute="stay_uuid")
    bay = fields.String()
    road = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    amount = fields.Integer()
    paid = fields.Integer()
    owed = fields.Integer()
    status = fields.String()
    due_by = fields.DateTime()


class PlateLedgerOut(Schema):
    plate = fields.String()
    currency = fields.String()
    outstanding = fields.Integer()
    arrears = fields.Integer()
    stays = fields.List(fields.Nested(OwedStayOut))


class PlatePaymentIn(Schema):
    amount = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    currency = fields.String(validate=validate.Length(equal=3))
    payment_method = fields.String(required=True, validate=validate.Length(min=1, max=100))
    stays = fields.List(
        fields.String(validate=validate.Length(equal=36)), validate=validate.Length(min=1, max=500)
    )


class PaymentOut(Schema):
    id = fields.String(attribute="uuid")
    plate = fields.String(allow_none=True)
    channel = fields.String()
    method = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()
    refunded = fields.Integer()
    failure_code = fields.String(allow_none=True)
    failure_message = fields.String(allow_none=True)
    created_at = fields.DateTime()
    receipt_url = fields.String(allow_none=True)


class RefundIn(Schema):
    amount = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class RefundOut(Schema):
    id = fields.String(attribute="uuid")
    payment = fields.String()
    amount = fields.Integer()
    reason = fields.String()
    staff = fields.String()
    status = fields.String()
    created_at = fields.DateTime()


class SignUpIn(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    name = fields.String(validate=validate.Length(max=200))


class SignInIn(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))


class DriverOut(Schema):
    id = fields.String(attribute="uuid")
    email = fields.String()
    name = fields.String(allow_none=True)
    plates = fields.List(fields.String())  # linked: proven
    pending_plates = fields.List(fields.String())  # asked for, not proven yet
    card_saved = fields.Boolean()
    card_usable = fields.Boolean(
        metadata={
            "description": "false when the payment provider no longer knows the saved card: save it again"
        }
    )


class SessionOut(Schema):
    token = fields.String()
    driver = fields.Nested(DriverOut)


class PlateIn(Schema):
    plate = fields.String(required=True, validate=validate.Length(min=2, max=20))


class SetupIntentOut(Schema):
    setup_intent = fields.String()
    client_secret = fields.String()
    publishable_key = fields.String()  # for Stripe.js to confirm the SetupIntent with


class CardIn(Schema):
    payment_method = fields.String(required=True, validate=validate.Length(min=1, max=100))


class NoticeOut(Schema):
    kind = fields.String()
    message = fields.String()
    created_at = fields.DateTime()


class NoticeList(Schema):
    notices = fields.List(fields.Nested(NoticeOut))


class CurrentStayOut(Schema):
    id = fields.String(attribute="uuid")
    district = fields.String()
    plate = fields.String()
    bay = fields.String()
    road = fields.String()
    started_at = fields.DateTime()
    elapsed_seconds = fields.Integer()
    fee_so_far = fields.Integer(allow_none=True)
    currency = fields.String()
    band = fields.String(allow_none=True)
    max_stay_minutes = fields.Integer(allow_none=True)
    time_left_seconds = fields.Integer(allow_none=True)


class CurrentStayList(Schema):
    stays = fields.List(fields.Nested(CurrentStayOut))


class HistoryQuery(QuerySchema):
    page = fields.Integer(strict=False, load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(strict=False, load_default=50, validate=validate.Range(min=1, max=200))


class PastStayOut(Schema):
    id = fields.String(attribute="uuid")
    district = fields.String()
    plate = fields.String()
    bay = fields.String()
    road = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    fee = fields.Integer(allow_none=True)
    paid = fields.Integer()
    currency = fields.String()
    status = fields.String()
    receipt_urls = fields.List(fields.String())


class StayHistoryPage(Schema):
    stays = fields.List(fields.Nested(PastStayOut))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class MyOwedStayOut(OwedStayOut):
    plate = fields.String()


class DistrictOwedOut(Schema):
    district = fields.String()
    currency = fields.String()
    outstanding = fields.Integer()
    arrears = fields.Integer()
    stays = fields.List(fields.Nested(MyOwedStayOut))


class OutstandingOut(Schema):
    districts = fields.List(fields.Nested(DistrictOwedOut))


class AccountPaymentIn(Schema):
    amount = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    payment_method = fields.String(validate=validate.Length(min=1, max=100))
    district = fields.String(validate=validate.Length(min=1, max=64))


class NotificationQuery(QuerySchema):
    # A cursor is a notification id: a 64-bit integer (larger ones overflow the database's).
    after = fields.Integer(strict=False, load_default=0, validate=validate.Range(min=0, max=2**63 - 1))
    limit = fields.Integer(strict=False, load_default=100, validate=validate.Range(min=1, max=500))


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    created_at = fields.DateTime()
    message = fields.String()
    data = fields.Dict()


class NotificationList(Schema):
    notifications = fields.List(fields.Nested(NotificationOut))
    cursor = fields.Integer()


class CallbackIn(Schema):
    url = fields.Url(
        required=True, schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000)
    )


class CallbackOut(Schema):
    url = fields.String()
    secret = fields.String()
    signature_header = fields.String()
