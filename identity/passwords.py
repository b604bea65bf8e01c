"""Password hashing for every account, drivers' and staff's: argon2id at the library's
recommended cost (tests swap `HASHER` for a cheaper one)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed. No hash (no such account) is checked against a
    dummy hash of the same cost, so it takes as long, and never matches."""
    try:
        HASHER.verify(password_hash or _dummy_hash(HASHER), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("a password nobody has")
