"""The forecast's calibration: `flask --app api forecast-calibration` builds a district and its
history (simulated, or Melbourne's 2014 sessions) in a throwaway SQLite database, logs the
history through `sensors/services.py` `log_history` (a unit of work per day) and scores the
model fitted on training time against held-out time (`score_forecast`)."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.config import PROJECT_ROOT
from api.database import make_engine
from api.migrations import upgrade
from parking.models import Bay, District, Road
from parking.unit_of_work import writing
from sensors.services import log_history, score_forecast

MELBOURNE = PROJECT_ROOT / "fixtures" / "data" / "melbourne"
# Simulated demand. The demo's roads (73 to 132 bays) never fill under the simulator (a
# driver takes a bay only if it is free for the whole stay, which fragments the day), so
# there would be nothing to forecast; calibration uses a town of small block faces (2 to 6
# bays) instead, each its own pool of drivers, with stays per bay per day = the demo's 5.33
# x a load that differs by road and by day class.
SIM_ROADS = 30
SIM_STAYS_PER_BAY = 5500 / 1031
SIM_DAY_LOADS = {"weekday": 1.0, "saturday": 0.8, "sunday_holiday": 0.6}


def _sim_road(r: int) -> tuple[int, float]:
    """(bays, load) of simulated road `r`: 2-6 bays, loads 1.0-3.0."""
    return 2 + r % 5, 1.0 + (r * 7 % 11) / 5


SIM_FIRST_DAY = datetime(2026, 3, 2)  # a Monday
_SKEW = timedelta(minutes=2)


@click.command("forecast-calibration")
@click.option(
    "--source", type=click.Choice(["simulator", "melbourne"]), default="simulator", show_default=True
)
@click.option("--days", type=click.IntRange(2, 90), default=28, show_default=True, help="Simulated days.")
@click.option("--seed", type=int, default=1, show_default=True)
def forecast_calibration(source: str, days: int, seed: int) -> None:
    """Fit the forecast on training days and score it on held-out ones (Brier score,
    reliability table, base rate), in a throwaway SQLite database."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'calibration.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            with Session(engine) as db:
                if source == "simulator":
                    district, since, until, split, what = _simulated(db, days, seed)
                else:
                    district, since, until, split, what = _melbourne(db)
                scores = score_forecast(db, district.id, since, until, split)
        finally:
            engine.dispose()
    click.echo(what)
    for score in scores:
        for line in score.lines():
            click.echo(line)
    click.echo(f"({time.perf_counter() - started:.0f} s)")


Split = Callable[[datetime], bool]


def _simulated(db: Session, days: int, seed: int) -> tuple[District, datetime, datetime, Split, str]:
    from fixtures.simulator import SimBay, simulate_day
    from parking.forecast import day_class
    from parking.inventory import BaySpec, add_road, ensure_district
    from sensors.devices import create_device

    zone = ZoneInfo("Asia/Shanghai")
    first = SIM_FIRST_DAY.replace(tzinfo=zone)
    now = first.astimezone(UTC)
    with writing(db):
        district, _ = ensure_district(db, "simtown", now, name="Simtown", time_zone=zone.key, currency="CNY")
        feed = create_device(db, district, "data_feed", now, name="FEED").device
        pools: list[tuple[list[SimBay], float]] = []
        for r in range(SIM_ROADS):
            size, load = _sim_road(r)
            specs = [BaySpec(f"S{r}-{n}", 26.6 + r * 0.001, 106.6 + n * 0.00006) for n in range(size)]
            road = add_road(db, district, f"Road {r}", specs, now)
            pool = [
                SimBay(b.name, b.uuid, road.uuid, b.lat, b.lng, (feed.uuid, "FEED"), (feed.uuid, "FEED"))
                for b in road.bays
            ]
            pools.append((pool, load))

    def simulated_days() -> Iterator[tuple[datetime, list[dict[str, Any]]]]:
        for i in range(days):
            day = first + timedelta(days=i)
            day_load = SIM_DAY_LOADS[day_class(day.date(), frozenset())]
            events = [
                event | {"data_source_type": "data_feed"}
                for r, (pool, load) in enumerate(pools)
                for event in simulate_day(
                    pool,
                    day,
                    seed * 100_000 + i * 100 + r,
                    round(len(pool) * SIM_STAYS_PER_BAY * load * day_load),
                )
                if event["data_source_type"] == "camera"  # the POS events register plates, no occupancy
            ]
            events.sort(key=lambda e: (e["event_time"], e["event_type"] == "park_start"))
            yield day + timedelta(days=1), events

    log_history(db, feed.id, simulated_days(), _SKEW)
    held_out = max(1, days // 4)
    test_from = first + timedelta(days=days - held_out)
    what = (
        f"simulator: {SIM_ROADS} roads of 2-6 bays, loads 1.0-3.0 x day loads {SIM_DAY_LOADS}, "
        f"{days} days from {first.date()}, seed {seed}; trained on the {days - held_out} days "
        f"before {test_from.date()}, scored on the {held_out} after"
    )
    return district, now, (first + timedelta(days=days)).astimezone(UTC), lambda t: t < test_from, what


def _melbourne(db: Session) -> tuple[District, datetime, datetime, Split, str]:
    from fixtures.replay import read_records, record_events
    from parking.inventory import ensure_district, import_bays
    from sensors.devices import create_device

    zone = ZoneInfo("Australia/Melbourne")
    day = datetime(2014, 1, 11, tzinfo=zone)
    now = (day + timedelta(days=1, hours=12)).astimezone(UTC)
    records = read_records([MELBOURNE / "sessions_2014-01-11.csv"], zone)
    seen = {r.bay for r in records}
    features = json.loads((MELBOURNE / "bay_locations_2014.geojson").read_text(encoding="utf-8"))["features"]
    features = [f for f in features if str(f["properties"]["bayId"]) in seen]
    with writing(db):
        district, _ = ensure_district(
            db, "melbourne", now, name="Melbourne", time_zone=zone.key, currency="AUD"
        )
        zones = ["Street", "BetweenStreet1", "BetweenStreet2", "SideofStreet"]
        import_bays(db, district, features, "bayId", zones, now)
        feed = create_device(db, district, "data_feed", now, name="FEED").device
    spaces = {
        name: (bay, road)
        for name, bay, road in db.execute(
            select(Bay.name, Bay.uuid, Road.uuid).join(Road, Road.id == Bay.road_id)
        )
    }
    events = [e for r in records for e in record_events(r, "melbourne", feed.uuid, spaces[r.bay])]
    events.sort(key=lambda e: (e["event_time"], e["event_type"] == "park_start"))
    log_history(db, feed.id, [(now, events)], _SKEW)
    what = (
        f"melbourne: 2014-01-11 (one Saturday), {len(seen)} sensed bays on "
        f"{db.query(Road).count()} block faces; trained on even local hours, scored on odd hours"
    )
    return (
        district,
        day.astimezone(UTC),
        (day + timedelta(days=1)).astimezone(UTC),
        lambda t: t.astimezone(zone).hour % 2 == 0,
        what,
    )
