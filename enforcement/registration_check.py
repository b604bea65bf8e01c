"""After an attendant registers something at a bay by hand, whether the bay's video stake saw
otherwise, so the handheld can tell the attendant at once: a departure while the bay still
holds a stay, or a plate the camera read differently."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.errors import N_, Message
from parking.models import Bay, District, Stay
from parking.plate_rules import accept_plate
from sensors.models import CurbEvent


def stake_disagrees(
    db: Session, district: District, bay_uuid: str, kind: str, plate: str | None
) -> Message | None:
    """A sentence saying what the stake saw that contradicts the registration, or None."""
    bay = db.scalar(select(Bay).where(Bay.district_id == district.id, Bay.uuid == bay_uuid))
    if bay is None or bay.open_stay_id is None:
        return None
    stay = db.get(Stay, bay.open_stay_id)
    if stay is None:
        return None
    if kind == "departure":
        if not stay.plate:
            return Message(N_("the bay still holds a vehicle without a plate read since a later arrival"))
        return Message(
            N_("the bay still holds a vehicle (%(plate)s) since a later arrival"), {"plate": stay.plate}
        )
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
    if read is None or read[0] == accept_plate(district.plate_rule, plate):
        return None
    if read[1] is None:
        return Message(N_("the stake read %(plate)s at this bay"), {"plate": read[0]})
    return Message(
        N_("the stake read %(plate)s at this bay, %(confidence)s%% sure"),
        {"plate": read[0], "confidence": read[1]},
    )
