"""What every answer carries and never carries (security review L8, L9): `nosniff` on pages,
JSON, CSV and errors alike; paging links that never echo the request's Host header."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api import create_app
from fixtures.builders import SmallDistrict, build_small_district
from parking.clock import FixedClock

SPACES = "/cds/testville/curbs/spaces"


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    built = build_small_district(db, clock.now() - timedelta(days=1))
    db.commit()
    return built


@pytest.mark.parametrize(
    "path",
    [
        "/cds/testville/curbs/areas",  # CDS JSON
        "/api/v1/testville/tariffs",  # native JSON
        "/handheld/testville",  # a page
        "/open/testville/occupancy?format=csv",  # CSV
        "/api/v1/testville/nowhere",  # a 404 problem
        "/cds/testville/curbs/spaces?page_size=x",  # a 400 CDS error
    ],
)
def test_every_answer_tells_browsers_not_to_sniff_its_type(
    client: FlaskClient, town: SmallDistrict, path: str
) -> None:
    response = client.get(path)

    assert response.headers["X-Content-Type-Options"] == "nosniff", (path, response.status_code)


def test_paging_links_ignore_a_forged_host_header(client: FlaskClient, town: SmallDistrict) -> None:
    body = client.get(f"{SPACES}?page_size=1", headers={"Host": "evil.example"}).get_json()

    links = body["links"]
    assert links["next"] == f"{SPACES}?page=2&page_size=1"
    assert not any("evil.example" in link for link in links.values())


def test_paging_links_are_absolute_on_the_configured_public_base_url(
    connection: Connection, clock: FixedClock, town: SmallDistrict
) -> None:
    app: Flask = create_app(
        {
            "TESTING": True,
            "DATABASE_BIND": connection,
            "CLOCK": clock,
            "PUBLIC_BASE_URL": "https://parking.example.org/",
        }
    )
    body = app.test_client().get(f"{SPACES}?page_size=1", headers={"Host": "evil.example"}).get_json()

    assert body["links"]["next"] == f"https://parking.example.org{SPACES}?page=2&page_size=1"
