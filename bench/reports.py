"""`flask --app api bench-reports`: time the bureau summary report over generated history.

Two cases, each in a temporary database (SQLite, or a throwaway PostgreSQL cluster):
- a month of the demo district: every day simulated by the street simulator (~5,500 stays a
  day, ~170,000 in January 2026), its stays, fees and payments written straight to the tables;
- a day of a city of `--city-bays` bays (20 to a road, one data feed) with ~5.5 stays a bay.
Both cases also build the period before (December 2025, the day before) with the same
generator, as a real report always shows the previous period beside the current one.
Each report is produced twice (the second run has warm caches); both times are printed."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine, Table, select, text, update
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import upgrade
from billing.models import Payment, PaymentAllocation, StayFee, TariffVersion
from billing.tariffs import publish_tariff
from fixtures.demo import DEMO_DRIVER_PLATES, DEMO_TIME_ZONE, seed_demo
from fixtures.pgcluster import find_pg_bin
from fixtures.servers import throwaway_database
from fixtures.simulator import demo_tariff, sim_bays, simulate_day
from parking.db import insert_rows
from parking.inventory import ensure_district
from parking.models import Bay, District, Road, Stay
from parking.plate_rules import vehicle_class_for_plate
from reports.periods import period_of
from reports.places import find_place
from reports.problems import top_problems
from reports.summary import summary_report
from sensors.devices import create_device

ZONE = ZoneInfo(DEMO_TIME_ZONE)
MONTH = date(2026, 1, 1)
PREVIOUS_MONTH = date(2025, 12, 1)
CITY_DAY = date(2026, 1, 15)
BUILT = datetime(2025, 12, 1, tzinfo=UTC)
NOW = datetime(2026, 2, 2, 4, 0, tzinfo=UTC)
BAYS_PER_ROAD = 20
CITY_TARIFF = {
    "name": "bench",
    "max_stay_minutes": 120,
    "grace_minutes": 10,
    "bands": [
        {
            "name": "all",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "windows": [["00:00", "24:00"]],
            "tiers": [{"increment_minutes": 30, "amount": 150}],
        }
    ],
}


@click.command("bench-reports")
@click.option(
    "--database", type=click.Choice(["sqlite", "postgresql", "both"]), default="both", show_default=True
)
@click.option("--city-bays", default=100_000, show_default=True, type=click.IntRange(BAYS_PER_ROAD))
@click.option(
    "--days",
    default=31,
    show_default=True,
    type=click.IntRange(1, 31),
    help="days simulated of the demo month and of the month before",
)
def bench_reports(database: str, city_bays: int, days: int) -> None:
    """Seconds to produce the summary report (and top problems) of a demo month and a city day."""
    kinds = ["sqlite", "postgresql"] if database == "both" else [database]
    if "postgresql" in kinds and find_pg_bin() is None:
        raise click.ClickException("PostgreSQL is not installed here (no initdb/pg_ctl)")
    for kind in kinds:
        with throwaway_database(kind, prefix="parking-bench-reports-") as url:
            upgrade(url)
            engine = make_engine(url)
            try:
                _case(engine, kind, "demo month", lambda db: _build_demo_month(db, days), "month", MONTH)
                _case(engine, kind, "city day", lambda db: _build_city(db, city_bays), "day", CITY_DAY)
            finally:
                engine.dispose()


def _case(
    engine: Engine, kind: str, name: str, build: Callable[[Session], int], period: str, first: date
) -> None:
    click.echo(f"{kind}: building the {name}...", err=True)
    started = time.perf_counter()
    with Session(engine) as db:
        district_id = build(db)
        db.commit()
        if kind == "postgresql":
            db.execute(text("ANALYZE"))
            db.commit()
    built = time.perf_counter() - started
    figures = []
    for _ in range(2):
        with Session(engine) as db:
            district = db.get(District, district_id)
            assert district is not None
            begin = time.perf_counter()
            place = find_place(db, district, "district", None)
            report = summary_report(db, district, place, period_of(period, first, ZONE), NOW)
            middle = time.perf_counter()
            top_problems(db, district, period_of(period, first, ZONE), NOW)
            figures.append((middle - begin, time.perf_counter() - middle))
    stays, before = report.current.stays, report.previous.stays
    click.echo(
        f"{kind}: {name}: {stays.bays_in_service} bays, {stays.count} stays "
        f"({before.count} in the previous period), built in {built:.0f} s; "
        f"summary {figures[0][0]:.2f} s / {figures[1][0]:.2f} s (first / second run), "
        f"top-problems {figures[0][1]:.2f} s / {figures[1][1]:.2f} s; "
        f"occupancy {report.current.occupancy.mean_percent} %, billed {report.current.revenue.billed}"
    )


def _build_demo_month(db: Session, days: int) -> int:
    """The demo district with `days` simulated days of December 2025 and of January 2026;
    returns its id."""
    seed_demo(db, BUILT)
    district = db.scalars(select(District)).one()
    rows = db.execute(
        select(Bay.name, Bay.uuid, Road.uuid, Bay.id, Road.id, Road.tariff_code).join(
            Road, Road.id == Bay.road_id
        )
    ).all()
    from sensors.models import Device

    devices = {name: uuid_ for name, uuid_ in db.execute(select(Device.name, Device.uuid))}
    bays = sim_bays({r[0]: (r[1], r[2]) for r in rows}, devices)
    ids = {r[1]: (r[3], r[4], r[5]) for r in rows}
    rng = random.Random(7)
    for month, seed in ((PREVIOUS_MONTH, 2000), (MONTH, 1000)):
        for n in range(days):
            day = datetime.combine(month + timedelta(days=n), datetime.min.time(), tzinfo=ZONE)
            stays = _stays_of_events(simulate_day(bays, day, seed + n), ids)
            _write_day(db, district, stays, rng)
    db.execute(update(Bay).where(Bay.district_id == district.id).values(last_event_at=BUILT))
    return district.id


def _stays_of_events(
    events: list[dict[str, Any]], ids: dict[str, tuple[int, int, str]]
) -> list[dict[str, Any]]:
    """One stay per session: the camera's park_start and park_end, the plate it read, and
    the POS payment (amount, method) when the attendant took one."""
    sessions: dict[str, dict[str, Any]] = {}
    for event in events:
        stay = sessions.setdefault(event["event_session_id"], {"space": event["curb_space_id"]})
        at = datetime.fromtimestamp(event["event_time"] / 1000, UTC)
        if event["event_type"] == "park_start" and event["data_source_type"] == "camera":
            stay.update(start=at, plate=event["vehicle_license_plate"], event_id=event["event_id"])
        elif event["event_type"] == "park_end":
            stay["end"] = at
        if "actual_cost" in event:
            stay["pos"] = (event["actual_cost"], event["payment_method"], at)
    out = []
    for stay in sessions.values():
        bay_id, road_id, tariff = ids[stay["space"]]
        fee = (
            demo_tariff(tariff)
            .price(stay["start"], stay["end"], vehicle_class_for_plate(stay["plate"], "cn_ga36"))
            .amount
        )
        out.append({**stay, "bay_id": bay_id, "road_id": road_id, "fee": fee})
    return out


def _write_day(db: Session, district: District, stays: list[dict[str, Any]], rng: random.Random) -> None:
    """Stays, their fees and payments: POS payments as the simulator took them, app users
    charged automatically, most others paying by plate within a day, the rest in arrears."""
    version = db.scalar(select(TariffVersion.id).where(TariffVersion.district_id == district.id).limit(1))
    assert version is not None
    new = insert_rows(
        db,
        cast(Table, Stay.__table__),
        [
            {
                "uuid": str(uuid.uuid4()), "district_id": district.id, "bay_id": s["bay_id"], "road_id": s["road_id"],
                "plate": s["plate"], "plate_confidence": 90, "plate_source": "camera", "started_at": s["start"],
                "ended_at": s["end"], "ended_by": "event", "start_event_id": s["event_id"], "end_event_id": None,
                "event_ids": [s["event_id"]], "sources": ["camera"], "updated_at": s["end"],
            }
            for s in stays
        ],
        returning=("id", "start_event_id"),
    )  # fmt: skip
    stay_ids = {row.start_event_id: row.id for row in new}
    fees, payments = [], []
    for s in stays:
        stay_id, amount = stay_ids[s["event_id"]], s["fee"]
        paid, channel, method, paid_at = _settle(rng, s, amount)
        status = "free" if amount == 0 else "paid" if paid else "arrears"
        fees.append(
            {
                "stay_id": stay_id, "district_id": district.id, "plate": s["plate"], "tariff_version_id": version,
                "vehicle_class": None, "amount": amount, "currency": "CNY", "breakdown": {}, "paid": paid,
                "status": status, "due_by": s["end"] + timedelta(days=1),
                "arrears_since": None if paid or amount == 0 else s["end"] + timedelta(days=1),
                "stay_updated_at": s["end"], "priced_at": s["end"],
            }
        )  # fmt: skip
        if paid:
            payments.append((stay_id, paid, channel, method, paid_at, s["plate"]))
    insert_rows(db, cast(Table, StayFee.__table__), fees)
    _write_payments(db, district.id, payments)


def _settle(rng: random.Random, stay: dict[str, Any], amount: int) -> tuple[int, str, str, datetime]:
    if "pos" in stay:
        cost, method, at = stay["pos"]
        return cost, "pos", method, at
    if amount == 0:
        return 0, "", "", stay["end"]
    if stay["plate"] in DEMO_DRIVER_PLATES:
        return amount, "auto", "card", stay["end"] + timedelta(minutes=1)
    if rng.random() < 0.8:
        return (
            amount,
            rng.choice(("plate", "account")),
            "card",
            stay["end"] + timedelta(hours=rng.randint(1, 20)),
        )
    return 0, "", "", stay["end"]


def _write_payments(
    db: Session, district_id: int, payments: list[tuple[int, int, str, str, datetime, str]]
) -> None:
    new = insert_rows(
        db,
        cast(Table, Payment.__table__),
        [
            {
                "uuid": str(uuid.uuid4()), "district_id": district_id, "plate": plate, "channel": channel,
                "method": method, "amount": amount, "currency": "CNY", "status": "succeeded", "refunded": 0,
                "idempotency_key": f"bench:{stay_id}", "created_at": at, "updated_at": at,
            }
            for stay_id, amount, channel, method, at, plate in payments
        ],
        returning=("id", "idempotency_key"),
    )  # fmt: skip
    ids = {row.idempotency_key: row.id for row in new}
    insert_rows(
        db,
        cast(Table, PaymentAllocation.__table__),
        [{"payment_id": ids[f"bench:{p[0]}"], "stay_id": p[0], "amount": p[1]} for p in payments],
    )


def _build_city(db: Session, bays: int) -> int:
    """A city district of `bays` bays, one data feed, and ~5.5 stays a bay on CITY_DAY and on
    the day before it."""
    rng = random.Random(42)
    district, _ = ensure_district(
        db, "city", BUILT, name="City", time_zone=DEMO_TIME_ZONE, currency="CNY", plate_rule="cn_ga36"
    )
    publish_tariff(db, district, "standard", CITY_TARIFF, BUILT, BUILT)
    create_device(db, district, "data_feed", BUILT, name="CITY-FEED")
    roads = []
    for r in range(-(-bays // BAYS_PER_ROAD)):
        lat, lng = 26.5 + (r // 100) * 0.001, 106.6 + (r % 100) * 0.001
        roads.append(
            {
                "uuid": str(uuid.uuid4()), "district_id": district.id, "name": f"Road {r}", "tariff_code": "standard",
                "geometry": {}, "center_lat": lat, "center_lng": lng, "min_lat": lat, "min_lng": lng,
                "max_lat": lat, "max_lng": lng, "published_at": BUILT, "updated_at": BUILT,
            }
        )  # fmt: skip
    road_ids = [row.id for row in insert_rows(db, cast(Table, Road.__table__), roads, returning=("id",))]
    rows = [
        {
            "uuid": str(uuid.uuid4()), "district_id": district.id, "road_id": road_ids[b // BAYS_PER_ROAD],
            "name": f"B{b:06d}", "space_number": b % BAYS_PER_ROAD + 1, "lat": 26.5, "lng": 106.6, "geometry": {},
            "length_cm": 600, "published_at": BUILT, "updated_at": BUILT, "state": "vacant", "last_event_at": BUILT,
        }
        for b in range(bays)
    ]  # fmt: skip
    bay_rows = insert_rows(db, cast(Table, Bay.__table__), rows, returning=("id", "road_id"))
    stays = []
    for first in (CITY_DAY - timedelta(days=1), CITY_DAY):
        day = datetime.combine(first, datetime.min.time(), tzinfo=ZONE).astimezone(UTC)
        for bay_id, road_id in bay_rows:
            at = day + timedelta(minutes=rng.randint(0, 300))
            while True:
                end = at + timedelta(minutes=min(600, max(3, int(rng.lognormvariate(3.8, 0.8)))))
                if end >= day + timedelta(days=1):
                    break
                amount = 150 * -(-int((end - at).total_seconds()) // 1800)
                stays.append({"space": None, "bay_id": bay_id, "road_id": road_id, "start": at, "end": end,
                              "plate": f"贵A{rng.randrange(100000):05d}", "event_id": str(uuid.uuid4()), "fee": amount})  # fmt: skip
                at = end + timedelta(minutes=rng.randint(30, 300))
    stays.sort(key=lambda s: s["start"])  # written as they happen: in the order they started
    for chunk in range(0, len(stays), 100_000):
        _write_day(db, district, stays[chunk : chunk + 100_000], rng)
    return district.id
