from __future__ import annotations

from flask.testing import FlaskClient


def test_unknown_district_answers_the_cds_error_shape(client: FlaskClient) -> None:
    response = client.get("/cds/nowhere/curbs/zones")
    assert response.status_code == 404
    assert response.get_json()["error"] == "unknown_district"
