"""Use cases of the parking core that the shell runs on a timer or from the command line:
erase the plates the retention no longer allows (docs/PRIVACY.md).

Each district is erased in a unit of work of its own (parking/unit_of_work.py): a big
city's retention holds the write lock for one district at a time, and a run that fails
part-way keeps the districts done (a second run erases nothing twice).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parking.models import District
from parking.retention import RetentionPlan, RetentionResult, erase_old_plates
from parking.unit_of_work import end_reads, writing


def erase_retained_plates(
    db: Session, now: datetime, days: int, plan: RetentionPlan, district_id: int | None = None
) -> list[tuple[str, RetentionResult]]:
    """The plates of settled stays that ended more than `days` ago erased, with each
    package's copies through `plan`, district by district (or in the one named); returns
    each district's slug and what was erased."""
    query = select(District.id, District.slug).order_by(District.id)
    if district_id is not None:
        query = query.where(District.id == district_id)
    districts = [(row.id, row.slug) for row in end_reads(db).execute(query)]
    done = []
    for found_id, slug in districts:
        with writing(db):
            done.append((slug, erase_old_plates(db, db.get_one(District, found_id), now, days, plan)))
    return done
