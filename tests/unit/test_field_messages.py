"""Every message marshmallow writes about a field has a catalogue message, so a marshmallow
upgrade that words one differently fails here rather than reaching a Chinese reader in English."""

from __future__ import annotations

import inspect

import pytest
from marshmallow import fields, validate

from api.field_messages import PLAIN, WITH_VALUES, _pattern

SKIPPED = {
    # Only ever raised while dumping an answer, which the app does from its own data.
    '"{input}" cannot be formatted as a date.',
    '"{input}" cannot be formatted as a {obj_type}.',
    "{input!r} cannot be formatted as a timedelta.",
    # The app has no IP address fields.
    "Not a valid IP address.", "Not a valid IP interface.", "Not a valid IPv4 address.",
    "Not a valid IPv4 interface.", "Not a valid IPv6 address.", "Not a valid IPv6 interface.",
}  # fmt: skip


def marshmallow_messages() -> set[str]:
    found: set[str] = set()
    for _, field in inspect.getmembers(fields, inspect.isclass):
        if issubclass(field, fields.Field):
            found |= {m for m in getattr(field, "default_error_messages", {}).values() if isinstance(m, str)}
    for _, validator in inspect.getmembers(validate, inspect.isclass):
        found |= {
            getattr(validator, a)
            for a in dir(validator)
            if a.startswith("message") and isinstance(getattr(validator, a), str)
        }
    range_ops = {"greater than", "greater than or equal to", "less than", "less than or equal to"}
    return found - SKIPPED - range_ops


def examples(template: str) -> list[str]:
    """The message as marshmallow writes it, with values filled in (each {name} by 7, the range
    operators by each of their words)."""
    if "{min_op}" in template or "{max_op}" in template:
        words = [("greater than", "less than"), ("greater than or equal to", "less than or equal to")]
        return [
            template.format(min_op=low, max_op=high).format(min=7, max=9)
            for low in dict(words)
            for high in dict(words).values()
        ]
    if "{awareness}" in template:
        return [template.format(awareness=a, obj_type="datetime") for a in ("aware", "naive")]
    if "{obj_type}" in template:
        return [template.format(obj_type=t) for t in ("datetime", "time", "date")]
    return [template.format(choices="a, b", min=7, max=9, equal=8) if "{" in template else template]


@pytest.mark.parametrize("template", sorted(marshmallow_messages()))
def test_each_message_marshmallow_writes_is_in_the_catalogue(template: str) -> None:
    patterns = [_pattern(t) for t, _ in WITH_VALUES]
    for message in examples(template):
        assert message in PLAIN or any(p.fullmatch(message) for p in patterns), message
