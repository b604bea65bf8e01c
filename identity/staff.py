"""Staff accounts and bearer tokens. An account signs in with a hashed password (argon2, by
`identity.passwords`, which the caller passes in, so a test can hash cheaply) and
gets a token that expires; operator scripts get tokens without an account. Tokens are kept
only as a hash and are revocable; disabling an account revokes all of its tokens. A warden's
or attendant's account may have a beat: the roads they work."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from identity.models import STAFF_ROLES, StaffAccount, StaffToken
from identity.tokens import hash_token, new_token
from parking.errors import ConflictError, DomainError, InvalidInputError, NotFoundError
from parking.models import District, Road

# Only these roles work a beat; police, city, bureau and admin are district-wide.
BEAT_ROLES = ("warden", "attendant")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class InvalidTokenError(DomainError):
    code = "invalid_token"
    status = 401


class UsernameTakenError(ConflictError):
    code = "username_taken"


class WeakPasswordError(InvalidInputError):
    code = "weak_password"


class UnknownRoadError(InvalidInputError):
    code = "unknown_road"


class UnknownAccountError(NotFoundError):
    code = "unknown_account"


class UnknownTokenError(NotFoundError):
    code = "unknown_token"


class SelfDisableError(ConflictError):
    code = "cannot_disable_self"


def normalise_username(username: str) -> str:
    return username.strip().lower()


def issue_staff_token(
    db: Session,
    district: District,
    role: str,
    name: str,
    now: datetime,
    *,
    account_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[StaffToken, str]:
    """A new token for a role; the plain token is returned this once only."""
    if role not in STAFF_ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(STAFF_ROLES)}", ["role"])
    token = new_token("st_")
    row = StaffToken(
        district_id=district.id,
        name=name,
        role=role,
        token_hash=hash_token(token),
        created_at=now,
        account_id=account_id,
        expires_at=expires_at,
    )
    db.add(row)
    db.flush()
    return row, token


# Built once: every staff request runs it.
_BY_TOKEN = (
    select(StaffToken, StaffAccount)
    .outerjoin(StaffAccount, StaffAccount.id == StaffToken.account_id)
    .where(StaffToken.token_hash == bindparam("digest"))
)


def staff_for_token(db: Session, district_id: int, token: str, now: datetime) -> StaffToken | None:
    """The staff token, if it is one of this district; `InvalidTokenError` when it was
    revoked, has expired or its account is disabled (the account is loaded with it)."""
    found = db.execute(_BY_TOKEN, {"digest": hash_token(token)}).first()
    if found is None or found[0].district_id != district_id:
        return None
    row, account = found
    if row.revoked_at is not None:
        raise InvalidTokenError("the token was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise InvalidTokenError("the token has expired: sign in again")
    if account is not None and account.disabled_at is not None:
        raise InvalidTokenError("the account is disabled")
    return row


def beat_of(db: Session, staff: StaffToken) -> frozenset[int] | None:
    """The road ids a token's holder may work; None is the whole district."""
    if staff.account_id is None or staff.role not in BEAT_ROLES:
        return None
    account = db.get(StaffAccount, staff.account_id)  # in the session since staff_for_token
    return frozenset(account.beat) if account is not None and account.beat else None


def create_account(
    db: Session,
    district: District,
    username: str,
    password: str,
    display_name: str,
    role: str,
    now: datetime,
    beat: Collection[str] = (),
    *,
    hash_password: Callable[[str], str],
) -> StaffAccount:
    """A staff account, its password stored as `hash_password` hashes it. The username is
    unique in the district; the password has at least MIN_PASSWORD_LENGTH characters; only
    wardens and attendants have a beat (roads by name or CDS curb zone id)."""
    username = normalise_username(username)
    if not _USERNAME.fullmatch(username):
        raise InvalidInputError(
            "a username is 2 to 64 lower-case letters, digits, '.', '_' or '-'", ["username"]
        )
    if role not in STAFF_ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(STAFF_ROLES)}", ["role"])
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters", ["password"]
        )
    if beat and role not in BEAT_ROLES:
        raise InvalidInputError(f"only {' and '.join(BEAT_ROLES)} accounts have a beat", ["beat"])
    taken = select(StaffAccount.id).where(
        StaffAccount.district_id == district.id, StaffAccount.username == username
    )
    if db.scalar(taken) is not None:
        raise UsernameTakenError(f"{district.slug} has an account {username!r}", ["username"])
    account = StaffAccount(
        district_id=district.id,
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        password_hash=hash_password(password),
        beat=road_ids(db, district, beat) or None,
        created_at=now,
    )
    db.add(account)
    db.flush()
    return account


def road_ids(db: Session, district: District, roads: Collection[str]) -> list[int]:
    """Ids of the district's roads named (by name or CDS curb zone id), in the order given."""
    if not roads:
        return []
    rows = db.execute(
        select(Road.id, Road.name, Road.uuid).where(
            Road.district_id == district.id, or_(Road.name.in_(roads), Road.uuid.in_(roads))
        )
    )
    found: dict[str, int] = {}
    for row_id, name, zone_id in rows:
        found[name] = found[zone_id] = row_id
    missing = [r for r in roads if r not in found]
    if missing:
        raise UnknownRoadError(f"no road {', '.join(missing)} in {district.slug}", missing)
    return list(dict.fromkeys(found[r] for r in roads))


def road_names(db: Session, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {row_id: name for row_id, name in db.execute(select(Road.id, Road.name).where(Road.id.in_(ids)))}


def list_accounts(
    db: Session, district: District, now: datetime
) -> list[tuple[StaffAccount, list[StaffToken]]]:
    """Every account of the district by username, with its tokens still in force."""
    accounts = db.scalars(
        select(StaffAccount).where(StaffAccount.district_id == district.id).order_by(StaffAccount.username)
    ).all()
    live = db.scalars(
        select(StaffToken)
        .where(
            StaffToken.district_id == district.id,
            StaffToken.account_id.is_not(None),
            StaffToken.revoked_at.is_(None),
            or_(StaffToken.expires_at.is_(None), StaffToken.expires_at > now),
        )
        .order_by(StaffToken.id)
    )
    tokens: dict[int | None, list[StaffToken]] = defaultdict(list)
    for token in live:
        tokens[token.account_id].append(token)
    return [(account, tokens[account.id]) for account in accounts]


def disable_account(
    db: Session, district: District, account_id: int, now: datetime, by: StaffToken
) -> StaffAccount:
    """Disable an account and revoke every token it holds; an admin cannot disable their own."""
    account = db.get(StaffAccount, account_id)
    if account is None or account.district_id != district.id:
        raise UnknownAccountError(f"no staff account {account_id} in {district.slug}", ["account"])
    if by.account_id == account.id:
        raise SelfDisableError("an admin cannot disable their own account", ["account"])
    if account.disabled_at is None:
        account.disabled_at = now
    db.execute(
        update(StaffToken)
        .where(StaffToken.account_id == account.id, StaffToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    db.flush()
    return account


def revoke_token(db: Session, district: District, token_id: int, now: datetime) -> StaffToken:
    """Revoke a token of the district; revoking it again changes nothing."""
    token = db.get(StaffToken, token_id)
    if token is None or token.district_id != district.id:
        raise UnknownTokenError(f"no staff token {token_id} in {district.slug}", ["token"])
    if token.revoked_at is None:
        token.revoked_at = now
        db.flush()
    return token
