"""Every staff lookup by plate is on the audit log the bureau reads: the warden's plate
check, the stay search by plate, and a search of the log itself by plate. Bulk answers
(stays, CDS events) carry plates only for the roles that enforce, each such answer audited;
the bureau and city get them without plates."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models_warden import (
    AUDIT_SEARCH,
    EVENT_LIST,
    STAY_LIST,
    STAY_SEARCH,
    WARDEN_PLATE_CHECK,
    PlateCheck,
)
from fixtures.builders import build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.plates import plate_key
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


def bulk_town(db: Session, clock: FixedClock) -> dict[str, dict[str, str]]:
    """A district with one plated stay and its camera event; a token of every staff role."""
    small = build_small_district(db, clock.now())
    start = clock.now() - timedelta(minutes=30)
    event = cds_event(small.stake_a, small.bays[0], "park_start", start, plate=PLATE, confidence=95)
    assert ingest_batch(db, small.stake_a.device, [event], clock.now(), timedelta(minutes=2)).success == 1
    roles = ("admin", "bureau", "warden", "attendant", "police", "city")
    auth = {
        role: {"Authorization": f"Bearer {issue_staff_token(db, small.district, role, role, clock.now())[1]}"}
        for role in roles
    }
    db.commit()
    return auth


STAYS = "/api/v1/testville/stays?since=2026-01-01T00:00:00Z&page_size=1000"
EVENTS = "/cds/testville/events/events"


def test_the_bureau_and_city_list_stays_and_events_without_plates_and_cannot_search_by_plate(
    client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    """Security review M3: a city analyst paged through every stay with its plate, unaudited."""
    auth = bulk_town(db, clock)
    for role in ("bureau", "city"):
        stays = client.get(STAYS, headers=auth[role]).get_json()["stays"]
        assert len(stays) == 1 and stays[0]["plate"] is None and stays[0]["plate_confidence"] is None
        events = client.get(EVENTS, headers=auth[role]).get_json()["data"]["events"]
        assert len(events) == 1
        assert (
            "vehicle_license_plate" not in events[0] and "vehicle_license_plate_confidence" not in events[0]
        )
        search = client.get(f"/api/v1/testville/stays?plate={PLATE}", headers=auth[role])
        assert search.status_code == 403 and search.get_json()["code"] == "plates_not_allowed"
    assert db.scalar(select(PlateCheck.id)) is None  # nothing with a plate went out


def test_every_bulk_answer_with_plates_to_an_enforcing_role_is_audited(
    client: FlaskClient, db: Session, clock: FixedClock
) -> None:
    auth = bulk_town(db, clock)
    for role in ("admin", "warden", "attendant", "police"):
        assert client.get(STAYS, headers=auth[role]).get_json()["stays"][0]["plate"] == PLATE
        events = client.get(EVENTS, headers=auth[role]).get_json()["data"]["events"]
        assert events[0]["vehicle_license_plate"] == PLATE
    rows = db.scalars(select(PlateCheck).order_by(PlateCheck.id)).all()
    assert [(row.staff_role, row.route) for row in rows] == [
        (role, route)
        for role in ("admin", "warden", "attendant", "police")
        for route in (STAY_LIST, EVENT_LIST)
    ]
    assert rows[0].plate is None and rows[0].result == {
        "query": "since=2026-01-01T00:00:00Z&page_size=1000",
        "stays": 1,
        "plates": 1,
    }
    empty = client.get(
        "/api/v1/testville/stays?since=2025-01-01T00:00:00Z&until=2025-01-02T00:00:00Z",
        headers=auth["police"],
    )
    assert empty.get_json()["stays"] == []
    assert len(db.scalars(select(PlateCheck)).all()) == len(rows)  # no plate went out, no row
