"""The place a report is about: the whole district, one area or one road."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from parking.errors import InvalidInputError, NotFoundError
from parking.models import Area, District, Road

PLACE_TYPES = ("district", "area", "road")


class UnknownPlaceError(NotFoundError):
    code = "unknown_place"


class BadPlaceError(InvalidInputError):
    code = "bad_place"


@dataclass(frozen=True)
class Place:
    """`kind` is district, area or road; `road_ids` the roads it holds (all, for a district)."""

    kind: str
    uuid: str | None
    name: str
    road_ids: tuple[int, ...]

    @property
    def metrics_place(self) -> tuple[str, str] | None:
        """The same place as CDS Metrics names it (a road is a curb zone)."""
        if self.uuid is None:
            return None
        return ("zone" if self.kind == "road" else "area", self.uuid)

    def within(self, road_column: InstrumentedAttribute[Any]) -> list[ColumnElement[bool]]:
        """The WHERE clauses of "this road id is in the place" (none for the district)."""
        return [] if self.kind == "district" else [road_column.in_(self.road_ids)]


def find_place(db: Session, district: District, kind: str, place_id: str | None) -> Place:
    """The district itself, or one of its areas or roads by uuid."""
    if kind not in PLACE_TYPES:
        raise BadPlaceError("place_type must be district, area or road", ["place_type"])
    if kind == "district":
        roads = db.scalars(select(Road.id).where(Road.district_id == district.id).order_by(Road.id))
        return Place("district", None, district.name, tuple(roads))
    if not place_id:
        raise BadPlaceError(f"place_id is required for a {kind}", ["place_id"])
    try:
        place_id = str(uuid.UUID(place_id))
    except ValueError:
        raise BadPlaceError("place_id must be a UUID", ["place_id"]) from None
    model = Area if kind == "area" else Road
    found = db.execute(
        select(model.id, model.name).where(model.uuid == place_id, model.district_id == district.id)
    ).first()
    if found is None:
        raise UnknownPlaceError(f"no {kind} {place_id} in this district", ["place_id"])
    if kind == "road":
        return Place("road", place_id, found.name, (found.id,))
    roads = db.scalars(select(Road.id).where(Road.area_id == found.id).order_by(Road.id))
    return Place("area", place_id, found.name, tuple(roads))
