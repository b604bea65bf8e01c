"""One bay's fold written as one statement, on PostgreSQL: a single pushed event writes one
stay (a new one, or its open one changed) and the bay's state, and the stay's INSERT or
UPDATE goes in a WITH of the bay's UPDATE. That spares a round trip of the event's eight or
nine; SQLite, in process, has none to spare. parking/stays.py decides when it applies."""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from parking.db import run
from parking.models import Bay, Stay

_STAY = cast(Table, Stay.__table__)
_BAY = cast(Table, Bay.__table__)
# The columns of a stay that a fold may change; the bay, start event and start never do.
MUTABLE = (
    "plate",
    "plate_key",
    "plate_confidence",
    "plate_source",
    "ended_at",
    "ended_by",
    "end_event_id",
    "event_ids",
    "sources",
    "updated_at",
)


def update_stay_and_bay(db: Session, stay: dict[str, Any], bay: dict[str, Any]) -> None:
    """UPDATE the stay (`id` and the MUTABLE columns) and its bay (`id`, `state`,
    `state_since`, `last_event_at`, `open_stay_id`) in one statement."""
    run(db, _STAY_UPDATE_AND_BAY, {**_named("s", stay), **_named("b", bay)})


def insert_stay_and_bay(db: Session, stay: dict[str, Any], bay: dict[str, Any], opened: bool) -> int:
    """INSERT the stay and UPDATE its bay in one statement; `opened`: the new stay is the
    bay's open stay (the bay's `open_stay_id` is then the new id). Returns the new id."""
    params = {**_named("s", stay), **_named("b", bay)}
    if opened:
        del params["b_open_stay_id"]
    stay_id: int = run(db, _stay_insert_and_bay(tuple(stay), opened), params).scalar_one()
    return stay_id


def _named(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    """The values under names that are no column's: SQLAlchemy takes a parameter named as a
    column of an UPDATE's table for a value to SET."""
    return {f"{prefix}_{name}": value for name, value in values.items()}


def _bay_update(open_stay_id: Any) -> Any:
    return (
        update(_BAY)
        .where(_BAY.c.id == bindparam("b_id"))
        .values(
            state=bindparam("b_state"),
            state_since=bindparam("b_state_since"),
            last_event_at=bindparam("b_last_event_at"),
            open_stay_id=open_stay_id,
        )
    )


_CHANGED_STAY = (
    update(_STAY)
    .where(_STAY.c.id == bindparam("s_id"))
    .values({name: bindparam(f"s_{name}") for name in MUTABLE})
    .cte("changed_stay")
)
# Built once, as every statement a single event runs (building costs more than running it).
_STAY_UPDATE_AND_BAY = _bay_update(bindparam("b_open_stay_id")).add_cte(_CHANGED_STAY)


@functools.cache
def _stay_insert_and_bay(columns: tuple[str, ...], opened: bool) -> Any:
    new_stay = (
        insert(_STAY)
        .values({name: bindparam(f"s_{name}") for name in columns})
        .returning(_STAY.c.id)
        .cte("new_stay")
    )
    stay_id = select(new_stay.c.id).scalar_subquery()
    bay_update = _bay_update(stay_id if opened else bindparam("b_open_stay_id"))
    return bay_update.add_cte(new_stay).returning(stay_id)
