"""The error-code registry as documents: the page problem+json `type` URLs point into
(`/docs/errors#<code>`, one anchor per code) and the same list as JSON. Both speak the
request's language (api/i18n.py: `?lang=`, the cookie, Accept-Language); the codes and
anchors stay English."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template
from flask_babel import gettext

from api.error_codes import ERROR_CODES

bp = Blueprint("error_docs", __name__, url_prefix="/docs")


@bp.get("/errors")
def errors_page() -> str:
    """Every error code, its status and its meaning; each row's id is its code."""
    answers = [e for e in ERROR_CODES if not e.item]
    items = [e for e in ERROR_CODES if e.item]
    return render_template("errors.html", answers=answers, items=items)


@bp.get("/errors.json")
def errors_document() -> Response:
    """The registry as JSON: `{"errors": [{code, status, statuses, meaning, item, type}]}`, the
    meaning in the request's language."""
    return jsonify(
        {
            "errors": [
                {
                    "code": e.code,
                    "status": e.status,
                    "statuses": list(e.statuses),
                    "meaning": gettext(e.meaning),
                    "item": e.item,
                    "type": f"/docs/errors#{e.code}",
                }
                for e in ERROR_CODES
            ]
        }
    )
