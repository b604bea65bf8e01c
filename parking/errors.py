"""Domain errors: each names the broken rule and carries a stable `code` slug."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every domain error. `api/errors.py` maps these to HTTP once."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFoundError(DomainError):
    code = "not_found"
    status = 404


class UnknownDistrictError(NotFoundError):
    code = "unknown_district"


class ConflictError(DomainError):
    code = "conflict"
    status = 409


class InvalidInputError(DomainError):
    code = "invalid_input"
    status = 400
