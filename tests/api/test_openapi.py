from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate


def test_the_openapi_document_lists_every_native_route_and_is_valid(app: Flask, client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    validate(document)
    native = {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == native
    assert {"/api/v1/{district}/stays", "/api/v1/{district}/devices/me", "/api/v1/{district}/quote"} <= {
        path for path, _ in native
    }
    stays = document["paths"]["/api/v1/{district}/stays"]["get"]
    assert {p["name"] for p in stays["parameters"]} >= {"district", "road", "bay", "plate", "since", "until"}
    assert "application/problem+json" in stays["responses"]["400"]["content"]
