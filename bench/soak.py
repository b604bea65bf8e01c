"""`flask --app api soak`: `scale` times the pilot's traffic against gunicorn for `minutes`.

A fresh database (a temporary SQLite file or a throwaway PostgreSQL cluster) gets the demo
district, its app users' test cards, yesterday's simulated traffic (so the forecast is fitted
and drivers have stays to pay) and staff tokens; then localstripe, gunicorn (`--workers`) and
the scheduler run on 127.0.0.1 while the clients of `bench/soak_traffic.py` and
`bench/soak_visits.py` drive them. Every request's status and latency is recorded, and the
resident memory of each server process sampled. At the end the database is checked: every
event accepted is in the log once, and there are as many stays as arrivals sent.

Exit status 1 when any request failed (5xx, connection error, an unexpected 4xx, or an event
refused), a check failed, or a process's memory grew beyond the bound of
`bench/soak_figures.py`."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.soak_check import check_state, payable_plates
from bench.soak_figures import MB, MemoryTrack, Recorder, render
from bench.soak_traffic import (
    PILOT_PEAK_ARRIVALS_PER_HOUR,
    PILOT_PEAK_PER_HOUR,
    CompressedStreet,
    World,
    street_loop,
)
from bench.soak_visits import VISITS, start_visitors
from fixtures.demo import DEMO_SLUG, demo_layout, demo_token
from fixtures.pgcluster import find_pg_bin
from fixtures.servers import (
    Child,
    ServerStartError,
    children_of,
    rss_bytes,
    server_env,
    start_gunicorn,
    start_localstripe,
    start_scheduler,
    throwaway_database,
)
from fixtures.simulator import sim_bays
from parking.clock import from_ms, to_ms

STAFF_ROLES = ("warden", "attendant", "bureau")
EVENTS_PER_STAY = 2.13  # the simulator's events per stay at the peak (two stake events, and some POS ones)


@click.command("soak")
@click.option("--database", type=click.Choice(["sqlite", "postgres"]), default="sqlite", show_default=True)
@click.option("--minutes", default=10.0, show_default=True, type=click.FloatRange(0.1, 240))
@click.option(
    "--scale", default=10.0, show_default=True, type=click.FloatRange(0.1, 100), help="× the pilot."
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option(
    "--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the report."
)
@click.option("--report-seconds", default=30.0, show_default=True, type=click.FloatRange(1))
@click.option("--seed", default=7, show_default=True, type=int)
def soak(
    database: str,
    minutes: float,
    scale: float,
    workers: int,
    json_file: Path | None,
    report_seconds: float,
    seed: int,
) -> None:
    """Soak the system at SCALE times the pilot's peak-hour traffic for MINUTES: errors must be
    zero and no process's memory may grow without bound (exit status 1 otherwise)."""
    if database == "postgres" and find_pg_bin() is None:
        raise click.ClickException("PostgreSQL is not installed here (no initdb/pg_ctl)")
    load_before, begun = os.getloadavg(), time.monotonic()
    kind = "postgresql" if database == "postgres" else "sqlite"
    with throwaway_database(kind, prefix="parking-soak-") as url, ExitStack() as servers:
        try:
            stripe = servers.enter_context(start_localstripe())
            env = server_env(url, {"PARKING_STRIPE_API_BASE": stripe.base})
            click.echo(f"{database}: seeding the demo district and a day of history...", err=True)
            staff = _prepare(url, stripe.base)
            web = servers.enter_context(start_gunicorn(env, workers, probe=f"/cds/{DEMO_SLUG}/curbs/areas"))
            scheduler = servers.enter_context(start_scheduler(env))
        except ServerStartError as error:
            raise click.ClickException(str(error)) from None
        world = _world(url, web.base, staff)
        click.echo(f"servers up ({time.monotonic() - begun:.0f} s)", err=True)
        click.echo(f"driving {scale:g}× the pilot's peak hour for {minutes:g} min...", err=True)
        report = _drive(world, [web, scheduler, stripe], minutes * 60, scale, seed, report_seconds)
        report["checks"] = check_state(url, world, report["started_at"])
    report.update(database=database, minutes=minutes, scale=scale, workers=workers)
    report["load_average"] = {"before": load_before, "after": os.getloadavg()}
    report["targets"] = _targets(scale, len(world.device_tokens))
    report["passed"] = _passed(report)
    click.echo(render(report))
    if json_file is not None:
        json_file.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    if not report["passed"]:
        raise SystemExit(1)


def _prepare(url: str, stripe_base: str) -> dict[str, str]:
    """Schema, demo district, test cards, yesterday's traffic priced and the forecast fitted,
    through the operator commands (in this process); then one staff token per role."""
    from api import create_app
    from identity.staff import issue_staff_token
    from parking.inventory import get_district

    app = create_app({"DATABASE_URL": url, "STRIPE_API_BASE": stripe_base, "SQLITE_CHECKPOINT_SECONDS": 0})
    runner = app.test_cli_runner()
    commands = (
        ["migrate"],
        ["seed-demo"],
        ["demo-cards"],
        ["seed-history", "--days", "1"],
        ["run-job", "price-stays"],
        ["run-job", "forecast"],
    )
    with app.app_context():  # else the commands would find the app this command runs in
        for args in commands:
            t = time.monotonic()
            result = runner.invoke(args=args)
            click.echo(f"  {' '.join(args)}: {time.monotonic() - t:.1f} s", err=True)
            if result.exit_code != 0:
                raise click.ClickException(
                    f"{' '.join(args)} failed: {result.output}{result.exception or ''}"
                )
    engine = app.extensions["parking.engine"]
    with Session(engine) as db:
        district = get_district(db, DEMO_SLUG)
        now = datetime.now(UTC)
        staff = {role: issue_staff_token(db, district, role, f"soak-{role}", now)[1] for role in STAFF_ROLES}
        db.commit()
    engine.dispose()
    return staff


def _world(url: str, base: str, staff: dict[str, str]) -> World:
    """Ids from the database: bays, roads, devices (with their demo tokens), the district's
    extent, and the plates that left owing yesterday."""
    from api.database import make_engine
    from parking.models import Bay, District, Road
    from sensors.models import Device

    engine = make_engine(url)
    try:
        with Session(engine) as db:
            district = db.scalars(select(District).where(District.slug == DEMO_SLUG)).one()
            spaces = {
                name: (space, zone)
                for name, space, zone in db.execute(
                    select(Bay.name, Bay.uuid, Road.uuid)
                    .join(Road, Road.id == Bay.road_id)
                    .where(Bay.district_id == district.id)
                )
            }
            devices = {d.name: d for d in db.scalars(select(Device).where(Device.district_id == district.id))}
            box = db.execute(
                select(
                    func.min(Road.min_lat),
                    func.min(Road.min_lng),
                    func.max(Road.max_lat),
                    func.max(Road.max_lng),
                ).where(Road.district_id == district.id)
            ).one()
            roads = list(db.scalars(select(Road.uuid).where(Road.district_id == district.id)))
            plates = payable_plates(db, district.id)
            zone = ZoneInfo(district.time_zone)
    finally:
        engine.dispose()
    source = {"video_stake": "camera", "handheld_pos": "in_person"}
    layout_names = {d.name for d in demo_layout().devices}
    return World(
        base=base,
        district=DEMO_SLUG,
        zone=zone,
        bays=sim_bays(spaces, {name: d.uuid for name, d in devices.items()}),
        roads=roads,
        box=tuple(box),  # type: ignore[arg-type]
        # the devices that push curb events: not the patrol car, which sends plate reads only
        device_tokens={
            d.uuid: demo_token(name)
            for name, d in devices.items()
            if name in layout_names and d.kind in source
        },
        sources={d.uuid: source[d.kind] for d in devices.values() if d.kind in source},
        staff=staff,
        payable=deque(plates),
    )


def _drive(
    world: World, servers: list[Child], seconds: float, scale: float, seed: int, report_seconds: float
) -> dict[str, Any]:
    """Run the street and the visitors for `seconds`, sampling memory and printing progress."""
    recorder, stop = Recorder(), threading.Event()
    started_at = from_ms(to_ms(datetime.now(UTC)))  # whole ms, as the events are stamped
    street = CompressedStreet(
        world.bays, world.zone, started_at.astimezone(world.zone).date(), started_at, scale, seed
    )
    threads = [threading.Thread(target=street_loop, args=(world, recorder, street, stop), daemon=True)]
    threads[0].start()
    threads += start_visitors(world, recorder, scale, seed, stop)
    tracks: dict[int, MemoryTrack] = {}
    sample_every = min(10.0, max(1.0, seconds / 30))
    t0 = time.monotonic()
    next_sample, next_report, last = t0, t0 + report_seconds, (0, 0)
    while (elapsed := time.monotonic() - t0) < seconds:
        if time.monotonic() >= next_sample:
            _sample(tracks, servers, elapsed, recorder)
            next_sample += sample_every
        if time.monotonic() >= next_report:
            last = _progress(world, recorder, tracks, elapsed, report_seconds, last)
            next_report += report_seconds
        time.sleep(min(0.2, max(0.0, seconds - elapsed)))
    _sample(tracks, servers, time.monotonic() - t0, recorder)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return _figures(world, recorder, street, tracks, time.monotonic() - t0, warm_up=min(60.0, seconds / 4))


def _figures(
    world: World,
    recorder: Recorder,
    street: CompressedStreet,
    tracks: dict[int, MemoryTrack],
    elapsed: float,
    warm_up: float,
) -> dict[str, Any]:
    return {
        "started_at": street.start_at,
        "seconds": elapsed,
        "simulated": [street.window_start.isoformat(), street.simulated(datetime.now(UTC)).isoformat()],
        "requests": recorder.requests(),
        "requests_per_s": recorder.requests() / elapsed,
        "events_per_s": sum(world.events.values()) / elapsed,
        "under_way_at_start": street.under_way,
        "stays_per_s": (len(world.sent_park_starts) - street.under_way) / elapsed,
        "street_events_per_s": (
            sum(n for k, n in world.events.items() if k != "heartbeat") - street.under_way
        )
        / elapsed,
        "heartbeats_per_s": world.events["heartbeat"] / elapsed,
        "kinds": recorder.kinds(elapsed),
        "errors": {f"{kind}: {reason}": n for (kind, reason), n in sorted(recorder.errors.items())},
        "memory": {track.name: track.verdict(warm_up) for track in tracks.values()},
        "warm_up_s": warm_up,
    }


def _sample(tracks: dict[int, MemoryTrack], servers: list[Child], elapsed: float, recorder: Recorder) -> None:
    """One RSS sample of each server process and of each gunicorn worker; a process gone, or
    a worker replaced (killed by a timeout, or crashed), is an error."""
    web = next(child for child in servers if child.name == "gunicorn")
    had_workers = any(t.name.startswith("gunicorn worker") for t in tracks.values())
    named = [("gunicorn master" if c is web else c.name, c.pid) for c in servers]
    named += [(f"gunicorn worker {pid}", pid) for pid in children_of(web.pid)]
    for name, pid in named:
        if had_workers and name.startswith("gunicorn worker") and pid not in tracks:
            recorder.error("server", f"a gunicorn worker was replaced (new pid {pid})")
        rss = rss_bytes(pid)
        if rss is None:
            recorder.error("server", f"{name} is gone")
            continue
        tracks.setdefault(pid, MemoryTrack(name, pid)).samples.append((elapsed, rss))


def _progress(
    world: World,
    recorder: Recorder,
    tracks: dict[int, MemoryTrack],
    elapsed: float,
    window: float,
    last: tuple[int, int],
) -> tuple[int, int]:
    requests, events = recorder.requests(), sum(world.events.values())
    memory = ", ".join(f"{t.name} {t.samples[-1][1] / MB:.0f} MB" for t in tracks.values() if t.samples)
    click.echo(
        f"{elapsed:6.0f} s: {(requests - last[0]) / window:7.1f} requests/s, "
        f"{(events - last[1]) / window:6.1f} events/s, errors {recorder.error_count()} | {memory}",
        err=True,
    )
    return requests, events


def _targets(scale: float, devices: int) -> dict[str, float]:
    """What `scale` × the pilot's peak hour asks of each kind, per second."""
    out = {kind: scale * PILOT_PEAK_PER_HOUR[kind] / 3600 for kind in VISITS}
    out["stays (arrivals)"] = scale * PILOT_PEAK_ARRIVALS_PER_HOUR / 3600
    out["stake and POS events"] = out["stays (arrivals)"] * EVENTS_PER_STAY
    out["heartbeat"] = scale * PILOT_PEAK_PER_HOUR["heartbeat"] * devices / 3600
    return out


def _passed(report: dict[str, Any]) -> bool:
    return (
        not report["errors"]
        and all(check["ok"] for check in report["checks"].values())
        and not any(m["unbounded"] for m in report["memory"].values())
    )
