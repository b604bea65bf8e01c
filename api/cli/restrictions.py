"""`import-restrictions` (a city's bay signs as tariffs) and `melbourne-compliance` (the
project's overstay flags against the City of Melbourne's own, docs/FIDELITY.md)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select, text

from api.cli import _domain_errors, _iso, _now, _unit_of_work
from enforcement.models import OVERSTAY, Violation
from enforcement.sweeps import sweep_overstays
from fixtures.restrictions import ImportReport, MelbourneAdapter, import_restrictions
from parking.inventory import get_district
from parking.models import Bay, Stay

ADAPTERS: dict[str, type[MelbourneAdapter]] = {"melbourne": MelbourneAdapter}
# The Melbourne table's signs, read as in force from before the replayed 2014 day.
MELBOURNE_EFFECTIVE_FROM = "2014-01-01T00:00:00+11:00"


@click.command("import-restrictions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--district", required=True)
@click.option(
    "--format", "format_", type=click.Choice(sorted(ADAPTERS)), default="melbourne", show_default=True
)
@click.option("--effective-from", help="ISO 8601 with offset: when the signs take effect (default: now).")
@click.option("--holidays", default="", help="Public holidays, YYYY-MM-DD,YYYY-MM-DD,...")
@_domain_errors
def import_restrictions_command(
    file: Path, district: str, format_: str, effective_from: str | None, holidays: str
) -> None:
    """Each bay's restrictions as the tariff of its signs (bays with the same signs share
    one), published as CDS policies; prints the signs it could not read, per bay."""
    days = [d for d in holidays.split(",") if d]
    for day in days:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise click.BadParameter(f"{day!r} is not a YYYY-MM-DD date", param_hint="--holidays") from None
    now = _now()
    with _unit_of_work() as db:
        report = import_restrictions(
            db,
            get_district(db, district),
            ADAPTERS[format_](),
            file,
            _iso(effective_from, "--effective-from") or now,
            now,
            days,
        )
    _print_report(report)


def _print_report(report: ImportReport) -> None:
    click.echo(
        f"{report.bays} bays in the table: {report.bays_updated} bays now carry their signs, "
        f"{report.tariffs} distinct sets of signs ({report.tariffs_published} tariffs published), "
        f"{len(report.missing_bays)} bays not in the district, {len(report.unknown)} unknown signs"
    )
    for unknown in report.unknown:
        click.echo(f"unknown sign at bay {unknown.bay}: {unknown.text!r}: {unknown.reason}")


@click.command("melbourne-compliance")
@click.option("--district", default="melbourne", show_default=True)
@click.option(
    "--top", default=12, show_default=True, help="How many sign texts to list per kind of disagreement."
)
@_domain_errors
def melbourne_compliance(district: str, top: int) -> None:
    """Replay the Melbourne Saturday (fixtures/data/melbourne) through the push endpoint,
    import the bays' restrictions, run the overstay sweep, and print the agreement, recall
    and precision of its flags with the council's, per stay, beside the plain reading's."""
    from fixtures import fidelity

    phases = run_saturday(district)
    signs = fidelity.read_signs()
    result = fidelity.compare(fidelity.council_stays(signs), flagged_stays(district), signs)
    click.echo(
        f"import, replay and sweep: {sum(phases.values()):.1f} s ("
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())
        + ")"
    )
    click.echo(result.project.line("project"))
    click.echo(result.plain.line("plain reading"))
    for title, counts in (
        ("flagged only by the project", result.only_ours_by_signs),
        ("flagged only by the council", result.only_council_by_signs),
    ):
        click.echo(f"{title}, by the bay's Saturday signs:")
        for sign, count in counts.most_common(top):
            click.echo(f"  {count:5d}  {sign}")


def run_saturday(district: str) -> dict[str, float]:
    """The bays, a data feed, the Saturday's records through the push endpoint, the signs,
    and one overstay sweep (its look-back reaches the stays just written). Returns the
    seconds each phase took."""
    from fixtures import fidelity
    from fixtures.replay import HttpSender, replay_files
    from parking.inventory import ensure_district, import_bays
    from sensors.devices import create_device

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    now = _now()
    phases: dict[str, float] = {}
    started = time.perf_counter()
    with _unit_of_work() as db:
        place, _ = ensure_district(
            db, district, now, name="Melbourne", time_zone="Australia/Melbourne", currency="AUD"
        )
        features = json.loads(fidelity.BAY_LOCATIONS.read_text(encoding="utf-8"))["features"]
        import_bays(
            db, place, features, "bayId", ["Street", "BetweenStreet1", "BetweenStreet2", "SideofStreet"], now
        )
        token = create_device(db, place, "data_feed", now).token
    phases["bays"] = time.perf_counter() - started
    started = time.perf_counter()
    # A replayed past day is history: lift the bound on how late an event may arrive, as
    # `flask replay` does (EVENT_MAX_AGE_HOURS, docs/TIMELINE.md), for this replay only.
    bound = app.config["EVENT_MAX_AGE_HOURS"]
    app.config["EVENT_MAX_AGE_HOURS"] = 0
    try:
        replay_files(HttpSender.for_app(app, token), district, [fidelity.SESSIONS], 1000, None, False)
    finally:
        app.config["EVENT_MAX_AGE_HOURS"] = bound
    phases["replay"] = time.perf_counter() - started
    started = time.perf_counter()
    with _unit_of_work() as db:
        place = get_district(db, district)
        import_restrictions(
            db,
            place,
            MelbourneAdapter(),
            fidelity.RESTRICTIONS,
            datetime.fromisoformat(MELBOURNE_EFFECTIVE_FROM),
            now,
        )
        phases["restrictions"] = time.perf_counter() - started
        started = time.perf_counter()
        if db.get_bind().dialect.name == "postgresql":
            # A bulk load, then a sweep: without statistics the planner takes the new rows for
            # none and joins the day's stays to the bays row by row (docs/OPERATIONS.md).
            db.execute(text("ANALYZE stay, bay, road"))
        sweep_overstays(db, place, _now(), timedelta(days=7))
    phases["sweep"] = time.perf_counter() - started
    return phases


def flagged_stays(district: str) -> set[tuple[str, datetime]]:
    """(bay, started_at) of every stay of the district with an overstay violation."""
    with _unit_of_work() as db:
        place = get_district(db, district)
        rows = db.execute(
            select(Bay.name, Stay.started_at)
            .join(Stay, Stay.bay_id == Bay.id)
            .join(Violation, Violation.stay_id == Stay.id)
            .where(Violation.district_id == place.id, Violation.rule == OVERSTAY)
        )
        return {(name, started_at.astimezone(UTC)) for name, started_at in rows}
