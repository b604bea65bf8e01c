"""Domain errors: each names the broken rule and carries a stable `code` slug."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def N_(text: str) -> str:
    """Marks a message for the catalogues (`flask --app api messages` extracts N_); the web
    layer translates it when it answers (docs/I18N.md)."""
    return text


@dataclass(frozen=True)
class Message:
    """A message people read, kept as its catalogue template and parameters so that the web
    layer can translate it; a parameter may itself be a Message."""

    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.template
        return self.template % {k: str(v) if isinstance(v, Message) else v for k, v in self.params.items()}


class DomainError(Exception):
    """Base of every domain error. `api/errors.py` maps these to HTTP once."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str | Message, details: list[str] | None = None) -> None:
        super().__init__(str(message))
        self.text = message if isinstance(message, Message) else Message(message)
        self.message = str(message)
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
