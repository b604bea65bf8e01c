"""Who may see plates in bulk answers (docs/PRIVACY.md, "Plates in staff listings").

The roles that enforce (admin, warden, attendant, police: the plate checkers of the access
matrix) get stays and CDS events with their plates, and every answer that carries a plate
puts one row on the plate-lookup audit log. The roles that do not enforce (bureau, city) get
the same answers with the plates left out, and may not filter by plate."""

from __future__ import annotations

from api.access import PLATE_READERS
from api.errors import ApiError
from identity.models import StaffToken
from parking.errors import N_, Message


def reads_plates(staff: StaffToken) -> bool:
    return staff.role in PLATE_READERS


def refuse_plate_filter(staff: StaffToken, plate: str | None) -> None:
    """403 `plates_not_allowed` for a search by plate from a role that does not enforce."""
    if plate and not reads_plates(staff):
        raise ApiError(
            403,
            "plates_not_allowed",
            Message(N_("the %(role)s role does not search by plate"), {"role": staff.role}),
            ["plate"],
        )
