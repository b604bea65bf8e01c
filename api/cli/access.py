"""`flask --app api access-matrix`: the access matrix (api/access.py) as the Markdown table
that docs/ACCESS.md holds; `--write` puts it there between the table markers."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from api.access import check_app, matrix_table

TABLE_START = "<!-- access-matrix:start -->"
TABLE_END = "<!-- access-matrix:end -->"


def _section(document: str) -> tuple[int, int]:
    start, end = document.find(TABLE_START), document.find(TABLE_END)
    if start < 0 or end < start:
        raise click.ClickException(f"the document has no {TABLE_START} ... {TABLE_END} section")
    return start + len(TABLE_START), end


def table_in(document: str) -> str:
    """The generated table held between the markers of a document such as docs/ACCESS.md."""
    start, end = _section(document)
    return document[start:end].strip("\n") + "\n"


def with_table(document: str, table: str) -> str:
    """The document with `table` between its markers."""
    start, end = _section(document)
    return f"{document[:start]}\n{table}{document[end:]}"


@click.command("access-matrix")
@click.option(
    "--write",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Replace the table between the markers of this file (docs/ACCESS.md) instead of printing it.",
)
@with_appcontext
def access_matrix(target: Path | None) -> None:
    """Print who may call each route, from the access matrix."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        check_app(app)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error
    table = matrix_table(app)
    if target is None:
        click.echo(table, nl=False)
        return
    target.write_text(with_table(target.read_text(encoding="utf-8"), table), encoding="utf-8")
    click.echo(f"{target}: {table.count(chr(10)) - 2} routes")
