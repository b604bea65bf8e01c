"""Bearer tokens of every kind (staff, drivers, devices): made at random with a prefix that
says whose they are, and stored only as their hash, so a leaked table grants nothing."""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str) -> str:
    """A fresh token, `prefix` first (e.g. `st_` staff, `dr_` driver); shown once only."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored of a token and looked up by: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
