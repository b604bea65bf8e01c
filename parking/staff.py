"""Staff bearer tokens: issued per district and role, kept only as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.errors import InvalidInputError
from parking.models import STAFF_ROLES, District, StaffToken


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_staff_token(
    db: Session, district: District, role: str, name: str, now: datetime
) -> tuple[StaffToken, str]:
    """A new token for a role; the plain token is returned this once only."""
    if role not in STAFF_ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(STAFF_ROLES)}", ["role"])
    token = "st_" + secrets.token_urlsafe(32)
    row = StaffToken(district_id=district.id, name=name, role=role, token_hash=_hash(token), created_at=now)
    db.add(row)
    db.flush()
    return row, token


def staff_for_token(db: Session, district_id: int, token: str) -> StaffToken | None:
    row = db.scalars(select(StaffToken).where(StaffToken.token_hash == _hash(token))).first()
    if row is None or row.revoked_at is not None or row.district_id != district_id:
        return None
    return row
