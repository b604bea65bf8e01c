"""Operator commands: import-bays, create-device, export-stays and rebuild do their work
once, and bad arguments exit non-zero with a one-line reason."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parking.clock import FixedClock, to_ms
from parking.models import Bay, District, Road
from sensors.models import Device

SLUG = "lakeside"
ZONE = ZoneInfo("Asia/Shanghai")
ID_AND_ZONES = [
    "--id-property",
    "bayId",
    "--zone-properties",
    "Street,BetweenStreet1,BetweenStreet2,SideofStreet",
]
NEW_DISTRICT = ["--district", SLUG, "--time-zone", "Asia/Shanghai", "--currency", "CNY"]


def feature(bay: str, street: str, n: int) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [106.630 + n * 0.0001, 26.680]},
        "properties": {
            "bayId": bay,
            "Street": street,
            "BetweenStreet1": "HILL ST",
            "BetweenStreet2": "LAKE ST",
            "SideofStreet": "N",
        },
    }


def geojson(tmp_path: Path, *features: dict[str, Any], name: str = "bays.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}), encoding="utf-8")
    return path


@pytest.fixture
def bays_file(tmp_path: Path) -> Path:
    """Three bays on two block faces."""
    return geojson(
        tmp_path, feature("L1", "SHORE RD", 1), feature("L2", "SHORE RD", 2), feature("L3", "PIER RD", 3)
    )


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def imported(app: Flask, bays_file: Path) -> None:
    result = run(app, "import-bays", str(bays_file), *NEW_DISTRICT, *ID_AND_ZONES)
    assert result.exit_code == 0, result.output


def data_feed(app: Flask) -> tuple[str, str]:
    """A data feed made with create-device: (its data_source_device_id, its token)."""
    result = run(app, "create-device", "--district", SLUG, "--kind", "data_feed")
    assert result.exit_code == 0, result.output
    first, token = result.stdout.strip().splitlines()
    return first.removeprefix("data_source_device_id: "), token


def assert_refused(result: Result, reason: str) -> None:
    """A non-zero exit, no traceback, and exactly one line giving the reason."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    assert reason in errors[0], result.output
    assert "Traceback" not in result.output


# --- import-bays --------------------------------------------------------------------------------


def test_import_bays_creates_the_district_with_its_roads_and_a_second_run_adds_nothing(
    app: Flask, db: Session, bays_file: Path
) -> None:
    first = run(app, "import-bays", str(bays_file), *NEW_DISTRICT, *ID_AND_ZONES)
    again = run(app, "import-bays", str(bays_file), "--district", SLUG, *ID_AND_ZONES)

    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert first.stdout == f"district {SLUG!r} created: 2 roads and 3 bays added, 0 bays already known\n"
    assert again.stdout == f"district {SLUG!r}: 0 roads and 0 bays added, 3 bays already known\n"
    district = db.scalars(select(District).where(District.slug == SLUG)).one()
    assert (district.time_zone, district.currency) == ("Asia/Shanghai", "CNY")
    roads = dict(db.execute(select(Road.name, func.count(Bay.id)).join(Bay).group_by(Road.name)).all())
    assert roads == {"SHORE RD / HILL ST / LAKE ST / N": 2, "PIER RD / HILL ST / LAKE ST / N": 1}
    road = db.scalars(select(Road).where(Road.street_name == "PIER RD")).one()
    assert (road.cross_street_start_name, road.cross_street_end_name, road.street_side) == (
        "HILL ST",
        "LAKE ST",
        "N",
    )


def test_import_bays_refuses_a_missing_file(app: Flask, tmp_path: Path) -> None:
    result = run(app, "import-bays", str(tmp_path / "nowhere.geojson"), *NEW_DISTRICT, *ID_AND_ZONES)

    assert_refused(result, "does not exist")


def test_import_bays_refuses_a_new_district_without_a_time_zone(
    app: Flask, db: Session, bays_file: Path
) -> None:
    result = run(app, "import-bays", str(bays_file), "--district", SLUG, "--currency", "CNY", *ID_AND_ZONES)

    assert_refused(result, "a new district needs --time-zone and --currency")
    assert db.scalars(select(District).where(District.slug == SLUG)).first() is None


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        (
            "--time-zone",
            "Mars/Olympus_Mons",
            "invalid_inventory: 'Mars/Olympus_Mons' is not an IANA time zone",
        ),
        ("--currency", "EURO", "invalid_inventory: 'EURO' is not an ISO 4217 code"),
    ],
)
def test_import_bays_refuses_an_invalid_time_zone_or_currency_and_creates_nothing(
    app: Flask, db: Session, bays_file: Path, option: str, value: str, reason: str
) -> None:
    settings = {"--time-zone": "Asia/Shanghai", "--currency": "CNY", option: value}

    result = run(
        app,
        "import-bays",
        str(bays_file),
        "--district",
        SLUG,
        *(word for pair in settings.items() for word in pair),
        *ID_AND_ZONES,
    )

    assert_refused(result, reason)
    assert db.scalars(select(District).where(District.slug == SLUG)).first() is None


def test_import_bays_refuses_a_feature_without_the_id_property_and_imports_none_of_the_file(
    app: Flask, db: Session, tmp_path: Path
) -> None:
    nameless = feature("L9", "SHORE RD", 9)
    del nameless["properties"]["bayId"]
    path = geojson(tmp_path, feature("L1", "SHORE RD", 1), nameless)

    result = run(app, "import-bays", str(path), *NEW_DISTRICT, *ID_AND_ZONES)

    assert_refused(result, "invalid_inventory: feature 1 lacks bayId")
    assert db.scalars(select(District).where(District.slug == SLUG)).first() is None
    assert db.scalar(select(func.count()).select_from(Bay).where(Bay.name == "L1")) == 0


# --- create-device ------------------------------------------------------------------------------


def test_create_device_prints_its_id_then_a_token_that_works_on_the_push_endpoint(
    app: Flask, client: FlaskClient, db: Session, bays_file: Path, clock: FixedClock
) -> None:
    imported(app, bays_file)

    result = run(app, "create-device", "--district", SLUG, "--kind", "data_feed", "--name", "FEED-7")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    match = re.fullmatch(
        r"data_source_device_id: ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", lines[0]
    )
    assert match is not None, lines[0]
    device = db.scalars(select(Device).where(Device.uuid == match[1])).one()
    assert (device.kind, device.name) == ("data_feed", "FEED-7")
    headers = {"Authorization": f"Bearer {lines[-1]}"}
    assert client.get(f"/api/v1/{SLUG}/devices/me", headers=headers).get_json()["name"] == "FEED-7"
    bay = db.scalars(select(Bay).where(Bay.name == "L1")).one()
    event = {
        "event_id": "7d5f7b0e-5b0a-4f36-9d77-3f1f0a4c2b11",
        "event_type": "park_start",
        "event_time": to_ms(clock.now() - timedelta(minutes=5)),
        "event_publication_time": to_ms(clock.now()),
        "curb_space_id": bay.uuid,
        "data_source_type": "data_feed",
        "data_source_device_id": match[1],
    }
    pushed = client.post(f"/cds/{SLUG}/events/event", json=[event], headers=headers)
    assert pushed.status_code == 200, pushed.get_json()
    assert pushed.get_json() == {"success": 1, "total": 1, "failures": []}
    refused = client.post(
        f"/cds/{SLUG}/events/event", json=[event], headers={"Authorization": "Bearer not-the-token"}
    )
    assert refused.status_code == 401


def test_create_device_refuses_a_stake_on_an_unknown_bay(app: Flask, db: Session, bays_file: Path) -> None:
    imported(app, bays_file)

    result = run(app, "create-device", "--district", SLUG, "--kind", "video_stake", "--bays", "L1,L99")

    assert_refused(result, "unknown_bay: no bay named L99 in this district")
    assert db.scalar(select(func.count()).select_from(Device)) == 0


def test_create_device_refuses_a_stake_with_five_bays(app: Flask, tmp_path: Path) -> None:
    path = geojson(tmp_path, *(feature(f"L{n}", "SHORE RD", n) for n in range(1, 6)))
    imported(app, path)

    result = run(
        app, "create-device", "--district", SLUG, "--kind", "video_stake", "--bays", "L1,L2,L3,L4,L5"
    )

    assert_refused(result, "invalid_device: a video stake covers one to four bays")


@pytest.mark.parametrize(
    "command",
    [
        ["create-device", "--kind", "data_feed"],
        ["create-staff-token", "--role", "bureau"],
        ["export-stays"],
        ["rebuild", "--dry-run"],
        ["archive-events"],
        ["district-settings"],
        ["set-district-tiles", "--clear"],
    ],
    ids=lambda c: c[0],
)
def test_every_command_refuses_an_unknown_district(app: Flask, bays_file: Path, command: list[str]) -> None:
    imported(app, bays_file)

    result = run(app, *command, "--district", "atlantis")

    assert_refused(result, "unknown_district: no district 'atlantis'")


def test_district_settings_shows_and_changes_the_payment_window(
    app: Flask, db: Session, bays_file: Path
) -> None:
    imported(app, bays_file)

    shown = run(app, "district-settings", "--district", SLUG)
    changed = run(app, "district-settings", "--district", SLUG, "--payment-window-minutes", "4320")
    refused = run(app, "district-settings", "--district", SLUG, "--payment-window-minutes", "-5")

    assert shown.exit_code == 0 and "payment window 1440 minutes" in shown.output
    assert changed.exit_code == 0 and "payment window 4320 minutes" in changed.output
    assert refused.exit_code != 0
    assert db.scalars(select(District.payment_window_minutes).where(District.slug == SLUG)).one() == 4320


# --- export-stays -------------------------------------------------------------------------------


def local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=ZONE)


@pytest.fixture
def three_stays(app: Flask, client: FlaskClient, db: Session, bays_file: Path) -> None:
    """L1 07:00-08:00 (plate GA12345), L2 08:30-09:15, L1 09:30 and still there (10:00 now),
    pushed by a data feed made with create-device."""
    imported(app, bays_file)
    device_id, token = data_feed(app)
    spaces = dict(db.execute(select(Bay.name, Bay.uuid)).all())
    events = []
    for n, (bay, kind, at, plate) in enumerate(
        [
            ("L1", "park_start", local(7), "GA 12345"),
            ("L1", "park_end", local(8), None),
            ("L2", "park_start", local(8, 30), None),
            ("L2", "park_end", local(9, 15), None),
            ("L1", "park_start", local(9, 30), None),
        ]
    ):
        event = {
            "event_id": f"00000000-0000-4000-8000-{n:012d}",
            "event_type": kind,
            "event_time": to_ms(at),
            "event_publication_time": to_ms(at),
            "curb_space_id": spaces[bay],
            "data_source_type": "data_feed",
            "data_source_device_id": device_id,
        }
        if plate:
            event["vehicle_license_plate"] = plate
        events.append(event)
    pushed = client.post(
        f"/cds/{SLUG}/events/event", json=events, headers={"Authorization": f"Bearer {token}"}
    )
    assert pushed.get_json()["success"] == len(events), pushed.get_json()


def exported(app: Flask, *args: str) -> list[list[str]]:
    result = run(app, "export-stays", "--district", SLUG, *args)
    assert result.exit_code == 0, result.output
    return list(csv.reader(io.StringIO(result.stdout)))


@pytest.mark.usefixtures("three_stays")
def test_export_stays_writes_csv_with_local_offsets_and_an_empty_end_while_open(app: Flask) -> None:
    rows = exported(app)

    assert rows == [
        ["bay", "road", "plate", "started_at", "ended_at", "sources", "violations"],
        ["L1", "SHORE RD / HILL ST / LAKE ST / N", "GA12345", "2026-03-02T07:00:00+08:00", "2026-03-02T08:00:00+08:00", "data_feed", ""],
        ["L2", "SHORE RD / HILL ST / LAKE ST / N", "", "2026-03-02T08:30:00+08:00", "2026-03-02T09:15:00+08:00", "data_feed", ""],
        ["L1", "SHORE RD / HILL ST / LAKE ST / N", "", "2026-03-02T09:30:00+08:00", "", "data_feed", ""],
    ]  # fmt: skip


@pytest.mark.usefixtures("three_stays")
def test_export_stays_ends_each_row_with_the_rules_its_stay_was_flagged_for_ended_stays_too(
    app: Flask, db: Session, clock: FixedClock
) -> None:
    from billing.tariffs import publish_tariff

    place = db.scalars(select(District).where(District.slug == SLUG)).one()
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    tariff = {
        "name": "45 minutes",
        "max_stay_minutes": 45,
        "bands": [{"name": "all", "days": every_day, "windows": [["00:00", "24:00"]], "tiers": [{"increment_minutes": 15, "amount": 0}]}],
    }  # fmt: skip
    publish_tariff(db, place, "standard", tariff, local(0), clock.now())
    swept = run(app, "run-job", "overstay", "--district", SLUG)
    assert swept.exit_code == 0, swept.output

    rows = exported(app)

    assert [row[-1] for row in rows] == ["violations", "overstay", "", ""]


@pytest.mark.usefixtures("three_stays")
@pytest.mark.parametrize(
    ("window", "starts"),
    [
        (["--since", "2026-03-02T08:00:00+08:00"], ["08:30", "09:30"]),  # ended at `since`: out
        (["--since", "2026-03-02T00:00:00Z"], ["08:30", "09:30"]),  # the same instant in UTC
        (["--until", "2026-03-02T08:30:00+08:00"], ["07:00"]),  # started at `until`: out
        (
            ["--since", "2026-03-02T07:59:59+08:00", "--until", "2026-03-02T08:30:01+08:00"],
            ["07:00", "08:30"],
        ),
        (["--since", "2026-03-02T09:59:00+08:00"], ["09:30"]),  # open: still going
        (["--since", "2026-03-02T08:05:00+08:00", "--until", "2026-03-02T08:25:00+08:00"], []),
    ],
)
def test_export_stays_since_and_until_keep_the_stays_that_overlap_the_window(
    app: Flask, window: list[str], starts: list[str]
) -> None:
    rows = exported(app, *window)

    assert rows[0] == ["bay", "road", "plate", "started_at", "ended_at", "sources", "violations"]
    assert [row[3][11:16] for row in rows[1:]] == starts


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_export_stays_refuses_a_time_without_an_offset(app: Flask, bays_file: Path, option: str) -> None:
    imported(app, bays_file)

    result = run(app, "export-stays", "--district", SLUG, option, "2026-03-02T08:00:00")

    assert_refused(result, "give the UTC offset")


# --- rebuild ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("three_stays")
@pytest.mark.parametrize("dry_run", [["--dry-run"], []], ids=["dry-run", "rewrite"])
def test_rebuild_of_an_untouched_database_reports_that_the_stays_equal_a_fresh_replay(
    app: Flask, dry_run: list[str]
) -> None:
    result = run(app, "rebuild", "--district", SLUG, *dry_run)

    assert result.exit_code == 0, result.output
    assert result.stdout == "rebuilt 3 bays, 3 stays: stored stays equal a fresh replay of the event log\n"
    assert len(exported(app)) == 4


@pytest.mark.usefixtures("three_stays")
def test_archive_events_moves_the_old_stays_events_to_a_dated_file_and_rebuild_still_finds_them(
    app: Flask, clock: FixedClock
) -> None:
    clock.advance(timedelta(days=3))  # L1's first stay and L2's ended three days ago; L1 is taken again

    result = run(app, "archive-events", "--district", SLUG, "--hot-days", "1")

    assert result.exit_code == 0, result.output
    summary, *paths = result.stdout.splitlines()
    assert summary == "4 events archived into 2 files"  # the stays' times fall on two UTC days
    folder = Path(app.config["EVENT_ARCHIVE_DIR"]) / SLUG
    days = sorted({local(7).astimezone(UTC).date(), local(9, 15).astimezone(UTC).date()})
    assert [Path(p) for p in paths] == [folder / f"{day}.jsonl.zst" for day in days]
    rebuilt = run(app, "rebuild", "--district", SLUG, "--dry-run")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.stdout == "rebuilt 3 bays, 3 stays: stored stays equal a fresh replay of the event log\n"


def test_import_bays_refuses_to_change_an_existing_districts_time_zone_or_currency(
    app: Flask, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    geojson = tmp_path / "bays.geojson"
    geojson.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point",'
        ' "coordinates": [106.63, 26.68]}, "properties": {"bay": "B1", "street": "Jianshan Road"}}]}'
    )
    base = [
        "import-bays",
        str(geojson),
        "--district",
        "zed",
        "--id-property",
        "bay",
        "--zone-properties",
        "street",
    ]
    assert runner.invoke(args=[*base, "--time-zone", "Asia/Shanghai", "--currency", "CNY"]).exit_code == 0
    again = runner.invoke(args=[*base, "--time-zone", "Asia/Shanghai"])
    other = runner.invoke(args=[*base, "--currency", "AUD"])
    assert again.exit_code == 0
    assert other.exit_code == 1 and "exists with time zone Asia/Shanghai and currency CNY" in other.output


# --- seed-history -------------------------------------------------------------------------------


def test_seed_history_loads_yesterdays_traffic_through_the_intake_once(app: Flask, db: Session) -> None:
    from billing.models import Payment
    from enforcement.models import Dispute, Fine, Task
    from fixtures.demo import seed_demo
    from parking.models import Stay

    seed_demo(db, datetime(2026, 3, 1, tzinfo=ZONE))

    first = run(app, "seed-history", "--days", "1")
    stays = db.scalar(select(func.count()).select_from(Stay))
    cash = db.scalar(select(func.count()).select_from(Payment).where(Payment.channel == "pos"))
    again = run(app, "seed-history", "--days", "1")

    assert first.exit_code == 0, first.output
    assert re.search(r"2026-03-01: \d+ events, \d+ new", first.output)
    assert 5000 <= (stays or 0) <= 5600
    assert 1800 <= (cash or 0) <= 2800  # about half the stays are paid at the curb (docs/DEMO.md)
    assert again.exit_code == 0 and ", 0 new" in again.output
    assert db.scalar(select(func.count()).select_from(Stay)) == stays
    # field work: the stakes' street reports (city tasks), open disputes, fines in force
    reports = select(func.count()).select_from(Task).where(Task.kind == "street_report", Task.team == "city")
    assert 6 <= (db.scalar(reports) or 0) <= 40
    assert "field work: 0 street reports, 0 open disputes" in again.output
    assert db.scalar(select(func.count()).select_from(Dispute).where(Dispute.status == "open")) == 3
    assert db.scalar(select(func.count()).select_from(Fine)) == 5


def test_revoke_device_decommissions_it_at_once(app: Flask, client: FlaskClient, bays_file: Path) -> None:
    imported(app, bays_file)
    device_uuid, token = data_feed(app)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/{SLUG}/devices/me", headers=headers).status_code == 200

    result = run(app, "revoke-device", "--district", SLUG, "--device", device_uuid)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"device {device_uuid} revoked at ")
    assert client.get(f"/api/v1/{SLUG}/devices/me", headers=headers).status_code == 401
    assert_refused(run(app, "revoke-device", "--district", SLUG, "--device", "nope"), "no device nope")


# --- set-district-tiles ---------------------------------------------------------------------------


def test_set_district_tiles_gives_a_district_gcj02_tiles_and_clear_takes_them_away(
    app: Flask, db: Session, bays_file: Path
) -> None:
    imported(app, bays_file)
    url = "https://{s}.tiles.example.cn/{z}/{x}/{y}.png"

    given = run(
        app,
        "set-district-tiles",
        "--district",
        SLUG,
        "--url",
        url,
        "--crs",
        "gcj02",
        "--attribution",
        "© 示例",
    )
    stored = db.execute(
        select(District.tile_url, District.tile_crs, District.tile_attribution).where(District.slug == SLUG)
    ).one()
    cleared = run(app, "set-district-tiles", "--district", SLUG, "--clear")

    assert given.exit_code == 0 and "(gcj02)" in given.output, given.output
    assert tuple(stored) == (url, "gcj02", "© 示例")
    assert cleared.exit_code == 0 and "no tiles" in cleared.output
    db.expire_all()
    assert db.scalars(select(District.tile_url).where(District.slug == SLUG)).one() is None


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["--url", "https://tiles.example/{z}/{x}.png", "--attribution", "©"], "invalid_tile_url: "),
        (
            ["--url", "https://tiles.example/{z}/{x}/{y}.png", "--crs", "bd09", "--attribution", "©"],
            "invalid_tile_crs: ",
        ),
        (["--url", "https://tiles.example/{z}/{x}/{y}.png"], "invalid_tile_attribution: "),
    ],
    ids=["url", "crs", "attribution"],
)
def test_set_district_tiles_refuses_bad_tiles_with_a_stable_code_and_changes_nothing(
    app: Flask, db: Session, bays_file: Path, args: list[str], refusal: str
) -> None:
    imported(app, bays_file)

    result = run(app, "set-district-tiles", "--district", SLUG, *args)

    assert_refused(result, refusal)
    assert db.scalars(select(District.tile_url).where(District.slug == SLUG)).one() is None
