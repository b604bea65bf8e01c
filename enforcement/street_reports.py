"""Street-order reports (占道经营 and the like): a vending stall, goods on the road, a
construction site, something else, at a place rather than a bay. A warden, a city-management
officer or a video stake reports one; it becomes a task for city management and never goes to
the police (it has no violation, so it is never escalated)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import OPEN, Task
from parking.errors import N_, InvalidInputError, Message
from parking.geo import distance_m
from parking.models import Bay, District, Road, new_uuid
from sensors.models import CurbEvent, device_bay

STREET_KINDS = ("vending", "goods_on_road", "construction", "other")
STREET_TASK_KIND = "street_report"
CITY_TEAM = "city"
# A report this close to a road's centre is counted on that road; farther, on none.
ROAD_REACH_M = 400.0
# A video stake names the kind with this CDS custom attribute (string values, as CDS wants).
STREET_REPORT_ATTRIBUTE = "street_report"
# The stake sweep looks back this far; each event opens its task once, so overlap is harmless.
STREET_REPORT_LOOKBACK = timedelta(hours=1)


class InvalidStreetReportError(InvalidInputError):
    code = "invalid_street_report"


@dataclass(frozen=True)
class StreetReport:
    kind: str
    lat: float
    lng: float
    note: str | None
    reported_by: str
    source: str  # handheld or stake


def report_street(
    db: Session, district: District, report: StreetReport, now: datetime, key: str | None = None
) -> Task:
    """Open a city-management task for the report, on the nearest road within reach. `key`
    makes a resent report (a stake's event id) create nothing twice."""
    if report.kind not in STREET_KINDS:
        raise InvalidStreetReportError(
            Message(N_("kind is one of %(kinds)s"), {"kinds": ", ".join(STREET_KINDS)}), ["kind"]
        )
    task_key = f"street:{key or new_uuid()}"
    road = nearest_road(db, district, report.lat, report.lng)
    details = {
        "report": report.kind,
        "note": report.note,
        "reported_by": report.reported_by,
        "source": report.source,
    }
    task = Task(
        district_id=district.id,
        key=task_key,
        team=CITY_TEAM,
        kind=STREET_TASK_KIND,
        road_id=road.id if road else None,
        lat=report.lat,
        lng=report.lng,
        details=details,
        status=OPEN,
        created_at=now,
    )
    db.add(task)
    db.flush()
    return task


def nearest_road(db: Session, district: District, lat: float, lng: float) -> Road | None:
    roads = db.scalars(select(Road).where(Road.district_id == district.id))
    best = min(
        ((distance_m(lat, lng, road.center_lat, road.center_lng), road.id, road) for road in roads),
        default=None,
    )
    return best[2] if best is not None and best[0] <= ROAD_REACH_M else None


def street_reports(db: Session, district: District, since: datetime, until: datetime) -> list[Task]:
    """The district's street reports created from `since` to `until` (both included), oldest first."""
    return list(
        db.scalars(
            select(Task)
            .where(
                Task.district_id == district.id,
                Task.kind == STREET_TASK_KIND,
                Task.created_at >= since,
                Task.created_at <= until,
            )
            .order_by(Task.created_at, Task.id)
        )
    )


@dataclass(frozen=True)
class RoadHour:
    """Reports on one road (None: on no road) in one local hour of the day (0-23)."""

    road: str | None
    hour: int
    kinds: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


def reports_by_road_and_hour(db: Session, district: District, reports: list[Task]) -> list[RoadHour]:
    """How many reports of each kind each road had in each local hour, busiest first."""
    zone = ZoneInfo(district.time_zone)
    names = {
        road_id: name
        for road_id, name in db.execute(select(Road.id, Road.name).where(Road.district_id == district.id))
    }
    counts: Counter[tuple[str | None, int, str]] = Counter(
        (
            names.get(task.road_id) if task.road_id is not None else None,
            task.created_at.astimezone(zone).hour,
            str(task.details.get("report")),
        )
        for task in reports
    )
    grouped: dict[tuple[str | None, int], dict[str, int]] = {}
    for (road, hour, kind), count in counts.items():
        grouped.setdefault((road, hour), {})[kind] = count
    rows = [RoadHour(road, hour, kinds) for (road, hour), kinds in grouped.items()]
    rows.sort(key=lambda row: (-row.total, row.road or "", row.hour))
    return rows


def sweep_stake_street_reports(db: Session, district: District, since: datetime, now: datetime) -> int:
    """Turn the events a video stake sent since `since` naming a street-report kind in the
    custom attribute `street_report` (a `scheduled_report`, so no bay's timeline moves) into
    city-management tasks, placed at the event's bay or the stake's first bay; an event
    already turned into a task is skipped. Returns how many tasks were opened."""
    kind = CurbEvent.extra[("custom_attributes", STREET_REPORT_ATTRIBUTE)].as_string()
    rows = db.execute(
        select(CurbEvent.event_id, kind, CurbEvent.bay_id, CurbEvent.device_id, CurbEvent.event_time)
        .where(
            CurbEvent.district_id == district.id,
            CurbEvent.received_at >= since,
            CurbEvent.received_at <= now,
            kind.in_(STREET_KINDS),
        )
        .order_by(CurbEvent.received_at, CurbEvent.id)
    ).all()
    opened = 0
    for event_id, report_kind, bay_id, device_id, event_time in rows:
        place = _stake_place(db, bay_id, device_id)
        if place is None or _exists(db, district, f"street:{event_id}"):
            continue
        report = StreetReport(report_kind, place[0], place[1], None, f"stake {device_id}", "stake")
        report_street(db, district, report, event_time, key=event_id)
        opened += 1
    return opened


def _stake_place(db: Session, bay_id: int | None, device_id: int) -> tuple[float, float] | None:
    if bay_id is None:
        bay_id = db.scalar(select(device_bay.c.bay_id).where(device_bay.c.device_id == device_id).limit(1))
    bay = db.get(Bay, bay_id) if bay_id is not None else None
    return (bay.lat, bay.lng) if bay is not None else None


def _exists(db: Session, district: District, key: str) -> bool:
    return db.scalar(select(Task.id).where(Task.district_id == district.id, Task.key == key)) is not None
