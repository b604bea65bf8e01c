"""The message catalogues (api/translations): complete in both languages, and up to date with
the texts in the source (docs/I18N.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from api.cli.i18n import REPO, extract_messages
from api.i18n import LOCALES, TRANSLATIONS, compile_catalogues

MESSAGE_TAKERS = ("ApiError", "error_response", "Message", "gettext", "_", "lazy_gettext", "N_")


def catalogue(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file, locale=locale)


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return {str(m.id) for m in extract_messages() if m.id}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_of_the_source_is_in_the_catalogue(locale: str, extracted: set[str]) -> None:
    ids = {str(m.id) for m in catalogue(locale) if m.id}

    assert sorted(extracted - ids) == [], "run `flask --app api messages` and translate the new messages"
    assert sorted(ids - extracted) == [], "the catalogue keeps messages the source no longer has"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_has_a_translation_that_is_not_fuzzy(locale: str) -> None:
    untranslated = [str(m.id) for m in catalogue(locale) if m.id and (not m.string or m.fuzzy)]

    assert untranslated == []


def test_every_chinese_translation_keeps_the_placeholders_of_its_message() -> None:
    for message in catalogue("zh_Hans_CN"):
        if message.id:
            assert sorted(re.findall(r"%\((\w+)\)", str(message.string))) == sorted(
                re.findall(r"%\((\w+)\)", str(message.id))
            ), message.id


def test_the_chinese_catalogue_uses_the_streets_words() -> None:
    words = {str(m.string) for m in catalogue("zh_Hans_CN")}

    for term in ("泊位", "停车时长", "收费员", "手持终端"):
        assert any(term in w for w in words), term


def test_a_stale_compiled_catalogue_is_compiled_again(tmp_path: Path) -> None:
    po = tmp_path / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_bytes((TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").read_bytes())

    assert compile_catalogues(tmp_path) == [po.with_suffix(".mo")]
    assert compile_catalogues(tmp_path) == []


def test_no_error_message_of_the_web_layer_is_an_f_string() -> None:
    """An f-string bypasses the catalogue (the extractor skips it): error messages with
    parameters are a `Message(N_("... %(name)s ..."), {...})`."""
    found = []
    for path in sorted((REPO / "api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if called in MESSAGE_TAKERS and any(isinstance(a, ast.JoinedStr) for a in node.args):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == []
