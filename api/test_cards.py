"""Test cards: `POST /api/v1/<district>/test-cards` turns a test card number into a payment
method, so pages can take a card offline, where the provider's card form cannot load.

Only while the app talks to the local test server (no `STRIPE_API_KEY`): with a real key the
endpoint answers 403 `not_test_mode` before reading the body, and the gateway refuses too.
Card numbers go to the gateway and nowhere else: never stored, never logged.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import Schema, fields, pre_load, validate

from api.database import get_db
from api.errors import ApiError, json_body
from api.openapi import documented
from api.payments_gateway import get_gateway
from billing.gateway import TestModeOnlyError
from parking.inventory import get_district

bp = Blueprint("test_cards", __name__, url_prefix="/api/v1/<district>")


class CardNumberIn(Schema):
    number = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{12,19}$"))
    exp_month = fields.Integer(strict=False, required=True, validate=validate.Range(min=1, max=12))
    exp_year = fields.Integer(strict=False, required=True, validate=validate.Range(min=2000, max=2099))
    cvc = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{3,4}$"))

    @pre_load
    def _digits_only(self, data: Any, **_: Any) -> Any:
        """People type card numbers in groups: `4242 4242 4242 4242` is the same card."""
        if isinstance(data, dict) and isinstance(data.get("number"), str):
            data = {**data, "number": data["number"].replace(" ", "").replace("-", "")}
        return data


class CardMethodOut(Schema):
    payment_method = fields.String()


def on_test_server() -> bool:
    """True while payments go to the local test server rather than to Stripe."""
    return not current_app.config.get("STRIPE_API_KEY")


@bp.post("/test-cards")
@documented(
    "Turn a test card into a payment method (local test server only)",
    CardMethodOut,
    body=CardNumberIn,
    auth=None,
    errors=(400, 402, 403, 404, 502),
    status=201,
)
def create_test_card(district: str) -> tuple[Response, int]:
    if not on_test_server():
        raise ApiError(403, "not_test_mode", "test cards are taken only by the local test server")
    get_district(get_db(), district)
    card = CardNumberIn().load(json_body())
    try:
        method = get_gateway().create_test_card_payment_method(
            card["number"], card["exp_month"], card["exp_year"], card["cvc"]
        )
    except TestModeOnlyError as error:
        raise ApiError(403, error.code, str(error)) from error
    return jsonify({"payment_method": method}), 201
