"""Operator commands under `flask --app api`. Bad arguments exit non-zero with one line.

The command-line shell of `create-device`, `create-staff-token`, `district-settings`,
`export-stays`, `import-bays`, `migrate`, `rebuild`, `replay`, `revoke-device`, `run-job`,
`scheduler`, `seed-demo`: each command parses, calls the domain, reports."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.database import new_session
from enforcement.violations import stay_violations
from parking.errors import DomainError
from parking.inventory import ensure_district, get_district, import_bays
from parking.models import District
from parking.stay_search import StayFilter, iter_stays
from parking.unit_of_work import writing


def init_app(app: Flask) -> None:
    from api.cli.access import access_matrix
    from api.cli.archive import archive_events_command
    from api.cli.demo import demo_cards, seed_history, simulate
    from api.cli.forecast import forecast_calibration
    from api.cli.i18n import messages_command
    from api.cli.restrictions import import_restrictions_command, melbourne_compliance
    from api.cli.staff import create_staff
    from api.cli.tiles import set_district_tiles_command
    from bench import commands as bench_commands

    for command in (
        access_matrix,
        migrate,
        seed_demo,
        import_bays_command,
        import_restrictions_command,
        melbourne_compliance,
        create_device_command,
        revoke_device_command,
        create_staff_token,
        create_staff,
        district_settings,
        set_district_tiles_command,
        export_stays,
        replay,
        rebuild,
        archive_events_command,
        simulate,
        demo_cards,
        seed_history,
        run_job_command,
        scheduler_command,
        forecast_calibration,
        messages_command,
    ):
        app.cli.add_command(command)
    bench_commands.init_app(app)


def _now() -> datetime:
    now: datetime = current_app.extensions["parking.clock"].now()
    return now


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """A command's own session, writing through the one unit of work (parking/unit_of_work.py)."""
    db = new_session()
    try:
        with writing(db):
            yield db
    finally:
        db.close()


def _domain_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become a one-line message and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as error:
            raise click.ClickException(f"{error.code}: {error.message}") from None

    return wrapper


def _iso(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=name) from None
    if at.tzinfo is None:
        raise click.BadParameter("give the UTC offset, e.g. 2026-01-01T00:00:00+08:00", param_hint=name)
    return at.astimezone(UTC)


def _names(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


@click.command("migrate")
def migrate() -> None:
    """Bring the database schema to the latest Alembic revision."""
    from api.migrations import upgrade

    url = current_app.config["DATABASE_URL"]
    upgrade(url)
    click.echo(f"schema at the latest revision ({url.split('@')[-1]})")


@click.command("seed-demo")
@_domain_errors
def seed_demo() -> None:
    """Load the demo district (Baiyun, Guiyang: 11 roads, 1,031 bays) with its devices."""
    from fixtures.demo import seed_demo as seed

    with _unit_of_work() as db:
        demo = seed(db, _now())
    state = "loaded" if demo.created else "already there"
    click.echo(f"demo district {demo.slug!r} {state}: {demo.roads} roads, {demo.bays} bays")


@click.command("import-bays")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--district", required=True, help="District slug; created when missing.")
@click.option("--time-zone", help="IANA zone of a new district, e.g. Australia/Melbourne.")
@click.option("--currency", help="ISO 4217 currency of a new district, e.g. AUD.")
@click.option("--name", help="Display name of a new district (default: the slug).")
@click.option("--id-property", required=True, help="Feature property that names each bay.")
@click.option("--zone-properties", required=True, help="Comma-separated properties naming its road.")
@_domain_errors
def import_bays_command(
    file: Path,
    district: str,
    time_zone: str | None,
    currency: str | None,
    name: str | None,
    id_property: str,
    zone_properties: str,
) -> None:
    """Import bays from a GeoJSON FeatureCollection of points."""
    try:
        features = json.loads(file.read_text(encoding="utf-8"))["features"]
    except (ValueError, KeyError, TypeError):
        raise click.ClickException(f"{file} is not a GeoJSON FeatureCollection") from None
    zones = _names(zone_properties)
    if not zones:
        raise click.BadParameter("name at least one property", param_hint="--zone-properties")
    now = _now()
    with _unit_of_work() as db:
        found = db.scalars(select(District).where(District.slug == district)).first()
        if found is None and not (time_zone and currency):
            raise click.UsageError("a new district needs --time-zone and --currency")
        if found is not None and (time_zone or found.time_zone, currency or found.currency) != (
            found.time_zone,
            found.currency,
        ):
            raise click.ClickException(
                f"district {district!r} exists with time zone {found.time_zone} and currency "
                f"{found.currency}; leave --time-zone and --currency out or give those"
            )
        place, created = ensure_district(
            db, district, now, name=name or district, time_zone=time_zone or "", currency=currency or ""
        )
        result = import_bays(db, place, features, id_property, zones, now)
    click.echo(
        f"district {district!r}{' created' if created else ''}: {result.roads_created} roads and "
        f"{result.bays_created} bays added, {result.bays_skipped} bays already known"
    )


@click.command("create-device")
@click.option("--district", required=True)
@click.option(
    "--kind", required=True, type=click.Choice(["video_stake", "handheld_pos", "data_feed", "patrol_car"])
)
@click.option("--bays", help="Comma-separated bay names a video stake covers (one to four).")
@click.option("--roads", help="Comma-separated road names a handheld POS covers (its beat).")
@click.option("--name", help="A name for the device, e.g. STAKE-0042.")
@_domain_errors
def create_device_command(
    district: str, kind: str, bays: str | None, roads: str | None, name: str | None
) -> None:
    """Register a device. Prints its CDS data_source_device_id, then its token on the last line."""
    from sensors.devices import create_device

    with _unit_of_work() as db:
        place = get_district(db, district)
        new = create_device(
            db, place, kind, _now(), name=name, bay_names=_names(bays), road_names=_names(roads)
        )
        device_uuid = new.device.uuid
    click.echo(f"data_source_device_id: {device_uuid}")
    click.echo(new.token)


@click.command("revoke-device")
@click.option("--district", required=True)
@click.option("--device", "device_uuid", required=True, help="Its CDS data_source_device_id.")
@_domain_errors
def revoke_device_command(district: str, device_uuid: str) -> None:
    """Decommission a device at once: none of its tokens works any more."""
    from sensors.devices import find_device, revoke_device

    with _unit_of_work() as db:
        device = revoke_device(db, find_device(db, get_district(db, district), device_uuid), _now())
        revoked_at = device.revoked_at
    click.echo(f"device {device_uuid} revoked at {revoked_at}")


@click.command("district-settings")
@click.option("--district", required=True)
@click.option(
    "--payment-window-minutes",
    type=click.IntRange(min=0, max=90 * 24 * 60),
    help="An ended stay unpaid this long becomes arrears.",
)
@_domain_errors
def district_settings(district: str, payment_window_minutes: int | None) -> None:
    """Show a district's settings, or change them."""
    with _unit_of_work() as db:
        place = get_district(db, district)
        if payment_window_minutes is not None:
            place.payment_window_minutes = payment_window_minutes
        click.echo(
            f"{place.slug}: time zone {place.time_zone}, currency {place.currency}, "
            f"payment window {place.payment_window_minutes} minutes"
        )


@click.command("create-staff-token")
@click.option("--district", required=True)
@click.option("--role", required=True)
@click.option("--name", default="operator", show_default=True)
@_domain_errors
def create_staff_token(district: str, role: str, name: str) -> None:
    """Issue a staff bearer token for a role; it is printed once, on the last line."""
    from identity.staff import issue_staff_token

    with _unit_of_work() as db:
        _, token = issue_staff_token(db, get_district(db, district), role, name, _now())
    click.echo(token)


@click.command("export-stays")
@click.option("--district", required=True)
@click.option("--since", help="ISO 8601 with offset: stays still going at or after this time.")
@click.option("--until", help="ISO 8601 with offset: stays started before this time.")
@_domain_errors
def export_stays(district: str, since: str | None, until: str | None) -> None:
    """Write stays as CSV to standard output: bay,road,plate,started_at,ended_at,sources,violations
    (the rules the stay was flagged for, `;`-separated, empty when none)."""
    flt = StayFilter(since=_iso(since, "--since"), until=_iso(until, "--until"))
    db = new_session()
    try:
        place = get_district(db, district)
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(place.time_zone)
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["bay", "road", "plate", "started_at", "ended_at", "sources", "violations"])
        flagged = stay_violations(db, place.id)
        for stay in iter_stays(db, place.id, flt, _now()):
            out.writerow(
                [
                    stay.bay,
                    stay.road,
                    stay.plate or "",
                    stay.started_at.astimezone(zone).isoformat(),
                    stay.ended_at.astimezone(zone).isoformat() if stay.ended_at else "",
                    ";".join(stay.sources),
                    ";".join(flagged.get(stay.uuid, [])),
                ]
            )
    finally:
        db.close()


@click.command("replay")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--district", required=True)
@click.option("--token", required=True, help="Bearer token of the device (a data feed) sending.")
@click.option("--url", help="Base URL of a running server; default: this app, in process.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 1000))
@click.option("--shuffle", type=int, help="Send the events in a random order from this seed.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@_domain_errors
def replay(
    files: tuple[Path, ...],
    district: str,
    token: str,
    url: str | None,
    batch_size: int,
    shuffle: int | None,
    progress: bool,
) -> None:
    """Send CSVs of arrivals and departures (bay_id, arrival_time, departure_time in the
    district's local time) through the HTTP push endpoint, with a progress bar."""
    from fixtures.replay import HttpSender, ReplayError, replay_files

    if not url:  # history, in process: no bound on age (a server given by --url sets its own)
        current_app.config["EVENT_MAX_AGE_HOURS"] = 0
    sender = HttpSender.for_url(url, token) if url else HttpSender.for_app(current_app, token)
    try:
        report = replay_files(sender, district, list(files), batch_size, shuffle, progress)
    except (ReplayError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(report.summary())
    if report.request_errors:
        raise click.ClickException(f"{report.request_errors} batches were refused")


@click.command("run-job")
@click.argument("name", required=False)
@click.option("--district", help="Only this district (default: all).")
@click.option("--list", "list_jobs", is_flag=True, help="Name every job and stop.")
@_domain_errors
def run_job_command(name: str | None, district: str | None, list_jobs: bool) -> None:
    """Run one scheduled job once, now."""
    from api.scheduler.jobs import JOBS, run_job

    if list_jobs:
        for job in JOBS.values():
            click.echo(f"{job.name:16} every {job.every}  {job.help}")
        return
    if name not in JOBS:
        raise click.UsageError(f"name a job: {', '.join(JOBS)} (or --list)")
    click.echo(f"{name}: {run_job(current_app._get_current_object(), name, district)}")  # type: ignore[attr-defined]


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler process (only one runs jobs at a time; Ctrl-C stops it)."""
    from api.scheduler import Scheduler

    scheduler = Scheduler(current_app._get_current_object(), blocking=True)  # type: ignore[attr-defined]
    click.echo(f"scheduler {scheduler.holder} starting; jobs run while it holds the lease")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        scheduler.stop()


@click.command("rebuild")
@click.option("--district", help="Only this district (default: all).")
@click.option("--dry-run", is_flag=True, help="Report differences without rewriting.")
@_domain_errors
def rebuild(district: str | None, dry_run: bool) -> None:
    """Re-derive every bay timeline from the event log (the archive under EVENT_ARCHIVE_DIR
    and the database's hot log) and report any difference."""
    from tqdm import tqdm

    from sensors.rebuild import rebuild_districts

    with _unit_of_work() as db:
        if district is not None:
            get_district(db, district)  # an unknown district is an error, not "0 bays"
        with tqdm(unit=" bays", file=sys.stderr, disable=None) as bar:
            archive = Path(current_app.config["EVENT_ARCHIVE_DIR"])
            report = rebuild_districts(db, district, _now(), on_bay=bar.update, archive=archive)
        if dry_run:
            db.rollback()
    for line in report.lines():
        click.echo(line)
    if report.differences and dry_run:
        sys.exit(1)
