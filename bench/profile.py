"""Where one request's time goes, in process (issue 17 item 1): `flask --app api profile-requests`.

The two requests the street makes one at a time, a single CDS event and a warden's plate check,
are each sent `--requests` times straight into the WSGI app (no HTTP client, no server), on a
throwaway database holding the demo district and PLANTED stays with plates. It prints the CPU
time per request (`time.process_time`), the wall time, the SQL statements per request, the
function calls per request (Python and C, counted over the last requests sent: a figure a
contended host does not move, where its CPU time swings by half) and the CPU time per stage:
each stage is the exclusive time spent in the functions named in STAGES; "other" is the rest
(Flask, routing, the session, parsing)."""

from __future__ import annotations

import importlib
import io
import random
import sys
import time
import urllib.parse
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import orjson
from flask import Flask
from sqlalchemy import event
from werkzeug.test import EnvironBuilder

from api import create_app
from bench.street import PLANTED, Stakes, _build
from fixtures.demo import DEMO_SLUG
from fixtures.pgcluster import find_pg_bin
from fixtures.servers import throwaway_database
from parking.clock import to_ms

# (stage, "module:attribute") for each request kind; a wrapper is put on each attribute while
# the command runs. Names are where the route looks them up, so a move shows up as an error.
STAGES: dict[str, list[tuple[str, str]]] = {
    "event": [
        ("token lookup", "api.auth:device_for_token"),
        ("district", "api.cds.events:district_for"),
        ("transaction begin", "parking.unit_of_work:begin_write"),
        ("parse and check", "sensors.services:check_items"),
        ("bays, locked", "sensors.intake:_place"),
        ("event log insert", "sensors.intake:_log_new"),
        ("device and timeline", "sensors.intake:_update_device"),
        ("device and timeline", "sensors.intake:fold_new_events"),
        ("device and timeline", "sensors.intake:finish_folding"),
        ("JSON", "api.cds.events:jsonify"),
        ("commit", "sqlalchemy.orm:Session.commit"),
    ],
    "plate check": [
        ("token lookup", "api.auth:staff_for_token"),
        ("district", "api.v1.staff.warden:district_for"),
        ("transaction begin", "parking.unit_of_work:begin_write"),
        ("ledger reads", "enforcement.plate_check:_latest_stay"),
        ("ledger reads", "enforcement.plate_check:_stay_summary"),
        ("ledger reads", "enforcement.plate_check:plate_ledger"),
        ("ledger reads", "enforcement.plate_check:_violations_and_citations"),
        ("audit insert, from the bay's row", "enforcement.lookup_services:record_plate_lookup"),
        ("JSON", "api.v1.staff.warden:jsonify"),
        ("JSON", "api.v1.staff.warden:PlateCheckOut.dump"),
        ("commit", "sqlalchemy.orm:Session.commit"),
    ],
}


@click.command("profile-requests")
@click.option(
    "--database", type=click.Choice(["sqlite", "postgresql", "both"]), default="sqlite", show_default=True
)
@click.option("--requests", "count", default=1000, show_default=True, type=click.IntRange(50, 100_000))
def profile_requests(database: str, count: int) -> None:
    """CPU ms per request and per stage for a single CDS event and a plate check."""
    kinds = ["sqlite", "postgresql"] if database == "both" else [database]
    if "postgresql" in kinds and find_pg_bin() is None:
        raise click.ClickException("PostgreSQL is not installed here (no initdb/pg_ctl)")
    for kind in kinds:
        with throwaway_database(kind, prefix="parking-profile-") as url:
            click.echo(f"{kind}: building the demo district and planting {PLANTED} stays...", err=True)
            for line in profile_database(url, kind, count):
                click.echo(line)


def profile_database(url: str, kind: str, count: int) -> list[str]:
    tokens, bays, stakes = _build(url)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SQLITE_CHECKPOINT_SECONDS": 1.0})
    bay_ids = [bay for bay, _, _ in bays]
    plates = _plant(app, tokens, bay_ids)
    free = bay_ids[PLANTED:]
    rng = random.Random(17)
    requests = {
        "event": [_event(stakes, free[n // 2 % len(free)], n) for n in range(count)],
        "plate check": [_check(tokens, rng, plates, bay_ids) for _ in range(count)],
    }
    lines = [f"{kind}: {count} requests of each kind, in process"]
    for name, environs in requests.items():
        for warm in environs[:20]:  # plans, pools, caches: not measured
            _call(app, dict(warm))
        counted = min(200, (len(environs) - 20) // 5)  # the last ones, to count calls
        lines += _measure(app, name, environs[20 : len(environs) - counted], environs[-counted:])
    return lines


def _measure(
    app: Flask, name: str, environs: list[dict[str, Any]], counted: list[dict[str, Any]]
) -> list[str]:
    stages: dict[str, float] = defaultdict(float)
    statements = _count_statements(app)
    with _timed(STAGES[name], stages):
        cpu, wall = time.process_time(), time.perf_counter()
        for environ in environs:
            _call(app, environ)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = len(environs)
    lines = [
        f"  {name}: {cpu / n * 1000:.2f} ms CPU/request, {wall / n * 1000:.2f} ms wall, "
        f"{statements() / n:.1f} SQL statements/request, "
        f"{_python_calls(app, counted):,.0f} Python calls/request"
    ]
    for stage, seconds in stages.items():
        lines.append(f"    {stage:22} {seconds / n * 1000:6.3f} ms")
    lines.append(f"    {'other':22} {(cpu - sum(stages.values())) / n * 1000:6.3f} ms")
    return lines


def _call(app: Flask, environ: dict[str, Any]) -> None:
    status: list[str] = []
    body = b"".join(app(environ, lambda s, _h, _e=None: status.append(s)))  # type: ignore[arg-type]
    if not status[0].startswith("200") or b'"failures":[{' in body:
        raise click.ClickException(f"{environ['PATH_INFO']}: {status[0]} {body[:300]!r}")


def _python_calls(app: Flask, environs: list[dict[str, Any]]) -> float:
    """Function calls (Python and C) per request: unlike CPU time, the same on a busy host as
    on a quiet one, so a change's saving shows in one run."""
    calls = [0]

    def count(_frame: Any, what: str, _arg: Any) -> None:
        if what in ("call", "c_call"):
            calls[0] += 1

    sys.setprofile(count)
    try:
        for environ in environs:
            _call(app, environ)
    finally:
        sys.setprofile(None)
    return calls[0] / len(environs)


def _count_statements(app: Flask) -> Callable[[], int]:
    engine = app.extensions["parking.engine"]
    seen = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        seen[0] += 1

    return lambda: seen[0]


@contextmanager
def _timed(stages: list[tuple[str, str]], totals: dict[str, float]) -> Iterator[None]:
    """Wrap each named function so that its exclusive CPU time adds to its stage."""
    stack: list[float] = []  # CPU time of nested stages, to subtract from their caller
    undo = []
    for stage, target in stages:
        module_name, _, path = target.partition(":")
        owner: Any = importlib.import_module(module_name)
        *parents, attr = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        original = getattr(owner, attr)
        setattr(owner, attr, _wrap(original, stage, totals, stack))
        undo.append((owner, attr, original))
    try:
        yield
    finally:
        for owner, attr, original in reversed(undo):
            setattr(owner, attr, original)


def _wrap(original: Any, stage: str, totals: dict[str, float], stack: list[float]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        stack.append(0.0)
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent = time.process_time() - start
            nested = stack.pop()
            totals[stage] += spent - nested
            if stack:
                stack[-1] += spent

    return timed


def _environ(method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    data = orjson.dumps(body) if body is not None else None
    headers = [("Authorization", f"Bearer {token}")]
    builder = EnvironBuilder(path=path, method=method, headers=headers, data=data)
    if data is not None:
        builder.content_type = "application/json"
    environ: dict[str, Any] = builder.get_environ()
    environ["wsgi.input"] = io.BytesIO(data or b"")
    return environ


def _event(stakes: Stakes, bay: str, n: int) -> dict[str, Any]:
    """An arrival with its plate (even n) or the departure (odd n) at a free bay, from the
    bay's stake."""
    stake_id, token = stakes[bay]
    at = to_ms(datetime.now(UTC) - timedelta(seconds=60) + timedelta(milliseconds=n))
    item = {
        "event_id": str(uuid.uuid4()),
        "event_type": "park_end" if n % 2 else "park_start",
        "event_time": at,
        "event_publication_time": at,
        "curb_space_id": bay,
        "data_source_type": "camera",
        "data_source_device_id": stake_id,
    }
    if n % 2 == 0:
        item |= {"vehicle_license_plate": f"贵C{10000 + n}", "vehicle_license_plate_confidence": 90}
    return _environ("POST", f"/cds/{DEMO_SLUG}/events/event", token, [item])


def _check(tokens: dict[str, str], rng: random.Random, plates: list[str], bays: list[str]) -> dict[str, Any]:
    """A check of a parked plate (seven in ten) or a stranger, from a bay."""
    plate = rng.choice(plates) if rng.random() < 0.7 else f"贵B{rng.randrange(10000, 99999)}"
    path = f"/api/v1/{DEMO_SLUG}/plates/{urllib.parse.quote(plate)}/check?bay={rng.choice(bays)}"
    return _environ("GET", path.split("?")[0], tokens["warden"]) | {"QUERY_STRING": path.split("?")[1]}


def _plant(app: Flask, tokens: dict[str, str], bays: list[str]) -> list[str]:
    """PLANTED stays going on for half an hour, with plates; their plates."""
    rng = random.Random(17)
    at = to_ms(datetime.now(UTC) - timedelta(minutes=30))
    plates = [f"贵A{rng.randrange(10000, 99999)}" for _ in range(PLANTED)]
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "park_start",
            "event_time": at,
            "event_publication_time": at,
            "curb_space_id": bay,
            "data_source_type": "data_feed",
            "data_source_device_id": tokens["feed_id"],
            "vehicle_license_plate": plate,
            "vehicle_license_plate_confidence": 95,
        }
        for bay, plate in zip(bays, plates, strict=False)
    ]
    for first in range(0, len(events), 500):
        _call(
            app,
            _environ("POST", f"/cds/{DEMO_SLUG}/events/event", tokens["feed"], events[first : first + 500]),
        )
    return plates
