"""Licence plates: one normal form on the way in, and how much to trust a read."""

from __future__ import annotations

import re

from parking.errors import InvalidInputError

# Without separators: 2 to 12 of ASCII letters, digits and CJK ideographs (Chinese plates
# start with a province character, e.g. 贵A12345; Australian ones are plain, e.g. ABC123).
_PLATE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]{2,12}$")
_SEPARATORS = re.compile(r"[\s\-·.•]")

# A plate typed in by an attendant standing at the bay beats any camera read.
IN_PERSON_SCORE = 1000
UNRATED_READ_SCORE = 50


class InvalidPlateError(InvalidInputError):
    code = "invalid_plate"


def normalise_plate(raw: str) -> str:
    """Upper case, separators removed; raises InvalidPlateError for anything else odd."""
    plate = _SEPARATORS.sub("", raw)
    # Check before upper-casing: "ß".upper() is "SS" and "ﬁ".upper() is "FI".
    if not _PLATE.fullmatch(plate):
        raise InvalidPlateError(f"{raw!r} is not a licence plate", ["vehicle_license_plate"])
    return plate.upper()


def plate_score(source: str, confidence: int | None) -> int:
    """How far a plate read is trusted: in-person entry first, then camera confidence."""
    if source == "in_person":
        return IN_PERSON_SCORE
    return confidence if confidence is not None else UNRATED_READ_SCORE
