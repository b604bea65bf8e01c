"""After an attendant registers something at a bay by hand, whether the bay's video stake saw
otherwise, so the handheld can tell the attendant at once: a departure while the bay still
holds a stay, or a plate the camera read differently."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.models import Bay, District, Stay
from parking.plates import normalise_plate
from sensors.models import CurbEvent


def stake_disagrees(
    db: Session, district: District, bay_uuid: str, kind: str, plate: str | None
) -> str | None:
    """A sentence saying what the stake saw that contradicts the registration, or None."""
    bay = db.scalar(select(Bay).where(Bay.district_id == district.id, Bay.uuid == bay_uuid))
    if bay is None or bay.open_stay_id is None:
        return None
    stay = db.get(Stay, bay.open_stay_id)
    if stay is None:
        return None
    if kind == "departure":
        return f"the bay still holds a vehicle ({stay.plate or 'no plate'}) since a later arrival"
    if not plate:
        return None
    read = db.execute(
        select(CurbEvent.plate, CurbEvent.plate_confidence)
        .where(
            CurbEvent.district_id == district.id,
            CurbEvent.event_id.in_(stay.event_ids),
            CurbEvent.data_source_type == "camera",
            CurbEvent.plate.is_not(None),
        )
        .order_by(CurbEvent.event_time.desc())
        .limit(1)
    ).first()
    if read is None or read[0] == normalise_plate(plate):
        return None
    confidence = f", {read[1]}% sure" if read[1] is not None else ""
    return f"the stake read {read[0]} at this bay{confidence}"
