"""The event archive's command under `flask --app api` (docs/OPERATIONS.md, "The event archive").

The command-line shell of `archive-events`: each command parses, calls the domain, reports."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from api.cli import _domain_errors, _now
from api.database import new_session
from parking.inventory import get_district


@click.command("archive-events")
@click.option("--district", required=True)
@click.option(
    "--hot-days",
    type=click.FloatRange(min=0, min_open=True),
    help="Keep this many days of events in the database (default: EVENT_HOT_DAYS).",
)
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="The archive folder (default: EVENT_ARCHIVE_DIR).",
)
@_domain_errors
def archive_events_command(district: str, hot_days: float | None, folder: Path | None) -> None:
    """Move a district's events older than the hot window into dated, compressed files, each
    in place before its rows are deleted; prints how many went and where."""
    from sensors.archive import archive_events

    days = hot_days if hot_days is not None else float(current_app.config["EVENT_HOT_DAYS"])
    target = folder if folder is not None else Path(current_app.config["EVENT_ARCHIVE_DIR"])
    db = new_session()
    try:
        result = archive_events(db, get_district(db, district), target, _now(), days)
    finally:
        db.close()
    click.echo(result.summary())
    for path in result.files:
        click.echo(str(path))
