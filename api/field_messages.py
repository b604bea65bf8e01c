"""marshmallow's messages about one field ("Unknown field.", "Must be greater than or equal to
0.") in the reader's language. marshmallow words them in English, some with a value filled in;
each is matched here to a catalogue message with a named placeholder, and worded through the
catalogue of the request (docs/I18N.md). A message marshmallow does not write (a schema's own
check) goes through the catalogue as it is."""

from __future__ import annotations

import re

from flask_babel import gettext

from parking.errors import N_

# Written by marshmallow exactly as here (fields' and validators' default messages, marshmallow 4).
PLAIN = (
    N_("Missing data for required field."),
    N_("Unknown field."),
    N_("Field may not be null."),
    N_("Invalid type."),
    N_("Invalid value."),
    N_("Invalid input type."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Not a valid string."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid boolean."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid aware datetime."),
    N_("Not a valid naive datetime."),
    N_("Not a valid time."),
    N_("Not a valid period of time."),
    N_("Not a valid list."),
    N_("Not a valid tuple."),
    N_("Not a valid mapping type."),
    N_("Not a valid UUID."),
    N_("Not a valid URL."),
    N_("Not a valid email address."),
    N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."),
)
_PLAIN = frozenset(PLAIN)

# marshmallow's messages with a value filled in: the pattern that reads the value back, and the
# catalogue message that words it.
_VALUE = r"(?P<{}>.+?)"
WITH_VALUES: tuple[tuple[str, str], ...] = (
    ("Must be one of: {choices}.", N_("Must be one of: %(choices)s.")),
    ("Length must be between {min} and {max}.", N_("Length must be between %(min)s and %(max)s.")),
    ("Length must be {equal}.", N_("Length must be %(equal)s.")),
    ("Longer than maximum length {max}.", N_("Longer than maximum length %(max)s.")),
    ("Shorter than minimum length {min}.", N_("Shorter than minimum length %(min)s.")),
    ("Must be greater than or equal to {min} and less than or equal to {max}.",
     N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s.")),
    ("Must be greater than or equal to {min} and less than {max}.",
     N_("Must be greater than or equal to %(min)s and less than %(max)s.")),
    ("Must be greater than {min} and less than or equal to {max}.",
     N_("Must be greater than %(min)s and less than or equal to %(max)s.")),
    ("Must be greater than {min} and less than {max}.", N_("Must be greater than %(min)s and less than %(max)s.")),
    ("Must be greater than or equal to {min}.", N_("Must be greater than or equal to %(min)s.")),
    ("Must be greater than {min}.", N_("Must be greater than %(min)s.")),
    ("Must be less than or equal to {max}.", N_("Must be less than or equal to %(max)s.")),
    ("Must be less than {max}.", N_("Must be less than %(max)s.")),
)  # fmt: skip


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile(
        "".join(_VALUE.format(part) if i % 2 else re.escape(part) for i, part in enumerate(parts))
    )


_PATTERNS = [(_pattern(template), message) for template, message in WITH_VALUES]


def worded(message: str) -> str:
    """One of marshmallow's messages in the request's language."""
    if message in _PLAIN:
        return str(gettext(message))
    for pattern, catalogue_message in _PATTERNS:
        match = pattern.fullmatch(message)
        if match:
            return str(gettext(catalogue_message, **match.groupdict()))
    return str(gettext(message))
