"""Idempotency keys of payments: a retried request with the same key answers the first
payment, and only if it asks for the same thing; a request without one gets a fresh key."""

from __future__ import annotations

import uuid
from typing import Any

from billing.models import Payment
from parking.errors import N_, ConflictError, InvalidInputError


class KeyReusedError(ConflictError):
    """An Idempotency-Key sent again with another plate, amount or card."""

    code = "idempotency_key_reused"


def same_request(existing: Payment, **asked: Any) -> Payment:
    """A repeated idempotency key answers the first payment only if it asks for the same."""
    differs = sorted(name for name, value in asked.items() if getattr(existing, name) != value)
    if differs:
        raise KeyReusedError("this Idempotency-Key was used for another payment: send a new key", differs)
    return existing


def new_key(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4()}"


class InvalidIdempotencyKeyError(InvalidInputError):
    code = "invalid_idempotency_key"


MAX_CLIENT_KEY_LENGTH = 80


def payment_key(scope: str, client_key: str) -> str:
    """The idempotency key of a payment asked for in `scope` (a plate's district, an account):
    the client's Idempotency-Key, so a retry answers the first payment, or a fresh one."""
    if len(client_key) > MAX_CLIENT_KEY_LENGTH:
        raise InvalidIdempotencyKeyError(N_("Idempotency-Key is at most 80 characters"))
    return f"{scope}:{client_key}" if client_key else new_key(scope)
