"""Licence plates: one normal form on the way in, how much to trust a read, and the keyed
hash that plates are stored and looked up by (docs/PRIVACY.md)."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from parking.errors import InvalidInputError

# Without separators: 2 to 12 of ASCII letters, digits and CJK ideographs (Chinese plates
# start with a province character, e.g. 贵A12345; Australian ones are plain, e.g. ABC123).
_PLATE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]{2,12}$")
_SEPARATORS = re.compile(r"[\s\-·.•・]")

# A plate typed in by an attendant standing at the bay beats any camera read.
IN_PERSON_SCORE = 1000
UNRATED_READ_SCORE = 50


class InvalidPlateError(InvalidInputError):
    code = "invalid_plate"


def normalise_plate(raw: str) -> str:
    """NFKC (full-width letters and digits, as Chinese phone keyboards type them, become
    ASCII), separators removed, upper case; raises InvalidPlateError for anything else odd.
    Whether the district accepts the plate is its plate rule's business (parking/plate_rules.py)."""
    plate = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    # Check before upper-casing: "ß".upper() is "SS" and "ﬁ".upper() is "FI".
    if not _PLATE.fullmatch(plate):
        raise InvalidPlateError(f"{raw!r} is not a licence plate", ["vehicle_license_plate"])
    return plate.upper()


def plate_score(source: str, confidence: int | None) -> int:
    """How far a plate read is trusted: in-person entry first, then camera confidence."""
    if source == "in_person":
        return IN_PERSON_SCORE
    return confidence if confidence is not None else UNRATED_READ_SCORE


# Development and tests hash with this fixed, public key so their keys are reproducible.
# Production MUST set PARKING_PLATE_HASH_KEY to a long random secret: anyone who knows the key
# can hash every plausible plate and so turn a key back into its plate.
DEVELOPMENT_PLATE_HASH_KEY = "development-only-plate-hash-key-not-secret"
PLATE_KEY_LENGTH = 32

_hash_key = [DEVELOPMENT_PLATE_HASH_KEY.encode()]


def use_plate_hash_key(secret: str) -> None:
    """Set the process's plate hash key (create_app does, from PLATE_HASH_KEY). One key per
    process: every stored key and every lookup must be hashed with the same one."""
    if not secret:
        raise ValueError("the plate hash key must not be empty")
    _hash_key[0] = secret.encode()


def plate_key(plate: str) -> str:
    """The keyed hash plates are looked up by: HMAC-SHA256 of the normalised plate, hex,
    the first 32 characters (128 bits). Raises InvalidPlateError like `normalise_plate`."""
    digest = hmac.new(_hash_key[0], normalise_plate(plate).encode(), hashlib.sha256)
    return digest.hexdigest()[:PLATE_KEY_LENGTH]


def plate_key_or_none(plate: str | None) -> str | None:
    """`plate_key` of a stored plate, None for none."""
    return None if plate is None else plate_key(plate)
