"""Every stable error code the API can answer is in the registry (api/error_codes.py) with
the status it answers, and a problem's `type` URL leads to that code's anchor on /docs/errors."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from api.error_codes import BY_CODE, ERROR_CODES
from parking.errors import DomainError

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("parking", "identity", "sensors", "billing", "enforcement", "reports", "api")
RAISERS = ("ApiError", "error_response")  # (status, code, ...) with the status first
ITEM_STATUS = 422  # an item code answered alone (the warden's registration at the curb)


def _constant(node: ast.expr) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _codes_in(tree: ast.AST) -> Iterator[tuple[str, int | None]]:
    """(code, status or None where the source does not say it) for each code written in
    a module: `code = "..."` in a class, `ApiError(status, "code", ...)`,
    `error_response(status, "code", ...)`, `ItemError("code", ...)`, `code = "a" if ... else "b"`,
    `code = X.get(status, "default")` and the values of a `*_CODES = {status: "code"}` table."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and _names(statement) == ["code"]:
                    yield from _strings([statement.value], None)
        elif isinstance(node, ast.Call):
            yield from _call_codes(node)
        elif isinstance(node, ast.Assign) and _names(node) == ["code"]:
            value = node.value
            if isinstance(value, ast.IfExp):
                yield from _strings([value.body, value.orelse], None)
            elif isinstance(value, ast.Call) and getattr(value.func, "attr", "") == "get":
                yield from _strings(value.args[1:], None)
        elif isinstance(node, ast.Assign) and any(n.endswith("_CODES") for n in _names(node)):
            table = node.value if isinstance(node.value, ast.Dict) else ast.Dict(keys=[], values=[])
            for key, value in zip(table.keys, table.values, strict=True):
                status = _constant(key) if key is not None else None
                yield from _strings([value], status if isinstance(status, int) else None)


def _call_codes(call: ast.Call) -> Iterator[tuple[str, int | None]]:
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
    if name in RAISERS and len(call.args) >= 2:
        status = _constant(call.args[0])
        yield from _strings(call.args[1:2], status if isinstance(status, int) else None)
    elif name == "ItemError":
        yield from _strings(call.args[:1], ITEM_STATUS)


def _strings(nodes: list[ast.expr], status: int | None) -> Iterator[tuple[str, int | None]]:
    for node in nodes:
        value = _constant(node)
        if isinstance(value, str):
            yield value, status


def _names(node: ast.Assign) -> list[str]:
    return [t.id for t in node.targets if isinstance(t, ast.Name)]


def codes_in_source() -> dict[str, set[int | None]]:
    found: dict[str, set[int | None]] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path.name == "error_codes.py":
                continue
            for code, status in _codes_in(ast.parse(path.read_text(encoding="utf-8"))):
                found.setdefault(code, set()).add(status)
    return found


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def domain_errors() -> list[type[DomainError]]:
    for package in PACKAGES[:-1]:
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{package}.{info.name}")
    return [DomainError, *_subclasses(DomainError)]


def test_every_code_the_source_answers_is_in_the_registry_with_its_status() -> None:
    found = codes_in_source()
    missing = sorted(set(found) - set(BY_CODE))
    assert not missing, f"add these codes to api/error_codes.py: {missing}"
    wrong = {
        code: sorted(s for s in statuses if s is not None)
        for code, statuses in found.items()
        if not {s for s in statuses if s is not None} <= set(BY_CODE[code].statuses)
    }
    assert not wrong, f"statuses answered but not listed in api/error_codes.py: {wrong}"


def test_every_domain_errors_status_is_listed_for_its_code() -> None:
    wrong = [
        f"{cls.__module__}.{cls.__name__}: {cls.code} {cls.status}"
        for cls in domain_errors()
        if cls.status not in BY_CODE[cls.code].statuses
    ]
    assert not wrong


def test_the_registry_lists_no_code_the_source_never_answers() -> None:
    assert sorted(set(BY_CODE) - set(codes_in_source())) == []
    assert len(BY_CODE) == len(ERROR_CODES), "a code is listed twice"


def test_a_problems_type_leads_to_its_codes_anchor_on_the_errors_page(client: FlaskClient) -> None:
    problem = client.get("/api/v1/nowhere/stays")  # no such district
    assert problem.status_code == 404 and problem.mimetype == "application/problem+json"
    body = problem.get_json()
    page_url, _, anchor = body["type"].partition("#")
    assert anchor == body["code"] == "unknown_district"

    page = client.get(urlsplit(page_url).path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f'id="{anchor}"' in page.get_data(as_text=True)


def test_the_errors_page_has_one_anchor_per_code_and_the_json_lists_the_same(client: FlaskClient) -> None:
    html = client.get("/docs/errors").get_data(as_text=True)
    assert all(html.count(f'id="{e.code}"') == 1 for e in ERROR_CODES)

    listed = client.get("/docs/errors.json").get_json()["errors"]
    assert [(e["code"], e["status"], e["type"]) for e in listed] == [
        (e.code, e.status, f"/docs/errors#{e.code}") for e in ERROR_CODES
    ]


def words_a_person_reads(html: str) -> str:
    """The page's text without its markup, the code it quotes (`<code>`, backticks) and the
    numbers of the statuses."""
    body = html.split("<body>", 1)[1]
    body = re.sub(r"<code>.*?</code>|`[^`]*`", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_the_errors_page_speaks_the_requests_language_and_keeps_its_codes_and_anchors_english(
    client: FlaskClient,
) -> None:
    chinese = client.get("/docs/errors?lang=zh_Hans_CN").get_data(as_text=True)
    english = client.get("/docs/errors?lang=en").get_data(as_text=True)
    listed = client.get("/docs/errors.json?lang=zh").get_json()["errors"]

    left = set(re.findall(r"[A-Za-z]*[a-z][A-Za-z]*", words_a_person_reads(chinese))) - {"English"}
    assert sorted(left) == []
    assert '<html lang="zh-CN">' in chinese and "<h1>错误码</h1>" in chinese
    assert all(chinese.count(f'id="{e.code}"') == 1 for e in ERROR_CODES)
    assert "No district has this slug." in english
    by_code = {e["code"]: e for e in listed}
    assert by_code["unknown_district"]["meaning"] == "没有使用该标识的辖区。"
    assert by_code["unknown_district"]["type"] == "/docs/errors#unknown_district"
