from __future__ import annotations

from flask.testing import FlaskClient
from openapi_spec_validator import validate


def test_the_openapi_document_lists_every_native_route_and_is_valid(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    validate(document)
    assert set(document["paths"]) == {
        "/api/v1/{district}/stays",
        "/api/v1/{district}/timeline/anomalies",
        "/api/v1/{district}/devices/me",
    }
    stays = document["paths"]["/api/v1/{district}/stays"]["get"]
    assert {p["name"] for p in stays["parameters"]} >= {"district", "road", "bay", "plate", "since", "until"}
    assert "application/problem+json" in stays["responses"]["400"]["content"]
