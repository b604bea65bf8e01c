"""The real Melbourne day (fixtures/data/melbourne/), imported with `import-bays` and replayed
through the HTTP push endpoint as one data feed, gives the stays and hourly occupancy computed
independently from the CSV here, however often and in whatever order it is sent."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import Connection, func, select

from fixtures.replay import MELBOURNE_IMPORT_OPTIONS, HttpSender, ReplayReport, replay_files
from parking.models import Bay, District, Stay
from sensors.models import CurbEvent

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "melbourne"
SESSIONS = DATA / "sessions_2014-01-11.csv"
BAY_LOCATIONS = DATA / "bay_locations_2014.geojson"
SLUG = "melbourne"
ZONE = ZoneInfo("Australia/Melbourne")
DAY_START = datetime(2014, 1, 11, tzinfo=ZONE)
# Published in the data's README: occupied bay-seconds / (3,448 bays x 3,600 s), hours 0..23.
README_OCCUPANCY = [
    0.007, 0.007, 0.005, 0.004, 0.004, 0.004, 0.009, 0.109, 0.231, 0.298, 0.386, 0.474,
    0.443, 0.376, 0.367, 0.317, 0.269, 0.241, 0.291, 0.292, 0.142, 0.024, 0.023, 0.012,
]  # fmt: skip

Interval = tuple[datetime, datetime | None]


# --- the figures, computed from the CSV with plain Python ----------------------------------


@dataclass(frozen=True)
class ExpectedDay:
    records: int
    bays: int
    bad_departures: int
    meets: int
    joins: int
    stays: dict[str, list[Interval]]  # bay name -> (start, end) in UTC, end None while open

    @property
    def total_stays(self) -> int:
        return sum(len(s) for s in self.stays.values())


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def _merge(records: list[Interval]) -> tuple[list[Interval], int, int]:
    """One bay's records as stays: a record that starts where the previous stay ended goes on
    with it (the feed cuts records at restriction boundaries); one that starts while the bay
    is still occupied is the same vehicle (no plates in this feed) and joins, and the first
    departure after ends the stay. Returns the stays, the meets and the joins."""
    stays: list[Interval] = []
    meets = joins = 0
    for arrival, departure in sorted(records, key=lambda r: r[0]):
        if stays:
            start, end = stays[-1]
            if end is None or arrival < end:
                joins += 1
                first_end = departure if end is None else min(end, departure or end)
                stays[-1] = (start, first_end)
                continue
            if arrival == end:
                meets += 1
                stays[-1] = (start, departure)
                continue
        stays.append((arrival, departure))
    return stays, meets, joins


@cache
def expected_day() -> ExpectedDay:
    by_bay: dict[str, list[Interval]] = defaultdict(list)
    records = bad = 0
    with SESSIONS.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records += 1
            departure: datetime | None = _utc(row["departure_time"])
            if departure is not None and departure.year < 2000:  # a placeholder: the end is refused
                departure, bad = None, bad + 1
            by_bay[row["bay_id"].strip()].append((_utc(row["arrival_time"]), departure))
    stays, meets, joins = {}, 0, 0
    for bay, bay_records in by_bay.items():
        stays[bay], bay_meets, bay_joins = _merge(bay_records)
        meets, joins = meets + bay_meets, joins + bay_joins
    return ExpectedDay(records, len(by_bay), bad, meets, joins, stays)


def hourly_occupancy(intervals: Iterable[Interval], bays: int) -> list[float]:
    """Occupied bay-seconds in each local hour of the day / (bays x 3,600 s). An open stay is
    clipped at its arrival, so it adds nothing (the README drops those rows)."""
    edges = [(DAY_START + timedelta(hours=h)).astimezone(UTC) for h in range(24)]
    edges.append(datetime(2014, 1, 12, tzinfo=ZONE).astimezone(UTC))
    occupied = [timedelta(0)] * 24
    for start, end in intervals:
        if end is None:
            continue
        for hour in range(24):
            overlap = min(end, edges[hour + 1]) - max(start, edges[hour])
            if overlap > timedelta(0):
                occupied[hour] += overlap
    return [seconds / timedelta(seconds=bays * 3600) for seconds in occupied]


# --- driving the app ------------------------------------------------------------------------


class RecordingSender:
    """The HTTP sender, keeping every per-item failure the push endpoint answers, and
    calling `between_batches` after every tenth batch."""

    def __init__(self, sender: HttpSender, between_batches: Callable[[], None]) -> None:
        self.sender = sender
        self.between_batches = between_batches
        self.failures: list[dict[str, Any]] = []
        self.batches = 0

    def get(self, path: str) -> tuple[int, Any]:
        return self.sender.get(path)

    def post(self, path: str, body: bytes) -> tuple[int, Any]:
        status, reply = self.sender.post(path, body)
        if status == 200:
            self.failures.extend(reply["failures"])
        self.batches += 1
        if self.batches % 10 == 0:
            self.between_batches()
        return status, reply


def analyze_as_autovacuum_would(connection: Connection) -> None:
    """PostgreSQL's autovacuum never sees the rows of the test's open transaction, so the
    planner would take these tables for empty and scan them whole in every batch (a shuffled
    replay then takes half an hour); ANALYZE inside the transaction counts them."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE bay, stay, curb_event, timeline_anomaly")


def import_bays_and_create_feed(app: Flask, connection: Connection) -> str:
    """The district from the GeoJSON, and a data feed for it; returns the feed's token."""
    runner = app.test_cli_runner()
    imported = runner.invoke(
        args=[
            "import-bays",
            str(BAY_LOCATIONS),
            "--district",
            SLUG,
            *MELBOURNE_IMPORT_OPTIONS,
        ]
    )
    assert imported.exit_code == 0, imported.output
    analyze_as_autovacuum_would(connection)
    device = runner.invoke(args=["create-device", "--district", SLUG, "--kind", "data_feed"])
    assert device.exit_code == 0, device.output
    return device.stdout.strip().splitlines()[-1]


def replay_day(
    app: Flask, connection: Connection, token: str, shuffle: int | None = None
) -> tuple[ReplayReport, list[dict[str, Any]]]:
    app.config["EVENT_MAX_AGE_HOURS"] = 0  # a day of 2014: history, replayed as `flask replay` does
    sender = RecordingSender(HttpSender.for_app(app, token), lambda: analyze_as_autovacuum_would(connection))
    report = replay_files(sender, SLUG, [SESSIONS], batch_size=500, shuffle=shuffle, progress=False)
    return report, sender.failures


def stored_stays(connection: Connection) -> list[tuple[str, datetime, datetime | None, str, int]]:
    """(bay, started_at, ended_at, start_event_id, id) of every stay of the day.

    Plain selects joined here: inside the test's open transaction PostgreSQL has no
    statistics for these tables and would plan a join of them as a nested loop."""
    district_id = connection.scalar(select(District.id).where(District.slug == SLUG))
    names = dict(connection.execute(select(Bay.id, Bay.name).where(Bay.district_id == district_id)).all())
    day_end = datetime(2014, 1, 12, tzinfo=ZONE).astimezone(UTC)
    rows = connection.execute(
        select(Stay.bay_id, Stay.started_at, Stay.ended_at, Stay.start_event_id, Stay.id).where(
            Stay.district_id == district_id,
            Stay.started_at >= DAY_START.astimezone(UTC),
            Stay.started_at < day_end,
        )
    )
    return [
        (names[bay_id], started_at, ended_at, start, id_) for bay_id, started_at, ended_at, start, id_ in rows
    ]


def stays_by_bay(stays: Iterable[tuple[Any, ...]]) -> dict[str, list[Interval]]:
    out: dict[str, list[Interval]] = defaultdict(list)
    for bay, started_at, ended_at, *_ in stays:
        out[bay].append((started_at, ended_at))
    return {bay: sorted(intervals, key=lambda i: i[0]) for bay, intervals in out.items()}


def logged_events(connection: Connection) -> int:
    district_id = connection.scalar(select(District.id).where(District.slug == SLUG))
    count = connection.scalar(
        select(func.count()).select_from(CurbEvent).where(CurbEvent.district_id == district_id)
    )
    return int(count or 0)


def assert_replay_accepted_all_but_the_placeholder_ends(
    report: ReplayReport, failures: list[dict[str, Any]], day: ExpectedDay
) -> None:
    assert report.request_errors == 0
    assert report.events == 2 * day.records
    assert report.accepted == report.events - day.bad_departures
    assert len(failures) == day.bad_departures == 4
    for failure in failures:
        assert failure["error"] == "invalid_field", failure
        assert "event_time" in failure["error_details"], failure
        assert failure["item"]["event_type"] == "park_end"


# --- the tests --------------------------------------------------------------------------------


def test_the_melbourne_day_replayed_in_order_gives_the_stays_and_occupancy_of_the_csv_every_time(
    app: Flask, connection: Connection
) -> None:
    day = expected_day()
    print(
        f"\n{day.records} records of {day.bays} bays, {day.bad_departures} placeholder departures, "
        f"{day.meets} meets and {day.joins} joins: {day.total_stays} stays expected"
    )
    token = import_bays_and_create_feed(app, connection)

    report, failures = replay_day(app, connection, token)

    assert_replay_accepted_all_but_the_placeholder_ends(report, failures, day)
    first = stored_stays(connection)
    assert len(first) == day.total_stays
    assert stays_by_bay(first) == day.stays
    from_stays = hourly_occupancy(((s[1], s[2]) for s in first), day.bays)
    from_csv = hourly_occupancy((i for stays in day.stays.values() for i in stays), day.bays)
    assert from_stays == pytest.approx(from_csv, abs=1e-9)
    assert from_csv == pytest.approx(README_OCCUPANCY, abs=0.0015)
    assert_metrics_occupancy_is_the_readme_occupancy(app)
    assert_report_occupancy_is_the_mean_of_the_hours(app)
    events = logged_events(connection)
    assert events == report.accepted

    again, failures_again = replay_day(app, connection, token)

    assert_replay_accepted_all_but_the_placeholder_ends(again, failures_again, day)
    assert logged_events(connection) == events
    assert set(stored_stays(connection)) == set(first)

    rebuilt = app.test_cli_runner().invoke(args=["rebuild", "--district", SLUG, "--dry-run"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "equal a fresh replay" in rebuilt.output


def test_the_melbourne_day_replayed_in_shuffled_batches_gives_the_stays_of_the_ordered_replay(
    app: Flask, connection: Connection
) -> None:
    """The ordered replay gives exactly the stays computed from the CSV (the test above), so
    the shuffled one is compared with those."""
    day = expected_day()
    token = import_bays_and_create_feed(app, connection)

    report, failures = replay_day(app, connection, token, shuffle=7)

    assert_replay_accepted_all_but_the_placeholder_ends(report, failures, day)
    stays = stored_stays(connection)
    assert len(stays) == day.total_stays
    assert stays_by_bay(stays) == day.stays
    rebuilt = app.test_cli_runner().invoke(args=["rebuild", "--district", SLUG, "--dry-run"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "equal a fresh replay" in rebuilt.output


# --- the CDS Metrics API on the same day (docs/METRICS.md) -----------------------------------


def assert_metrics_occupancy_is_the_readme_occupancy(app: Flask) -> None:
    """The district's hourly occupancy from `metrics/aggregates` (the space rows: bays that
    never reported are -1 and left out, every other bay weighs 3,600 s an hour) equals the
    README's figures once the percentage is a fraction."""
    runner = app.test_cli_runner()
    issued = runner.invoke(args=["create-staff-token", "--district", SLUG, "--role", "bureau"])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    day_end = datetime(2014, 1, 12, tzinfo=ZONE)
    response = app.test_client().get(
        f"/cds/{SLUG}/metrics/aggregates",
        query_string={
            "curb_place_type": "space",
            "metric_type": "occupancy_percent",
            "start_time": int(DAY_START.timestamp() * 1000),
            "end_time": int(day_end.timestamp() * 1000),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    by_hour: dict[int, list[float]] = defaultdict(list)
    for row in csv.DictReader(response.get_data(as_text=True).splitlines()):
        assert row["date"] == "2014-01-11"
        if float(row["value"]) != -1:
            by_hour[int(row["hour"])].append(float(row["value"]) / 100)
    assert {len(values) for values in by_hour.values()} == {expected_day().bays}
    occupancy = [sum(by_hour[h]) / len(by_hour[h]) for h in range(24)]
    print("metrics occupancy:", " ".join(f"{v:.4f}" for v in occupancy))
    assert occupancy == pytest.approx(README_OCCUPANCY, abs=0.0015)


def assert_report_occupancy_is_the_mean_of_the_hours(app: Flask) -> None:
    """The bureau report's daily mean occupancy (docs/REPORTS.md) is the mean of the CDS
    Metrics hourly occupancies weighted by their seconds: here every space-hour is 3,600
    watched seconds, so it is the plain mean of the space rows that are not -1."""
    runner = app.test_cli_runner()
    issued = runner.invoke(args=["create-staff-token", "--district", SLUG, "--role", "bureau"])
    headers = {"Authorization": f"Bearer {issued.stdout.strip().splitlines()[-1]}"}
    client = app.test_client()
    start_ms = int(DAY_START.timestamp() * 1000)
    window = {"start_time": start_ms, "end_time": start_ms + 86_400_000}
    metrics = client.get(
        f"/cds/{SLUG}/metrics/aggregates",
        query_string={"curb_place_type": "space", "metric_type": "occupancy_percent", **window},
        headers=headers,
    )
    values = [float(r["value"]) for r in csv.DictReader(metrics.get_data(as_text=True).splitlines())]
    hourly = [v for v in values if v != -1]
    report = client.get(
        f"/api/v1/{SLUG}/reports/summary",
        query_string={"period": "day", "start": "2014-01-11"},
        headers=headers,
    )
    assert report.status_code == 200, report.get_data(as_text=True)
    assert report.get_json()["current"]["occupancy"]["mean_percent"] == pytest.approx(
        sum(hourly) / len(hourly), abs=0.005
    )
