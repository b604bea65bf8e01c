"""The OpenAPI document of the native API, generated from the marshmallow schemas that the
views declare with `@documented`, served at `/openapi.json`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify
from marshmallow import Schema

from api.schemas import Problem

F = TypeVar("F", bound=Callable[..., Any])
bp = Blueprint("openapi", __name__)
_ERRORS = {
    400: "Invalid parameters",
    401: "Missing, unknown or revoked token",
    403: "The role may not do this",
    404: "Unknown district, or an unknown thing it names",
    402: "The card was declined or needs authentication; nothing was charged",
    409: "Conflicts with what is already recorded",
    413: "The request, or a file in it, is too large",
    415: "The request body is not of the media type this endpoint takes",
    422: "Well-formed but refused by a business rule",
    429: "Too many failed attempts; the Retry-After header says when to try again",
    502: "The payment provider could not be reached",
}


def documented(
    summary: str,
    response: type[Schema],
    *,
    query: type[Schema] | None = None,
    body: type[Schema] | None = None,
    auth: str | None = "staff",
    errors: tuple[int, ...] = (401, 404),
    status: int = 200,
    body_media: str = "application/json",
    files: tuple[str, ...] = (),
    media: tuple[str, ...] = ("application/json",),
) -> Callable[[F], F]:
    """Declare what a native view takes and answers, for the OpenAPI document. `auth` names
    the security scheme (None: public); `status` is the success status; `body_media` the
    request body's type (multipart/form-data with `files` as its file parts); `media` the
    types the view answers (JSON by the schema, CSV as text, images as bytes)."""

    def mark(view: F) -> F:
        view._openapi = {  # type: ignore[attr-defined]
            "summary": summary,
            "response": response,
            "query": query,
            "body": body,
            "auth": auth,
            "errors": errors,
            "status": status,
            "body_media": body_media,
            "files": files,
            "media": media,
        }
        return view

    return mark


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="Smart on-street parking: native API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Staff and device endpoints. CDS endpoints are described by CDS 1.1."},
    )
    spec.components.security_scheme("staff", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("device", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("driver", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=Problem)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        doc = getattr(app.view_functions[rule.endpoint], "_openapi", None)
        if doc is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        parameters: list[Any] = [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in rule.arguments
        ]
        if doc["query"] is not None:
            parameters.append({"in": "query", "schema": doc["query"]})
        responses: dict[str, Any] = {
            str(doc["status"]): {
                "description": "Created" if doc["status"] == 201 else "OK",
                "content": {kind: {"schema": _media_schema(kind, doc["response"])} for kind in doc["media"]},
            }
        }
        for status in doc["errors"]:
            responses[str(status)] = {
                "description": _ERRORS[status],
                "content": {"application/problem+json": {"schema": "Problem"}},
            }
        operation: dict[str, Any] = {
            "summary": doc["summary"],
            "parameters": parameters,
            "responses": responses,
            "security": [{doc["auth"]: []}] if doc["auth"] else [],
        }
        if doc["body"] is not None:
            body: Any = doc["body"]
            if doc["files"]:
                binary = {name: {"type": "string", "format": "binary"} for name in doc["files"]}
                body = {"allOf": [body, {"type": "object", "properties": binary}]}
            operation["requestBody"] = {"required": True, "content": {doc["body_media"]: {"schema": body}}}
        methods = sorted(m.lower() for m in (rule.methods or set()) - {"HEAD", "OPTIONS"})
        spec.path(path=path, operations={method: operation for method in methods})
    return spec.to_dict()


def _media_schema(kind: str, schema: type[Schema]) -> Any:
    if kind == "application/json":
        return schema
    if kind.startswith("text/"):
        return {"type": "string"}
    return {"type": "string", "format": "binary"}


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document."""
    cached = current_app.extensions.get("parking.openapi")
    if cached is None:
        cached = current_app.extensions["parking.openapi"] = build_spec(current_app._get_current_object())  # type: ignore[attr-defined]
    return jsonify(cached)
