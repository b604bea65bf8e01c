"""The event archive (sensors/archive.py): events older than the hot window move into dated,
compressed files; a rebuild that reads the archive with the hot log derives exactly the
stays stored before; events a re-derivation may still need stay hot; a crash between a file
and its delete leaves duplicates that readers take once. Each test commits into a database
of its own."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import create_app
from api.scheduler.jobs import run_job
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from parking.clock import FixedClock
from parking.inventory import get_district
from parking.models import Stay
from parking.unit_of_work import writing
from sensors.archive import archive_events, archive_files, read_archive, read_file, write_file
from sensors.models import CurbEvent
from sensors.rebuild import rebuild_districts
from sensors.services import log_pushed_batch
from tests.integration.own_database import own_database, read_snapshot, session_on

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
SKEW = timedelta(seconds=120)
SLUG = "testville"
HOT_DAYS = 3
DAYS = 7
OPEN_BAY = "T2-2"  # parked five days ago and still there: its events stay hot


def traffic(town: SmallDistrict, seed: int) -> list[tuple[Any, dict[str, Any]]]:
    """A week of stays on the stakes' bays, three a day each, with a later corrected read on
    some, and one long stay still open; in event-time order, with the device sending each."""
    rng = random.Random(seed)
    out: list[tuple[Any, dict[str, Any]]] = []
    for stake, names in ((town.stake_a, ["T1-1", "T1-2", "T1-3", "T1-4"]), (town.stake_b, ["T2-1"])):
        for name in names:
            bay = town.bay(name)
            for back in range(DAYS, 0, -1):
                day = NOW - timedelta(days=back)
                for hour in (1, 5, 9):
                    start = day + timedelta(hours=hour, seconds=rng.randrange(3600))
                    end = start + timedelta(minutes=rng.randint(20, 150))
                    session = str(uuid.uuid4())
                    plate = f"贵A{rng.randrange(10000, 99999)}"
                    confidence = rng.choice([95, 91, 50])
                    out.append(
                        (
                            stake,
                            cds_event(
                                stake,
                                bay,
                                "park_start",
                                start,
                                plate=plate,
                                confidence=confidence,
                                session_id=session,
                            ),
                        )
                    )
                    if confidence == 50:
                        out.append(
                            (
                                stake,
                                cds_event(
                                    stake,
                                    bay,
                                    "vehicle_detected",
                                    start + timedelta(minutes=5),
                                    plate=plate,
                                    confidence=97,
                                    session_id=session,
                                ),
                            )
                        )
                    out.append(
                        (
                            stake,
                            cds_event(
                                stake,
                                bay,
                                "park_end",
                                end,
                                plate=plate,
                                confidence=confidence,
                                session_id=session,
                            ),
                        )
                    )
    open_bay = town.bay(OPEN_BAY)
    out.append(
        (
            town.stake_b,
            cds_event(
                town.stake_b, open_bay, "park_start", NOW - timedelta(days=5), plate="贵B00001", confidence=93
            ),
        )
    )
    out.append(
        (
            town.stake_b,
            cds_event(
                town.stake_b,
                open_bay,
                "vehicle_detected",
                NOW - timedelta(days=4),
                plate="贵B00001",
                confidence=96,
            ),
        )
    )
    out.sort(key=lambda pair: pair[1]["event_time"])
    return out


@pytest.fixture
def week(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A committed database holding the week's traffic, pushed a device's day at a time."""
    with own_database(database_url, tmp_path) as url:
        with session_on(url) as db:
            town = build_small_district(db, NOW - timedelta(days=DAYS + 1), SLUG)
            db.commit()
            for device, event in traffic(town, seed=11):
                with writing(db):
                    log_pushed_batch(db, town.district, device.device, [event], NOW, SKEW)
        yield url


def stays_and_bays(db: Session) -> tuple[Any, Any, Any]:
    shot = read_snapshot(db, SLUG)
    return shot.stays, shot.bays, shot.anomalies


def events_in_db(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(CurbEvent)) or 0


def test_a_rebuild_from_the_archive_and_the_hot_log_gives_exactly_the_stays_stored_before(
    week: str, tmp_path: Path
) -> None:
    folder = tmp_path / "archive"
    with session_on(week) as db:
        before = stays_and_bays(db)
        logged = events_in_db(db)
        district = read_snapshot(db, SLUG)
        result = archive_events(db, get_district(db, SLUG), folder, NOW, HOT_DAYS)
        # Stays that ended within a day before the cutoff keep their events hot too.
        assert result.events > 0 and len(result.files) == DAYS - HOT_DAYS - 1
        assert events_in_db(db) == logged - result.events
        assert [p.name for p in archive_files(folder, SLUG)][
            0
        ] == f"{(NOW - timedelta(days=DAYS)).date()}.jsonl.zst"
        archived = list(read_archive(folder, SLUG))
        assert {r["event_id"] for r in archived} | set(db.scalars(select(CurbEvent.event_id))) == set(
            district.event_ids
        )

        without = rebuild_districts(db, SLUG, NOW)
        db.rollback()
        assert without.differences  # the hot log alone no longer holds the old stays

        report = rebuild_districts(db, SLUG, NOW, archive=folder)
        db.commit()
        assert report.differences == [], report.differences
        assert stays_and_bays(db) == before


def test_events_of_a_stay_still_open_stay_hot_however_old(week: str, tmp_path: Path) -> None:
    with session_on(week) as db:
        open_stay = db.scalars(select(Stay).where(Stay.ended_at.is_(None))).one()
        archive_events(db, get_district(db, SLUG), tmp_path / "archive", NOW, HOT_DAYS)
        kept = set(db.scalars(select(CurbEvent.event_id).where(CurbEvent.bay_id == open_stay.bay_id)))
        assert set(open_stay.event_ids) <= kept
        cutoff = NOW - timedelta(days=HOT_DAYS + 1)  # before the day the other stays' events keep
        old_hot = db.scalars(select(CurbEvent.bay_id).where(CurbEvent.event_time < cutoff)).all()
        assert set(old_hot) == {open_stay.bay_id}


def test_a_crash_between_a_file_and_its_delete_leaves_duplicates_read_once(week: str, tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    with session_on(week) as db:
        before = stays_and_bays(db)
        result = archive_events(db, get_district(db, SLUG), folder, NOW, HOT_DAYS)
        first = result.files[0]
        rows = list(read_file(first))
        # The same rows written again, as a run would after a crash before its delete.
        again = write_file(folder / SLUG, rows[0]["event_time"].date(), rows)
        assert again.name.endswith(".2.jsonl.zst") and list(read_file(again)) == rows
        ids = [r["event_id"] for r in read_archive(folder, SLUG)]
        assert len(ids) == len(set(ids)) == result.events
        report = rebuild_districts(db, SLUG, NOW, archive=folder)
        db.commit()
        assert report.differences == [] and stays_and_bays(db) == before


def test_a_second_run_finds_nothing_more_to_archive(week: str, tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    with session_on(week) as db:
        archive_events(db, get_district(db, SLUG), folder, NOW, HOT_DAYS)
        files = archive_files(folder, SLUG)
        again = archive_events(db, get_district(db, SLUG), folder, NOW, HOT_DAYS)
        assert again.events == 0 and archive_files(folder, SLUG) == files


def test_the_nightly_job_archives_with_the_configured_hot_window_and_folder(
    week: str, tmp_path: Path
) -> None:
    folder = tmp_path / "nightly"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": week,
            "CLOCK": FixedClock(NOW),
            "EVENT_HOT_DAYS": HOT_DAYS,
            "EVENT_ARCHIVE_DIR": str(folder),
        }
    )
    try:
        summary = run_job(app, "archive-events")
    finally:
        app.extensions["parking.engine"].dispose()
    files = archive_files(folder, SLUG)
    archived = sum(1 for _ in read_archive(folder, SLUG))
    assert summary == f"{SLUG} {archived} events archived into {len(files)} files"
    assert archived > 0 and len(files) == DAYS - HOT_DAYS - 1
