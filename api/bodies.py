"""What a request may carry beyond its size (Flask's MAX_CONTENT_LENGTH): how deeply its
JSON nests, and no NUL character in its text.

No body this API takes nests more than a few levels, but a parser follows whatever it is
sent: Python's own recursion gives out near 1,000 levels (a 500 instead of a 400), and a
stored CDS payload deeper than 255 levels cannot be encoded again. So every JSON body is
held to MAX_JSON_DEPTH levels and refused whole, 400 `nesting_too_deep`, beyond it.
PostgreSQL text cannot hold NUL (U+0000), and no name, plate or id has one: a path, query
or JSON body with one is 400 `nul_character` (CDS events refuse it per item).

The whole body is read before any view runs (`read_whole_body`), so no view can hold a
database transaction, or SQLite's write lock, while a slow client trickles its body in
(security review H1). A view that takes more than MAX_CONTENT_LENGTH says so with
`@body_limit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider

from api.errors import ApiError
from parking.errors import N_, Message
from sensors.cds import holds_nul

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Let one view take a body up to `max_bytes` instead of MAX_CONTENT_LENGTH."""

    def mark(view: F) -> F:
        view.max_body_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


def read_whole_body() -> None:
    """Before every request, before any view opens a database session: read the whole body
    into memory, within the view's limit (413 `payload_too_large` beyond it, before reading).
    Views then parse it from memory: `get_json`, `get_data` and `form` all use the copy."""
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_body_bytes", None)
    if limit is not None:
        request.max_content_length = limit
    request.get_data(cache=True)


def nesting_depth(value: Any) -> int:
    """Levels of arrays and objects: a scalar is 0, `[]` is 1, `{"a": [1]}` is 2."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def check_nesting(value: Any, limit: int) -> Any:
    """The parsed body, or a 400 `nesting_too_deep` when it nests more than `limit` levels."""
    if nesting_depth(value) > limit:
        raise _too_deep(limit)
    return value


def _too_deep(limit: int) -> ApiError:
    return ApiError(
        400,
        "nesting_too_deep",
        Message(N_("the JSON body nests more than %(limit)s levels deep"), {"limit": limit}),
    )


def _nul() -> ApiError:
    return ApiError(400, "nul_character", "text may not contain the NUL character (U+0000)")


def refuse_nul(value: T) -> T:
    """The value, or a 400 `nul_character` when any string in it holds a NUL (a form's
    fields, say: only the path, the query string and JSON bodies are checked for every route)."""
    if holds_nul(value):
        raise _nul()
    return value


def refuse_nul_in_url() -> None:
    """Before every request: the path and the query string are text like any other."""
    refuse_nul([request.path, *request.args.keys(), *request.args.values()])


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing what nests too deeply or holds a NUL. Flask parses every
    request body with the app's provider (`request.get_json`, silent or not)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        limit = self._app.config["MAX_JSON_DEPTH"]
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise _too_deep(limit) from None
        check_nesting(value, limit)
        if holds_nul(value):
            raise _nul()
        return value


def init_app(app: Flask) -> None:
    app.json = BoundedJSONProvider(app)
    app.before_request(read_whole_body)
    app.before_request(refuse_nul_in_url)
