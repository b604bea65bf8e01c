"""Every staff lookup by plate is on the audit log the bureau reads: the warden's plate
check, the stay search by plate, and a search of the log itself by plate."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models_warden import AUDIT_SEARCH, STAY_SEARCH, WARDEN_PLATE_CHECK, PlateCheck
from fixtures.builders import build_small_district, cds_event
from parking.clock import FixedClock
from parking.plates import plate_key
from parking.staff import issue_staff_token
from sensors.intake import ingest_batch

PLATE = "贵A12345"


def test_staff_lookups_by_plate_are_audited_and_the_bureau_reads_them_all(
    client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    small = build_small_district(db, clock.now())
    start = clock.now() - timedelta(hours=1)
    event = cds_event(small.stake_a, small.bays[0], "park_start", start, plate=PLATE, confidence=95)
    assert ingest_batch(db, small.stake_a.device, [event], clock.now(), timedelta(minutes=2)).success == 1
    tokens = {
        role: issue_staff_token(db, small.district, role, f"{role} one", clock.now())[1]
        for role in ("police", "warden", "bureau")
    }
    db.commit()

    def get(url: str, role: str) -> dict[str, object]:
        response = client.get(url, headers={"Authorization": f"Bearer {tokens[role]}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()  # type: ignore[no-any-return]

    assert get("/api/v1/testville/stays?since=2026-01-01T00:00:00Z", "police")["total"] == 1
    assert db.scalar(select(PlateCheck.id)) is None  # no plate asked, nothing to audit
    assert get("/api/v1/testville/stays?plate=贵a-12345", "police")["total"] == 1
    get(f"/api/v1/testville/plates/{PLATE}/check", "warden")
    log = get("/api/v1/testville/audit/plate-checks", "bureau")
    rows = {row["route"]: row for row in log["checks"]}  # type: ignore[union-attr]
    assert set(rows) == {STAY_SEARCH, WARDEN_PLATE_CHECK}
    search = rows[STAY_SEARCH]
    assert (search["staff"], search["role"], search["plate"], search["result"]) == (
        "police one",
        "police",
        PLATE,
        {"stays": 1},
    )
    assert {"id", "checked_at", "bay", "lat", "lng"} <= set(search)  # the old shape, kept
    by_plate = get(f"/api/v1/testville/audit/plate-checks?plate={PLATE}", "bureau")
    assert by_plate["total"] == 2
    audited = db.scalars(select(PlateCheck).order_by(PlateCheck.id)).all()
    assert [(row.route, row.plate_key) for row in audited][-1] == (AUDIT_SEARCH, plate_key(PLATE))
