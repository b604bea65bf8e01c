"""What one request costs the database (issue 17): a stake's single event and a warden's plate
check each run a fixed, small number of statements, and the district cache spares one more."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

from api import create_app
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from parking.models import Stay

PLATE = "贵A12345"


@contextmanager
def statements(connection: Connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def push_arrival(
    app: Flask, town: SmallDistrict, clock: FixedClock, bay: str, seen: list[str], kind: str = "park_start"
) -> None:
    item = cds_event(town.stake_a, town.bay(bay), kind, clock.now() - timedelta(minutes=5), plate=PLATE)
    seen.clear()  # the test's own reads above are not the request's
    response = app.test_client().post(
        "/cds/testville/events/event", json=[item], headers={"Authorization": f"Bearer {town.stake_a.token}"}
    )
    assert response.get_json() == {"success": 1, "total": 1, "failures": []}


def check_plate(app: Flask, token: str, town: SmallDistrict, seen: list[str]) -> None:
    bay = town.bay("T1-1").uuid
    seen.clear()
    response = app.test_client().get(
        f"/api/v1/testville/plates/{PLATE}/check?bay={bay}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["parked"] is True


def test_a_single_event_and_a_plate_check_run_a_handful_of_statements(
    app: Flask, db: Session, connection: Connection, clock: FixedClock
) -> None:
    town = build_small_district(db, clock.now())
    token = issue_staff_token(db, town.district, "warden", "warden one", clock.now())[1]
    db.commit()
    with statements(connection) as pushed:
        push_arrival(app, town, clock, "T1-1", pushed)
    # district, device token, bays (each with whether the stake sees it, locked for the fold),
    # event INSERT, device UPDATE, stay INSERT, bay UPDATE; on PostgreSQL the stay's INSERT
    # goes in a WITH of the bay's UPDATE (parking/bay_write.py)
    postgres = connection.dialect.name == "postgresql"
    assert len(pushed) == (6 if postgres else 7), "\n".join(s.split("\n")[0][:60] for s in pushed)
    if postgres:
        assert pushed[-1].startswith("WITH new_stay AS"), pushed[-1]
    with statements(connection) as checked:
        check_plate(app, token, town, checked)
    # district, staff token, stay with fee, payments and the tariff in force, ledger,
    # violations and citations (one statement), audit INSERT (from the bay's row)
    assert len(checked) == 6, "\n".join(s.split("\n")[0][:60] for s in checked)


def test_a_single_arrival_and_departure_write_their_stay_and_bay_as_they_should(
    app: Flask, db: Session, connection: Connection, clock: FixedClock
) -> None:
    town = build_small_district(db, clock.now())
    db.commit()
    bay = town.bay("T1-1")
    push_arrival(app, town, clock, "T1-1", [])
    stay = db.scalars(select(Stay).where(Stay.bay_id == bay.id)).one()
    db.refresh(bay)
    assert (bay.state, bay.open_stay_id, stay.ended_at) == ("occupied", stay.id, None)
    clock.advance(timedelta(minutes=1))
    with statements(connection) as departed:
        push_arrival(app, town, clock, "T1-1", departed, kind="park_end")
    # district, device token, bays, event INSERT, device UPDATE, the open stay, stay UPDATE,
    # bay UPDATE; on PostgreSQL the stay's UPDATE goes in a WITH of the bay's UPDATE
    postgres = connection.dialect.name == "postgresql"
    assert len(departed) == (7 if postgres else 8), "\n".join(s.split("\n")[0][:60] for s in departed)
    if postgres:
        assert departed[-1].startswith("WITH changed_stay AS"), departed[-1]
    db.refresh(stay)
    db.refresh(bay)
    assert stay.ended_at == clock.now() - timedelta(minutes=5)
    assert (bay.state, bay.state_since, bay.open_stay_id) == ("vacant", stay.ended_at, None)
    assert db.scalars(select(Stay).where(Stay.bay_id == bay.id)).all() == [stay]


def test_the_district_cache_spares_each_request_its_district_read(
    db: Session, connection: Connection, clock: FixedClock
) -> None:
    town = build_small_district(db, clock.now())
    token = issue_staff_token(db, town.district, "warden", "warden one", clock.now())[1]
    db.commit()
    cached = create_app(
        {"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "DISTRICT_CACHE_SECONDS": 60}
    )
    push_arrival(cached, town, clock, "T1-1", [])  # reads the district once
    with statements(connection) as pushed:
        push_arrival(cached, town, clock, "T1-2", pushed)
    with statements(connection) as checked:
        check_plate(cached, token, town, checked)
    assert not [s for s in pushed + checked if "FROM district" in s]
