"""The district of a request by its slug, cached per worker process (`DISTRICT_CACHE_SECONDS`,
5 by default; 0 reads it on every request, as the tests do).

A district row changes rarely (its name or payment window, by an operator), and the hot
routes, a single pushed event and a plate check, would otherwise spend a statement of every
request on it. The cached row is handed to the request's session without a read
(`merge(load=False)`), so it behaves as a row loaded there; an edit reaches each worker within
the configured seconds. Nothing about who may call is cached here: tokens are checked against
the database on every request."""

from __future__ import annotations

import time

from flask import current_app
from sqlalchemy import inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from parking.inventory import get_district
from parking.models import District

_COLUMNS = [column.key for column in inspect(District).column_attrs]


def district_for(db: Session, slug: str) -> District:
    """The district with this slug (`UnknownDistrictError` when there is none)."""
    seconds = float(current_app.config["DISTRICT_CACHE_SECONDS"])
    if seconds <= 0:
        return get_district(db, slug)
    cache: dict[str, tuple[float, District]] = current_app.extensions.setdefault("parking.districts", {})
    found = cache.get(slug)
    if found is not None and time.monotonic() < found[0]:
        return db.merge(found[1], load=False)
    district = get_district(db, slug)
    cache[slug] = (time.monotonic() + seconds, _detached_copy(district))
    return district


def _detached_copy(district: District) -> District:
    """A copy of the row's values, detached (in no session), for `merge(load=False)`."""
    copy = District(**{name: getattr(district, name) for name in _COLUMNS})
    make_transient_to_detached(copy)
    return copy
