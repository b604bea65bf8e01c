"""The requests the street makes one at a time, under gunicorn and `wrk` (issue 17):

- `bench-intake --one-per-request`: one CDS event per request, as a stake reports an arrival;
- `bench-plate-check`: a warden's plate check (`GET /api/v1/<d>/plates/<plate>/check?bay=`);
- `bench-patrol`: a patrol car's batches of plate reads (`POST /api/v1/<d>/patrol/reads`).

Each builds a throwaway database with the demo district, plants stays with plates through the
push endpoint (so plate checks and reads find real stays, dues and strangers), starts gunicorn
on 127.0.0.1 and loads it for `--duration` seconds with `--connections` connections. It prints
requests/s with p50/p90/p99/max latency, and for the patrol reads/s; figures go to
docs/BENCHMARKS.md with the command that made them."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import upgrade
from bench.vacancy import LoadFigures, _figures, _wrk
from fixtures.demo import DEMO_SLUG, seed_demo
from fixtures.pgcluster import find_pg_bin
from fixtures.servers import ServerStartError, server_env, start_gunicorn, throwaway_database
from identity.staff import issue_staff_token
from parking.clock import to_ms
from parking.inventory import get_district
from parking.models import Bay
from sensors.devices import create_device
from sensors.models import VIDEO_STAKE, Device, device_bay

PLANTED = 600  # stays with plates pushed before the run
WRK_THREADS = 2
# wrk runs this in each thread. Each thread cycles through its own share of the list of request
# bodies or paths (for events: its own bays, each reported by its own stake with the stake's
# token), from a random start. In a body, `%%ID%%` becomes a fresh id and `%%MS%%` a time in
# milliseconds that goes up by one each request from the thread's start (a bay's events come in
# order, as a stake sends them; under 1,000 requests a second per thread it never passes the
# time now).
LUA = """
local items = {%s}
local method, token = %s, %s
local threads = %d
local i, n, first, last, start_ms = 0, 0, 1, 1, 0
-- `tid` is a global: thread:set writes the thread's globals, which a chunk-level local would
-- hide (each thread then drew the same ids and walked the same bays).
tid = 0
function setup(thread) tid = tid + 1; thread:set("tid", tid) end
function init(args)
  math.randomseed(os.time() * 100 + tid)
  local share = math.max(2, math.floor(#items / threads / 2) * 2)
  first = math.min((tid - 1) * share, #items - 1)
  last = (tid == threads) and #items - 1 or math.min(first + share, #items) - 1
  i = first + 2 * math.random(0, math.floor((last - first) / 2))
  start_ms = os.time() * 1000
end
function request()
  local item = items[i + 1]
  i = (i >= last) and first or i + 1
  n = n + 1
  local auth = type(item) == "table" and item.token or token
  local headers = {["Authorization"] = "Bearer " .. auth, ["Content-Type"] = "application/json"}
  if method == "GET" then return wrk.format("GET", item, headers) end
  local body = item.body:gsub("%%%%ID%%%%", string.format("%%08x-%%04x-4000-8000-%%012x", math.random(0, 0x7fffffff), tid, n))
  body = body:gsub("%%%%MS%%%%", string.format("%%d", start_ms + n))
  return wrk.format("POST", item.path, headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "p50": %%d, "p90": %%d, "p99": %%d, '
    .. '"max": %%d, "errors": %%d, "status_errors": %%d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""

_DATABASE = click.option(
    "--database", type=click.Choice(["sqlite", "postgresql", "both"]), default="both", show_default=True
)
_DURATION = click.option("--duration", default=15, show_default=True, type=click.IntRange(1, 300))
_CONNECTIONS = click.option("--connections", default=8, show_default=True, type=click.IntRange(1, 1000))
_WORKERS = click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16))


@click.command("bench-plate-check")
@_DATABASE
@_DURATION
@_CONNECTIONS
@_WORKERS
def bench_plate_check(database: str, duration: int, connections: int, workers: int) -> None:
    """A warden's plate checks, one a request: each answered and audited."""
    for line in _run(database, duration, connections, workers, "plate-check"):
        click.echo(line)


@click.command("bench-patrol")
@_DATABASE
@_DURATION
@_CONNECTIONS
@_WORKERS
@click.option(
    "--batch", default=500, show_default=True, type=click.IntRange(1, 1000), help="Reads a request."
)
def bench_patrol(database: str, duration: int, connections: int, workers: int, batch: int) -> None:
    """A patrol car's plate reads in batches: reads per second, every read audited."""
    for line in _run(database, duration, connections, workers, "patrol", batch):
        click.echo(line)


def bench_single_events(database: str, duration: int, connections: int, workers: int) -> list[str]:
    """One CDS event a request (bench-intake --one-per-request)."""
    return _run(database, duration, connections, workers, "event")


def _run(
    database: str, duration: int, connections: int, workers: int, kind: str, batch: int = 1
) -> list[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise click.ClickException("wrk is not installed: `apt-get install wrk` (Debian) installs it")
    kinds = ["sqlite", "postgresql"] if database == "both" else [database]
    if "postgresql" in kinds and find_pg_bin() is None:
        raise click.ClickException("PostgreSQL is not installed here (no initdb/pg_ctl)")
    lines = []
    for db_kind in kinds:
        with (
            throwaway_database(db_kind, prefix="parking-bench-street-") as url,
            tempfile.TemporaryDirectory() as folder,
        ):
            click.echo(f"{db_kind}: building the demo district and planting {PLANTED} stays...", err=True)
            tokens, bays, stakes = _build(url)
            with _gunicorn(url, workers) as base:
                plates = _plant(base, tokens, bays)
                items, method, token = _items(kind, bays, plates, tokens, stakes, batch)
                script = Path(folder) / f"{kind}.lua"
                script.write_text(
                    LUA % (", ".join(items), json.dumps(method), json.dumps(token), WRK_THREADS)
                )
                _wrk(wrk, base, script, 2, connections)  # warm up: pools, plans, caches
                result = _wrk(wrk, base, script, duration, connections)
                figures = _figures(db_kind, "demo", kind, result)
                lines.append(_line(figures, batch))
    return lines


def _line(figures: LoadFigures, batch: int) -> str:
    line = figures.line()
    return line + (f"  = {figures.requests_per_s * batch:,.0f} reads/s" if batch > 1 else "")


Stakes = dict[str, tuple[str, str]]  # bay uuid: the uuid and token of the stake that sees it


def _build(url: str) -> tuple[dict[str, str], list[tuple[str, float, float]], Stakes]:
    """The demo district, a data feed, a warden and a patrol car: their tokens; the bays; and
    the stake that sees each bay, with its token."""
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with Session(engine) as db:
            seed = seed_demo(db, now)
            district = get_district(db, DEMO_SLUG)
            feed = create_device(db, district, "data_feed", now, name="BENCH-FEED")
            tokens = {
                "feed": feed.token,
                "feed_id": feed.device.uuid,
                "car": create_device(db, district, "patrol_car", now, name="BENCH-CAR").token,
                "warden": issue_staff_token(db, district, "warden", "bench warden", now)[1],
            }
            bays = [
                (u, lat, lng)
                for u, lat, lng in db.execute(select(Bay.uuid, Bay.lat, Bay.lng).order_by(Bay.id))
            ]
            seen_by = (
                select(Bay.uuid, Device.uuid, Device.name)
                .join(device_bay, device_bay.c.bay_id == Bay.id)
                .join(Device, Device.id == device_bay.c.device_id)
                .where(Device.kind == VIDEO_STAKE)
            )
            stakes = {bay: (stake, seed.tokens[name]) for bay, stake, name in db.execute(seen_by)}
            db.commit()
    finally:
        engine.dispose()
    return tokens, bays, stakes


def _plant(base: str, tokens: dict[str, str], bays: list[tuple[str, float, float]]) -> list[str]:
    """PLANTED stays going on, with plates, pushed as the feed; their plates."""
    rng = random.Random(17)
    now = datetime.now(UTC) - timedelta(minutes=30)
    plates = [f"贵A{rng.randrange(10000, 99999)}" for _ in range(PLANTED)]
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "park_start",
            "event_time": to_ms(now),
            "event_publication_time": to_ms(now),
            "curb_space_id": bay,
            "data_source_type": "data_feed",
            "data_source_device_id": tokens["feed_id"],
            "vehicle_license_plate": plate,
            "vehicle_license_plate_confidence": 95,
        }
        for (bay, _, _), plate in zip(bays, plates, strict=False)
    ]
    for first in range(0, len(events), 500):
        _post(f"{base}/cds/{DEMO_SLUG}/events/event", tokens["feed"], events[first : first + 500])
    return plates


def _items(
    kind: str,
    bays: list[tuple[str, float, float]],
    plates: list[str],
    tokens: dict[str, str],
    stakes: Stakes,
    batch: int,
) -> tuple[list[str], str, str]:
    rng = random.Random(5)
    if kind == "plate-check":
        paths = []
        for _ in range(1000):
            plate = rng.choice(plates) if rng.random() < 0.7 else f"贵B{rng.randrange(10000, 99999)}"
            bay = rng.choice(bays)[0]
            paths.append(
                json.dumps(f"/api/v1/{DEMO_SLUG}/plates/{urllib.parse.quote(plate)}/check?bay={bay}")
            )
        return paths, "GET", tokens["warden"]
    if kind == "patrol":
        bodies = []
        for _ in range(50):
            reads = []
            for _ in range(batch):
                bay, lat, lng = rng.choice(bays)
                plate = rng.choice(plates) if rng.random() < 0.8 else f"贵B{rng.randrange(10000, 99999)}"
                at = datetime.now(UTC).isoformat()
                reads.append(
                    {
                        "plate": plate,
                        "confidence": rng.choice((95, 90, 60)),
                        "read_at": at,
                        "lat": lat,
                        "lng": lng,
                    }
                )
            bodies.append(
                _lua_item(
                    f"/api/v1/{DEMO_SLUG}/patrol/reads", json.dumps({"reads": reads}, ensure_ascii=False)
                )
            )
        return bodies, "POST", tokens["car"]
    # Each free bay: an arrival with its plate read, then the departure, from the bay's own
    # stake. Each wrk thread's share is its own bays in a shuffled order, every arrival and then
    # every departure: requests sent together are for other bays and, but for chance, other
    # stakes, as on the street (where a stake reports a few bays, minutes apart), and a bay's
    # departure comes after its arrival.
    free = list(enumerate(bay for bay, _, _ in bays[PLANTED:]))  # (n, bay): n numbers the plate
    share = len(free) // WRK_THREADS
    bodies = []
    for thread in range(WRK_THREADS):
        mine = free[thread * share : (thread + 1) * share]
        rng.shuffle(mine)
        for event_type in ("park_start", "park_end"):
            bodies += [_single_event(bay, event_type, stakes[bay], n) for n, bay in mine]
    return bodies, "POST", ""


def _single_event(bay: str, event_type: str, stake: tuple[str, str], n: int) -> str:
    """One event at the bay from its stake; an arrival carries the plate 贵C<10000 + n>."""
    stake_id, token = stake
    event: dict[str, Any] = {
        "event_id": "%ID%",
        "event_type": event_type,
        "event_time": "%MS%",
        "event_publication_time": "%MS%",
        "curb_space_id": bay,
        "data_source_type": "camera",
        "data_source_device_id": stake_id,
    }
    if event_type == "park_start":
        event |= {"vehicle_license_plate": f"贵C{10000 + n}", "vehicle_license_plate_confidence": 90}
    body = json.dumps([event], ensure_ascii=False).replace('"%MS%"', "%MS%")
    return _lua_item(f"/cds/{DEMO_SLUG}/events/event", body, token)


def _lua_item(path: str, body: str, token: str | None = None) -> str:
    fields = f"path = {json.dumps(path)}, body = {_lua_string(body)}"
    return "{" + fields + (f", token = {json.dumps(token)}" if token else "") + "}"


def _lua_string(text: str) -> str:
    """A Lua long string holding `text` exactly (JSON holds no `]==]`)."""
    return "[==[" + text + "]==]"


def _post(url: str, token: str, body: Any) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(request, timeout=60) as response:
        answer = json.loads(response.read())
    if answer.get("failures"):
        raise click.ClickException(f"planting failed: {answer['failures'][:3]}")


@contextmanager
def _gunicorn(url: str, workers: int) -> Iterator[str]:
    try:
        server = start_gunicorn(server_env(url), workers, 1, f"/cds/{DEMO_SLUG}/curbs/areas")
    except ServerStartError:
        raise click.ClickException("gunicorn did not start") from None
    try:
        yield server.base
    finally:
        server.stop()
