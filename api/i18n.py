"""Languages (docs/I18N.md): Flask-Babel with the catalogues in api/translations, one per
locale. A request's locale is, in order: `?lang=` (then kept in the `lang` cookie), the `lang`
cookie, the browser's Accept-Language, the district's `default_locale`, English.

The `.po` catalogues are committed; their compiled `.mo` files are built from them when the
app starts whenever missing or older (so a fresh checkout needs no extra step)."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, Response, g, jsonify, request
from flask_babel import Babel, get_locale, gettext, refresh
from sqlalchemy import select

from api.database import get_db
from api.errors import ApiError
from billing.wording import Wording
from parking.errors import N_, Message
from parking.models import District

LOCALES = ("zh_Hans_CN", "en")
DEFAULT_LOCALE = "en"
COOKIE = "lang"
_COOKIE_SECONDS = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).parent / "translations"
# What people and browsers send, to the locale whose catalogue answers it.
_ALIASES = {
    "zh": "zh_Hans_CN",
    "zh_cn": "zh_Hans_CN",
    "zh_hans": "zh_Hans_CN",
    "zh_hans_cn": "zh_Hans_CN",
    "en": "en",
    "en_us": "en",
    "en_gb": "en",
    "en_au": "en",
}


def known_locale(value: str | None) -> str | None:
    """The supported locale a `lang` value or language tag names, None if none."""
    if not value:
        return None
    key = value.strip().replace("-", "_").lower()
    return _ALIASES.get(key) or _ALIASES.get(key.split("_")[0])


def chosen_locale() -> str | None:
    """The locale the person chose (`?lang=`, the cookie) or their browser asks for."""
    chosen = known_locale(request.args.get("lang")) or known_locale(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    for tag, _quality in request.accept_languages:
        found = known_locale(tag)
        if found:
            return found
    return None


def select_locale() -> str:
    """The request's locale (module docstring)."""
    return chosen_locale() or district_locale() or DEFAULT_LOCALE


def wording() -> Wording:
    """Documents' words and formats in the request's locale (billing.wording)."""
    return Wording(locale_name(), gettext)


def district_locale() -> str | None:
    """The default locale of the district the URL names, if it names one."""
    slug = _district_slug()
    if slug is None:
        return None
    if "district_locale" not in g:
        found = get_db().scalar(select(District.default_locale).where(District.slug == slug))
        g.district_locale = known_locale(found)
    return g.district_locale  # type: ignore[no-any-return]


def select_timezone() -> str | None:
    """The district's time zone, so dates and times read as the street's clock."""
    slug = _district_slug()
    if slug is None:
        return None
    return get_db().scalar(select(District.time_zone).where(District.slug == slug))


def _district_slug() -> str | None:
    """The district the URL names, if it names one that could exist: a slug holding a NUL is
    refused by the request itself (400 `nul_character`), and PostgreSQL cannot even compare it."""
    slug = (request.view_args or {}).get("district")
    return slug if isinstance(slug, str) and "\x00" not in slug else None


def locale_name() -> str:
    """The current locale as a catalogue name (zh_Hans_CN, en)."""
    return known_locale(str(get_locale())) or DEFAULT_LOCALE


def compile_catalogues(root: Path = TRANSLATIONS) -> list[Path]:
    """Compile every `.po` under `root` whose `.mo` is missing or older; returns those
    written. Each is written to a temporary file and renamed, so that workers starting
    together never read half a file."""
    written = []
    for po_path in sorted(root.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parts[-3])
        fd, tmp = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as mo_file:
            write_mo(mo_file, catalogue)
        os.replace(tmp, mo_path)
        written.append(mo_path)
    return written


def _keep_choice(response: Response) -> Response:
    chosen = known_locale(request.args.get("lang"))
    if chosen and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(COOKIE, chosen, max_age=_COOKIE_SECONDS, samesite="Lax", httponly=True)
    return response


def _fresh_locale() -> None:
    # Flask-Babel keeps the locale on `g`, which lives as long as the app context: a test
    # client's requests share one, so each request chooses again.
    refresh()
    g.pop("district_locale", None)


def _page_helpers() -> dict[str, object]:
    return {
        "page_locale": locale_name,
        "page_lang": lambda: "zh-CN" if locale_name().startswith("zh") else "en",
        "page_messages": lambda: {"locale": locale_name(), "messages": _script_messages(locale_name())},
    }


def init_app(app: Flask) -> None:
    compile_catalogues()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.before_request(_fresh_locale)
    app.context_processor(_page_helpers)
    app.after_request(_keep_choice)


bp = Blueprint("i18n", __name__)


@bp.get("/i18n/<locale>.json")
def js_catalogue(locale: str) -> Response:
    """The page scripts' messages in one locale, `{English: translation}`: every message
    of the catalogue that a file under api/pages/static uses. Public, like the pages."""
    name = known_locale(locale)
    if name is None or name != locale:
        raise ApiError(
            404,
            "unknown_locale",
            Message(
                N_("no catalogue %(locale)s; there are %(locales)s"),
                {"locale": repr(locale), "locales": ", ".join(LOCALES)},
            ),
        )
    response = jsonify({"locale": name, "messages": _script_messages(name)})
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@lru_cache(maxsize=len(LOCALES))
def _script_messages(locale: str) -> dict[str, str]:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalogue = read_po(po_file, locale=locale)
    return {
        str(m.id): str(m.string or m.id)
        for m in catalogue
        if m.id and isinstance(m.id, str) and any(path.endswith(".js") for path, _ in m.locations)
    }
