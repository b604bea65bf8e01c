"""`flask --app api bench-vacancy`: vacancy queries per second and latency under gunicorn.

Builds a temporary database with the demo district (live state: bays occupied or vacant,
devices heard within the last minute) and a generated city of 100,000 bays, starts gunicorn
on 127.0.0.1, and loads it with `wrk` (50 connections by default, bounded by `--duration`)
over a thousand query points spread across each district. The CDS zones query near a point
is measured the same way, for comparison."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import upgrade
from bench.city import CITY_SLUG, CityBox, build_city, seed_live_state
from fixtures.demo import DEMO_SLUG, seed_demo
from fixtures.pgcluster import find_pg_bin
from fixtures.servers import ServerStartError, server_env, start_gunicorn, throwaway_database
from parking.models import Road

POINTS = 1000
RADIUS_M = 500
# wrk runs the script in every thread; each thread starts at its own place in the list and
# prints nothing until `done`, where one JSON line carries the exact figures.
LUA = """
local paths = {%s}
local pause = %s
local i = 0
if pause > 0 then function delay() return pause end end
function init(args) i = math.random(#paths) end
function request() i = i %% #paths + 1; return wrk.format("GET", paths[i]) end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "p50": %%d, "p90": %%d, "p99": %%d, '
    .. '"max": %%d, "errors": %%d, "status_errors": %%d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class LoadFigures:
    database: str
    district: str
    endpoint: str
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    def line(self) -> str:
        return (
            f"{self.database:10} {self.district:10} {self.endpoint:13} {self.requests_per_s:8,.0f} req/s  "
            f"p50 {self.p50_ms:6.2f} ms  p90 {self.p90_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            f"max {self.max_ms:7.1f} ms  errors {self.errors}"
        )


@click.command("bench-vacancy")
@click.option(
    "--database", type=click.Choice(["sqlite", "postgresql", "both"]), default="both", show_default=True
)
@click.option(
    "--duration", default=20, show_default=True, type=click.IntRange(1, 300), help="Seconds per run."
)
@click.option("--connections", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64), help="Over 1: gthread.")
@click.option("--city-bays", default=100_000, show_default=True, type=click.IntRange(100))
@click.option(
    "--cache-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0),
    help="The server's VACANCY_CACHE_SECONDS (0: no cache).",
)
@click.option(
    "--paced-rate",
    default=1500,
    show_default=True,
    type=click.IntRange(0),
    help="Also measure vacancy latency with every connection pausing between requests, "
    "aiming at this many requests/s in all (0: skip).",
)
@click.option("--districts", type=click.Choice(["demo", "city", "both"]), default="both", show_default=True)
@click.option(
    "--warm-up",
    default=3,
    show_default=True,
    type=click.IntRange(0, 300),
    help="Seconds of unrecorded load before each run (fills the workers' caches).",
)
def bench_vacancy(
    database: str,
    duration: int,
    connections: int,
    workers: int,
    threads: int,
    city_bays: int,
    cache_seconds: float,
    paced_rate: int,
    districts: str,
    warm_up: int,
) -> None:
    """Requests per second and p50/p90/p99 latency of GET /api/v1/<district>/vacancy (and of
    the CDS zones query) near points spread over the demo district and a generated city.

    Each run keeps `--connections` requests in flight without pause (the most the server
    gives); the paced run adds a pause per connection, as clients that read their answer."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise click.ClickException("wrk is not installed: `apt-get install wrk` (Debian) installs it")
    kinds = ["sqlite", "postgresql"] if database == "both" else [database]
    if "postgresql" in kinds and find_pg_bin() is None:
        raise click.ClickException("PostgreSQL is not installed here (no initdb/pg_ctl)")
    for kind in kinds:
        with _database(kind) as url, tempfile.TemporaryDirectory(prefix="parking-wrk-") as folder:
            click.echo(f"{kind}: building the demo district and a city of {city_bays:,} bays...", err=True)
            boxes = _build(url, city_bays)
            with _gunicorn(url, workers, threads, cache_seconds) as base:
                for slug, box in boxes.items():
                    name = "demo" if slug == DEMO_SLUG else "city"
                    if districts not in (name, "both"):
                        continue
                    runs = [("vacancy", 0), ("zones", 0)]
                    if paced_rate:
                        # each connection waits for its answer, then pauses: the pause is a
                        # little shorter than connections/rate, so the rate reached is the aim
                        runs.append(("vacancy", max(1, round(connections * 1000 / paced_rate) - 2)))
                    for endpoint, pause_ms in runs:
                        script = Path(folder) / f"{slug}-{endpoint}-{pause_ms}.lua"
                        script.write_text(_lua(_paths(slug, endpoint, box), pause_ms))
                        if warm_up:  # caches, pools, plans
                            _wrk(wrk, base, script, warm_up, connections)
                        result = _wrk(wrk, base, script, duration, connections)
                        label = f"{endpoint}+{pause_ms}ms" if pause_ms else endpoint
                        click.echo(_figures(kind, name, label, result).line())


def _build(url: str, city_bays: int) -> dict[str, CityBox]:
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with Session(engine) as db:
            seed_demo(db, now)
            demo_id = db.scalar(text("SELECT id FROM district WHERE slug = :s"), {"s": DEMO_SLUG})
            seed_live_state(db, demo_id, now)
            _, city = build_city(db, now, bays=city_bays)
            demo = db.execute(
                select(
                    func.min(Road.min_lat),
                    func.min(Road.min_lng),
                    func.max(Road.max_lat),
                    func.max(Road.max_lng),
                ).where(Road.district_id == demo_id)
            ).one()
            db.commit()
            if engine.dialect.name == "postgresql":
                db.execute(text("ANALYZE"))
                db.commit()
    finally:
        engine.dispose()
    return {DEMO_SLUG: CityBox(*demo), CITY_SLUG: city}


def _paths(slug: str, endpoint: str, box: CityBox) -> list[str]:
    rng = random.Random(5)
    out = []
    for _ in range(POINTS):
        lat = round(rng.uniform(box.min_lat, box.max_lat), 6)
        lng = round(rng.uniform(box.min_lng, box.max_lng), 6)
        if endpoint == "vacancy":
            out.append(f"/api/v1/{slug}/vacancy?lat={lat}&lng={lng}&radius={RADIUS_M}")
        else:
            out.append(
                f"/cds/{slug}/curbs/zones?lat={lat}&lng={lng}&radius={RADIUS_M}&include_geometry=false"
            )
    return out


def _lua(paths: list[str], pause_ms: int = 0) -> str:
    return LUA % (", ".join(json.dumps(p) for p in paths), pause_ms)


def _wrk(wrk: str, base: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    done = subprocess.run(
        [
            wrk,
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise click.ClickException(f"wrk gave no result: {done.stdout} {done.stderr}")
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return result


def _figures(database: str, district: str, endpoint: str, r: dict[str, float]) -> LoadFigures:
    return LoadFigures(
        database,
        district,
        endpoint,
        r["requests"] / r["seconds"],
        r["p50"] / 1000,
        r["p90"] / 1000,
        r["p99"] / 1000,
        r["max"] / 1000,
        int(r["errors"] + r["status_errors"]),
    )


@contextmanager
def _database(kind: str) -> Iterator[str]:
    with throwaway_database(kind, prefix="parking-bench-vacancy-") as url:
        yield url


@contextmanager
def _gunicorn(url: str, workers: int, threads: int, cache_seconds: float) -> Iterator[str]:
    """gunicorn on 127.0.0.1 and a free port (gthread when `threads` > 1); stopped on exit."""
    env = server_env(url, {"PARKING_VACANCY_CACHE_SECONDS": str(cache_seconds)})
    try:
        server = start_gunicorn(env, workers, threads, f"/api/v1/{DEMO_SLUG}/vacancy?lat=26.68&lng=106.63")
    except ServerStartError:
        raise click.ClickException("gunicorn did not start") from None
    try:
        yield server.base
    finally:
        server.stop()
