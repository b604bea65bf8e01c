"""What the CDS routes share: media types, the response envelope and paging."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, jsonify, request

from api.errors import ApiError
from parking.clock import to_ms
from parking.errors import N_, Message
from parking.models import District

CDS_VERSION = "1.1.0"


CDS_MEDIA_TYPE = "application/vnd.cds+json"


MAX_PAGE = 1_000_000


_ACCEPTABLE = {"*/*", "application/*", "application/json", CDS_MEDIA_TYPE}


def negotiate() -> str:
    """The response media type for this request's Accept header; 406 when none fits."""
    header = request.headers.get("Accept", "").strip()
    if not header:
        return "application/json"
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        opts = dict(p.split("=", 1) for p in params if "=" in p)
        if opts.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        if media.lower() not in _ACCEPTABLE:
            continue
        if media.lower() == CDS_MEDIA_TYPE:
            version = opts.get("version", "1.1").strip('"')
            if version not in ("1.1", "1.1.0"):
                continue
            return f"{CDS_MEDIA_TYPE};version=1.1"
        return "application/json"
    raise ApiError(
        406,
        "not_acceptable",
        Message(
            N_("this server answers %(media)s;version=1.1 or application/json"), {"media": CDS_MEDIA_TYPE}
        ),
        ["Accept"],
    )


def envelope(
    district: District,
    key: str,
    items: list[dict[str, Any]],
    now: datetime,
    media_type: str,
    links: dict[str, str] | None = None,
    single: dict[str, Any] | None = None,
) -> Response:
    """The CDS response envelope; `data` is `{key: items}`, or the one object `single`."""
    body: dict[str, Any] = {
        "version": CDS_VERSION,
        "time_zone": district.time_zone,
        "last_updated": to_ms(now),
        "currency": district.currency,
        "author": current_app.config["CDS_AUTHOR"],
        "license_url": current_app.config["CDS_LICENSE_URL"],
        "data": single if single is not None else {key: items},
    }
    if links:
        body["links"] = links
    response = jsonify(body)
    response.headers["Content-Type"] = media_type
    return response


def page_args() -> tuple[int, int]:
    """(page, page_size) from the query string, both checked."""
    default = current_app.config["PAGE_SIZE_DEFAULT"]
    limit = current_app.config["PAGE_SIZE_MAX"]
    page = _int_arg("page", 1)
    size = _int_arg("page_size", default)
    if not 1 <= page <= MAX_PAGE or not 1 <= size <= limit:
        raise ApiError(
            400,
            "bad_param",
            Message(
                N_("page must be 1 to %(pages)s and page_size 1 to %(limit)s"),
                {"pages": MAX_PAGE, "limit": limit},
            ),
            ["page", "page_size"],
        )
    return page, size


def page_links(page: int, size: int, total: int) -> dict[str, str] | None:
    """JSON:API links for a paged list; None when everything fits on one page."""
    last = max(1, -(-total // size))
    if last == 1 and page == 1:
        return None
    args = {k: v for k, v in request.args.items() if k not in ("page", "page_size")}

    # Never built from the Host header (a cache or a client following links would carry an
    # attacker's host): PUBLIC_BASE_URL when configured, else links relative to the root.
    base = (
        str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/") + request.script_root + request.path
    )

    def url(number: int) -> str:
        return f"{base}?{urlencode({**args, 'page': number, 'page_size': size})}"

    links = {"first": url(1), "last": url(last)}
    if page > 1:
        links["prev"] = url(min(page - 1, last))
    if page < last:
        links["next"] = url(page + 1)
    return links


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(
            400, "bad_param", Message(N_("%(name)s must be an integer"), {"name": name}), [name]
        ) from None


def float_arg(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(
            400, "bad_param", Message(N_("%(name)s must be a number"), {"name": name}), [name]
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ApiError(
            400, "bad_param", Message(N_("%(name)s must be a finite number"), {"name": name}), [name]
        )
    return value


def event_max_age() -> timedelta | None:
    """How old a pushed or registered event may be (EVENT_MAX_AGE_HOURS; 0: no bound)."""
    hours = float(current_app.config["EVENT_MAX_AGE_HOURS"] or 0)
    return timedelta(hours=hours) if hours > 0 else None
