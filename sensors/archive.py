"""The event archive: events older than the hot window leave the database for dated,
compressed files, and are read back from there by a rebuild (docs/OPERATIONS.md, "The
event archive").

One file per district and UTC day of the events' time, `<folder>/<district>/YYYY-MM-DD.jsonl.zst`
(a later run that finds more events of a day already archived writes `YYYY-MM-DD.2.jsonl.zst`,
and so on): zstd-compressed JSON lines, one logged row each, every column as stored. A file is
written whole beside its final name, synced, renamed into place and its folder synced; only
then are its rows deleted, in one transaction. A crash in between leaves rows in both places,
never in neither: readers take each event_id once.

An event stays hot while a re-derivation could still need it: a late event re-derives its
bay from the start of the stays it touches (parking/stays.py), so an event is kept while any
stay of its bay that began at or before it is still open or ended less than a day before the
cutoff (the day covers stays that end at the very instant the next begins).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

import orjson
import zstandard
from sqlalchemy import Table, and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from parking.db import UTCDateTime
from parking.models import District, Stay
from parking.timeline import TimelineEvent
from parking.unit_of_work import writing
from sensors.log import to_timeline_event
from sensors.models import CurbEvent

_EVENT = cast(Table, CurbEvent.__table__)
_COLUMNS = [c.name for c in _EVENT.columns]
_TIMES = {c.name for c in _EVENT.columns if isinstance(c.type, UTCDateTime)}
SUFFIX = ".jsonl.zst"
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl\.zst$")
_LEVEL = 10  # zstd level: about a tenth slower to write than 3, a fifth smaller
_KEEP_AFTER_ENDED = timedelta(days=1)
_DELETE_CHUNK = 500


@dataclass
class ArchiveResult:
    events: int = 0
    files: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.events} events archived into {len(self.files)} files"


def archive_events(
    db: Session, district: District, folder: Path, now: datetime, hot_days: float
) -> ArchiveResult:
    """Move the district's events older than `hot_days` (and needed by no re-derivation)
    into the archive, a UTC day at a time, each in its own unit of work: the day's file is
    in place before its rows go. `district`'s id and slug are read before the first unit."""
    if hot_days <= 0:
        raise ValueError("the hot window is a number of days above 0")
    cutoff = now - timedelta(days=hot_days)
    district_id, slug = district.id, district.slug
    result = ArchiveResult()
    for day in _days(db, district_id, cutoff):
        start = datetime.combine(day, datetime.min.time(), tzinfo=cutoff.tzinfo)
        with writing(db):  # one day: its file in place, then its rows gone, in one transaction
            rows = _archivable(db, district_id, cutoff, start, min(cutoff, start + timedelta(days=1)))
            if not rows:
                continue
            result.files.append(write_file(folder / slug, day, rows))
            ids = [row["id"] for row in rows]
            for i in range(0, len(ids), _DELETE_CHUNK):
                db.execute(delete(_EVENT).where(_EVENT.c.id.in_(ids[i : i + _DELETE_CHUNK])))
        result.events += len(rows)
    return result


def _hot_condition(district_id: int, cutoff: datetime) -> Any:
    """Events a re-derivation may still need: some stay of its bay began at or before it
    and is open, or ended less than a day before the cutoff."""
    keep = exists().where(
        Stay.bay_id == _EVENT.c.bay_id,
        Stay.started_at <= _EVENT.c.event_time,
        or_(Stay.ended_at.is_(None), Stay.ended_at >= cutoff - _KEEP_AFTER_ENDED),
    )
    return and_(_EVENT.c.district_id == district_id, _EVENT.c.event_time < cutoff, ~keep)


def _days(db: Session, district_id: int, cutoff: datetime) -> list[date]:
    first = db.scalar(
        select(_EVENT.c.event_time)
        .where(_EVENT.c.district_id == district_id, _EVENT.c.event_time < cutoff)
        .order_by(_EVENT.c.event_time)
        .limit(1)
    )
    if first is None:
        return []
    days = []
    day = first.date()
    while day <= cutoff.date():
        days.append(day)
        day += timedelta(days=1)
    return days


def _archivable(
    db: Session, district_id: int, cutoff: datetime, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    query = (
        select(_EVENT)
        .where(_hot_condition(district_id, cutoff), _EVENT.c.event_time >= start, _EVENT.c.event_time < end)
        .order_by(_EVENT.c.event_time, _EVENT.c.id)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # no plate erased between this read and the delete
    return [dict(row._mapping) for row in db.execute(query)]


def write_file(folder: Path, day: date, rows: list[dict[str, Any]]) -> Path:
    """Write one day's rows as a new archive file, atomically; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, day)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{day.isoformat()}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as raw:
            with zstandard.ZstdCompressor(level=_LEVEL).stream_writer(raw, closefd=False) as out:
                for row in rows:
                    out.write(orjson.dumps(_encoded(row)) + b"\n")
            raw.flush()
            os.fsync(raw.fileno())
        os.link(temporary, target)  # fails rather than replace a file another run wrote
    finally:
        os.unlink(temporary)
    _sync_folder(folder)
    return target


def _free_name(folder: Path, day: date) -> Path:
    first = folder / f"{day.isoformat()}{SUFFIX}"
    if not first.exists():
        return first
    n = 2
    while (folder / f"{day.isoformat()}.{n}{SUFFIX}").exists():
        n += 1
    return folder / f"{day.isoformat()}.{n}{SUFFIX}"


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _encoded(row: dict[str, Any]) -> dict[str, Any]:
    return {name: (row[name].isoformat() if name in _TIMES and row[name] else row[name]) for name in _COLUMNS}


def _decoded(line: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (datetime.fromisoformat(value) if name in _TIMES and value else value)
        for name, value in line.items()
    }


def archive_files(folder: Path, slug: str) -> list[Path]:
    """The district's archive files in day order (a day's later files after its first)."""
    found = []
    for path in (folder / slug).glob(f"*{SUFFIX}"):
        match = _NAME.match(path.name)
        if match:
            found.append((match.group(1), int(match.group(2) or 1), path))
    return [path for _, _, path in sorted(found)]


def read_file(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of one archive file, times as aware datetimes."""
    with path.open("rb") as raw:
        reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(raw)
        buffered = _lines(reader)
        for line in buffered:
            yield _decoded(orjson.loads(line))


def _lines(reader: IO[bytes]) -> Iterator[bytes]:
    pending = b""
    while chunk := reader.read(1 << 20):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line)
    if pending:
        yield pending


def read_archive(folder: Path, slug: str) -> Iterator[dict[str, Any]]:
    """Every archived row of the district, each event_id once (a crash between a file and
    its delete, or a run again, can leave an event in two files)."""
    seen: set[str] = set()
    for path in archive_files(folder, slug):
        for row in read_file(path):
            if row["event_id"] not in seen:
                seen.add(row["event_id"])
                yield row


def archived_timeline_events(folder: Path, slug: str) -> dict[int, list[TimelineEvent]]:
    """Each bay's timeline events in the archive, for a rebuild to fold with the hot log's."""
    out: dict[int, list[TimelineEvent]] = defaultdict(list)
    for row in read_archive(folder, slug):
        event = to_timeline_event(
            row["event_id"],
            row["event_type"],
            row["event_time"],
            row["data_source_type"],
            row["plate"],
            row["plate_confidence"],
        )
        if event is not None and row["bay_id"] is not None:
            out[row["bay_id"]].append(event)
    return dict(out)
