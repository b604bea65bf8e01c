"""`flask --app api messages`: extract every text people read (babel.cfg) and bring both
catalogues up to date. English is the source language, so its catalogue translates each
message to itself; Chinese entries that are new or changed are left empty (or fuzzy) for a
translator, and the completeness test fails until they are filled (docs/I18N.md)."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from babel.util import pathmatch

from api.i18n import LOCALES, TRANSLATIONS, compile_catalogues

REPO = Path(__file__).resolve().parents[2]
# Besides gettext and friends: N_ marks domain messages, the third argument of ApiError and
# error_response is one.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_gettext": None,
    "N_": None,
    "t": None,
    "ApiError": (3,),
    "error_response": (3,),
}


def extract_messages() -> Catalog:
    """Every message of the source tree, as babel.cfg maps files to extractors. (f-strings
    are skipped: a message with parameters is a Message or gettext with %(name)s.)"""
    with (REPO / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    catalogue = Catalog(project="parking", charset="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Skipping f-string": those are not messages
        found = list(
            extract_from_dir(REPO, method_map, options_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",))
        )
    for filename, lineno, message, comments, context in found:
        if message:
            catalogue.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for filename, lineno, message in marked_messages(method_map):
        if message not in catalogue:
            catalogue.add(message, None, [(filename, lineno)])
    return catalogue


def marked_messages(method_map: list[tuple[str, str]]) -> Iterator[tuple[str, int, str]]:
    """(file, line, message) of every `N_("...")` in the Python files babel.cfg names, even
    inside the arguments of another call (`ApiError(404, "code", Message(N_("..."), ...))`),
    which Babel's extractor does not look into."""
    patterns = [pattern for pattern, method in method_map if method == "python"]
    roots = sorted({pattern.split("/")[0] for pattern in patterns})  # api, billing...: not .venv
    for path in sorted(p for root in roots for p in (REPO / root).rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if not any(pathmatch(pattern, relative) for pattern in patterns):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "N_"
                and len(node.args) == 1
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield relative, node.lineno, node.args[0].value


def update_catalogue(locale: str, template: Catalog) -> Path:
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    if path.exists():
        with path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=locale)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalogue = Catalog(locale=locale, project="parking", charset="utf-8")
    catalogue.update(template, no_fuzzy_matching=True)
    catalogue.obsolete.clear()
    if locale == "en":
        for message in catalogue:
            if message.id:
                message.string = message.id
                message.flags.discard("fuzzy")
    with path.open("wb") as po_file:
        write_po(po_file, catalogue, width=100, omit_header=False, sort_output=True)
    return path


@click.command("messages")
def messages_command() -> None:
    """Extract the messages and update the catalogues of every locale, then compile them."""
    template = extract_messages()
    for locale in LOCALES:
        path = update_catalogue(locale, template)
        click.echo(f"{path.relative_to(REPO)}: {len(template)} messages")
    compile_catalogues()
