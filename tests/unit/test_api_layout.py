"""api/ is shaped like its contracts (docs/ARCHITECTURE.md, "Inside api/"): the top of the package
holds only the request plumbing every route shares, and each blueprint lives under the contract
and audience it serves."""

from __future__ import annotations

import ast
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "api"

# The top of api/: the app factory and what every route shares. A new module here needs a reason.
PLUMBING = {
    "__init__",  # create_app
    "access",  # the access matrix
    "auth",  # who is calling
    "bodies",  # the whole body read before a view runs
    "clock",  # the one wall clock
    "config",
    "csv_cells",  # no formulas in a CSV cell, for every export
    "database",  # the request's session, SQLite's transaction hooks
    "district_cache",  # the request's district
    "error_codes",
    "error_docs",  # the code registry served at /docs/errors
    "errors",  # domain errors to problem+json
    "field_messages",  # marshmallow's field messages in the reader's language
    "i18n",  # the request's language and time zone
    "migrations",  # Alembic from the app and the test harness
    "notice_words",  # a stored notification worded in the reader's language
    "openapi",
    "payment_gateway",  # the gateway chosen by configuration
    "place_args",  # the one lat/lng/radius/bbox parser
    "report_labels",  # export headers in the reader's language
    "schemas",  # schema base classes and fields the native API shares
}
# Where a blueprint may live, by the contract it serves (error_docs, i18n and openapi serve the docs).
BLUEPRINT_HOMES = (
    "cds/",
    "v1/devices/",
    "v1/drivers/",
    "v1/staff/",
    "v1/bureau/",
    "v1/open_data.py",
    "pages/",
)
DOC_BLUEPRINTS = {"error_docs.py", "i18n.py", "openapi.py"}


def test_the_top_of_api_holds_only_the_shared_request_plumbing():
    top = {path.stem for path in API.glob("*.py")}
    assert top - PLUMBING == set(), (
        "a new module at the top of api/: move it under its contract or add it with a reason"
    )
    assert PLUMBING - top == set(), "a plumbing module went away: take it off the list"


def test_every_blueprint_lives_under_the_contract_it_serves():
    misplaced = []
    for path in API.rglob("*.py"):
        relative = path.relative_to(API).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        makes_blueprint = any(
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Blueprint"
            for node in ast.walk(tree)
        )
        if makes_blueprint and relative not in DOC_BLUEPRINTS and not relative.startswith(BLUEPRINT_HOMES):
            misplaced.append(relative)
    assert misplaced == []


def test_no_module_in_api_is_named_by_a_prefix_standing_for_a_package():
    prefixed = [
        p.name
        for p in API.rglob("*.py")
        if p.stem.split("_")[0] in {"cds", "cli", "pages", "schemas", "jobs"} and "_" in p.stem
    ]
    assert prefixed == []
