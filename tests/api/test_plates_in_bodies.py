"""Plates out of URL paths (security review L10): the plate routes have equivalents that take
the plate in a JSON body, so no access log or proxy on the way keeps it; the old paths still
answer the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models_warden import WARDEN_PLATE_CHECK, PlateCheck
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from identity.staff import issue_staff_token
from parking.clock import FixedClock
from sensors.intake import ingest_batch

API = "/api/v1/testville"
PLATE = "贵A12345"


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    small = build_small_district(db, clock.now())
    event = cds_event(
        small.stake_a, small.bays[0], "park_start", clock.now() - timedelta(hours=1), plate=PLATE
    )
    assert ingest_batch(db, small.stake_a.device, [event], clock.now(), timedelta(minutes=2)).success == 1
    db.commit()
    return small


@pytest.fixture
def warden(db: Session, town: SmallDistrict, clock: FixedClock) -> dict[str, str]:
    _, token = issue_staff_token(db, town.district, "warden", "warden one", clock.now())
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def test_what_a_plate_owes_answers_the_same_with_the_plate_in_the_body(
    client: FlaskClient, town: SmallDistrict
) -> None:
    by_path = client.get(f"{API}/plates/{PLATE}/unpaid")
    by_body = client.post(f"{API}/plates/unpaid", json={"plate": PLATE})

    assert by_body.status_code == by_path.status_code == 200
    assert by_body.get_json() == by_path.get_json()


def test_a_plate_check_answers_the_same_and_is_audited_with_the_plate_in_the_body(
    client: FlaskClient, db: Session, town: SmallDistrict, warden: dict[str, str]
) -> None:
    bay = town.bays[0].uuid
    by_path = client.get(f"{API}/plates/{PLATE}/check?bay={bay}", headers=warden)
    by_body = client.post(f"{API}/plates/check", json={"plate": PLATE, "bay": bay}, headers=warden)

    assert by_body.status_code == by_path.status_code == 200, by_body.get_json()
    same = {k: v for k, v in by_body.get_json().items() if k != "check"}
    assert same == {k: v for k, v in by_path.get_json().items() if k != "check"}
    routes = db.scalars(select(PlateCheck.route)).all()
    assert routes == [WARDEN_PLATE_CHECK, WARDEN_PLATE_CHECK]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/plates/unpaid", {}, 400, "invalid_parameters"),
        ("/plates/unpaid", {"plate": ""}, 400, "invalid_parameters"),
        ("/plates/unpaid", {"plate": "A!B"}, 400, "invalid_plate"),
        ("/plates/check", {"plate": PLATE}, 401, "unauthorized"),
    ],
)
def test_a_bad_or_unauthenticated_body_is_refused_with_a_code(
    client: FlaskClient,
    db: Session,
    town: SmallDistrict,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = client.post(f"{API}{path}", json=body)

    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert db.scalar(select(func.count(PlateCheck.id))) == 0
