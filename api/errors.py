"""Every error becomes one response shape, with a stable code, and never a stack trace.

CDS routes (/cds/...) answer the CDS error shape `{error, error_description, error_details}`;
everything else answers RFC 9457 `application/problem+json` with a `code`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_babel import gettext
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from api.field_messages import worded
from billing.gateway import (
    GatewayError,
    IdempotencyKeyReusedError,
    PaymentMethodDeclinedError,
    RefundExceedsChargeError,
    WebhookSignatureError,
)
from identity.signin import TooManyAttemptsError
from parking.errors import N_, DomainError, Message

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


class ApiError(Exception):
    """An error the web layer itself raises (authentication, negotiation, request shape).
    A literal `message` is extracted for the catalogues (babel.cfg keyword ApiError:3)."""

    def __init__(
        self, status: int, code: str, message: str | Message, details: list[str] | None = None
    ) -> None:
        super().__init__(str(message))
        self.status, self.code, self.message, self.details = status, code, str(message), details or []
        self.text = message if isinstance(message, Message) else Message(message)


def json_body() -> dict[str, Any]:
    """The request's JSON object body, or a 400 `invalid_json`."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return body


def translate(message: Message) -> str:
    """A message in the request's language: its template through the catalogue, then its
    parameters (each translated too when it is a Message). Untranslated text stays English."""
    params = {k: translate(v) if isinstance(v, Message) else v for k, v in message.params.items()}
    translated = gettext(message.template) if message.template else ""
    return translated % params if params else translated


def error_response(
    status: int, code: str, message: str | Message, details: list[str] | None = None
) -> Response:
    """The error answer; its description (title) in the request's language, its code English."""
    message = translate(message if isinstance(message, Message) else Message(message))
    if request.path.startswith("/cds/"):
        body: dict[str, Any] = {
            "error": code,
            "error_description": message,
            "error_details": details or [],
        }
        response = jsonify(body)
    else:
        problem = {
            "type": f"/docs/errors#{code}",
            "title": message,
            "status": status,
            "code": code,
            "errors": details or [],
        }
        response = jsonify(problem)
        response.mimetype = "application/problem+json"
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="parking"'
    return response


def harden(response: Response) -> Response:
    """Every answer, pages, JSON, CSV and errors alike: browsers must not guess another type
    than the one declared (a JSON or CSV answer is never run as a script or page)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def init_app(app: Flask) -> None:
    app.after_request(harden)

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.text, error.details)

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return error_response(error.status, error.code, error.text, error.details)

    @app.errorhandler(TooManyAttemptsError)
    def _too_many(error: TooManyAttemptsError) -> Response:
        # A sign-in or card-setup limit: the client is told how long to wait.
        response = error_response(error.status, error.code, error.text, error.details)
        response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response

    @app.errorhandler(GatewayError)
    def _gateway_error(error: GatewayError) -> Response:
        if isinstance(error, WebhookSignatureError):
            return error_response(400, error.code, "the webhook signature does not verify")
        if isinstance(error, PaymentMethodDeclinedError):
            return error_response(402, error.code, str(error), [error.decline_code or "card_declined"])
        if isinstance(error, (RefundExceedsChargeError, IdempotencyKeyReusedError)):
            return error_response(409, error.code, str(error))
        return error_response(
            502,
            error.code,
            Message(N_("the payment provider did not answer: %(error)s"), {"error": str(error)}),
        )

    @app.errorhandler(ValidationError)
    def _validation_error(error: ValidationError) -> Response:
        messages = error.normalized_messages()  # type: ignore[no-untyped-call]  # marshmallow leaves it unannotated
        fields = sorted(messages) if isinstance(messages, dict) else []
        details = [f"{name}: {'; '.join(worded(str(m)) for m in _flat(messages[name]))}" for name in fields]
        return error_response(400, "invalid_parameters", "the request has invalid fields", details)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error: RequestEntityTooLarge) -> Response:
        # Werkzeug refuses a body over MAX_CONTENT_LENGTH before reading it, and a form whose
        # parts exceed its form limits while parsing.
        limit = request.max_content_length
        if limit is not None and (request.content_length or 0) > limit:
            return error_response(
                413,
                "payload_too_large",
                Message(N_("the request body is over %(limit)s bytes"), {"limit": limit}),
            )
        return error_response(413, "payload_too_large", "the request body, or a part of it, is too large")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        response = error_response(status, code, error.description or code)
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        request_id = str(uuid.uuid4())
        log.exception("unexpected error, request_id=%s", request_id)
        return error_response(
            500,
            "internal_error",
            Message(N_("unexpected error; quote request id %(request_id)s"), {"request_id": request_id}),
        )


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [f"{k}: {v}" for k, v in value.items()]
    return [value]
