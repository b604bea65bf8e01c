"""The open-data use cases (docs/OPEN_DATA.md): which local day is asked for, a day of
published road-hours with the tariffs that price them, and which tariff versions are shown.
The blurring rule itself is parking/open_data.py; the web layer only parses and writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import TariffVersion
from billing.pricing_advice import UnwatchedOf
from billing.tariff import Tariff
from billing.tariff_parts import Tier
from billing.tariffs import TariffBook
from parking.errors import N_, InvalidInputError, Message
from parking.metrics import local_hours
from parking.metrics_queries import load_bays, load_stays
from parking.models import District, Road
from parking.open_data import BlurRule, RoadHour, published_hours, road_hours

EARLIEST_DAY = date(2000, 1, 1)  # events are taken from 2000 on (sensors/cds.py)


class DateInFutureError(InvalidInputError):
    code = "date_in_future"


class DateOutOfRangeError(InvalidInputError):
    code = "date_out_of_range"


def open_day(time_zone: str, asked: date | None, now: datetime) -> date:
    """The local day asked for (default yesterday); an error before open data starts or for a
    day that has not begun."""
    today = now.astimezone(ZoneInfo(time_zone)).date()
    day = asked or today - timedelta(days=1)
    if day > today:
        message = Message(
            N_("%(day)s has not begun in %(zone)s"), {"day": day.isoformat(), "zone": time_zone}
        )
        raise DateInFutureError(message, ["date"])
    if day < EARLIEST_DAY:  # nothing was recorded before; year 1 cannot even be turned into UTC
        message = Message(N_("open data starts on %(day)s"), {"day": EARLIEST_DAY.isoformat()})
        raise DateOutOfRangeError(message, ["date"])
    return day


@dataclass(frozen=True)
class RoadDay:
    """A day of open data: the district's roads, their published road-hours, the tariffs."""

    roads: list[Road]
    rows: list[RoadHour]
    book: TariffBook
    start: datetime
    rule: BlurRule

    def by_road(self) -> dict[str, list[RoadHour]]:
        out: dict[str, list[RoadHour]] = {}
        for row in self.rows:
            out.setdefault(row.road_uuid, []).append(row)
        return out


def road_day(
    db: Session, place: District, day: date, unwatched_of: UnwatchedOf, rule: BlurRule, now: datetime
) -> RoadDay:
    """The published road-hours of `day` (blurred: parking/open_data.py) and what prices them."""
    zone = ZoneInfo(place.time_zone)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    hours = published_hours(local_hours(start, end, zone), now, rule)
    bays = load_bays(db, place.id)
    rows: list[RoadHour] = []
    if hours:
        window = (hours[0].start, hours[-1].end)
        stays = list(load_stays(db, place.id, *window))
        rows = road_hours(bays, hours, stays, unwatched_of(bays, window), now, rule)
    roads = list(db.scalars(select(Road).where(Road.district_id == place.id).order_by(Road.name)))
    return RoadDay(roads, rows, TariffBook.load(db, place), start, rule)


@dataclass(frozen=True)
class ShownTariff:
    code: str
    roads: list[str]
    versions: list[tuple[TariffVersion, Tariff]]


def tariffs_shown(db: Session, place: District, now: datetime) -> list[ShownTariff]:
    """Each tariff code with the names of the roads it prices, its version in force now and
    any version already published for later."""
    book = TariffBook.load(db, place)
    roads: dict[str, list[str]] = {}
    for road in db.scalars(select(Road).where(Road.district_id == place.id).order_by(Road.name)):
        roads.setdefault(road.tariff_code, []).append(road.name)
    out = []
    for code, versions in sorted(book.versions.items()):
        current = book.in_force(code, now)
        later = [v for v in versions if v.effective_from > now]
        shown = ([current[0]] if current else []) + later
        if shown:
            pairs = [(v, Tariff(v.document, place.time_zone)) for v in shown]
            out.append(ShownTariff(code, roads.get(code, []), pairs))
    return out


def rate_per_minute(tier: Tier) -> int:
    """A tier's price per minute in minor units (rounded down), as the feed publishes it."""
    return tier.amount // tier.increment_minutes


def band_rate_at(tariff: Tariff, at: datetime) -> tuple[str, int]:
    """(the band in force at `at`, its first tier's rate per minute)."""
    name = tariff.band_at(at)
    return name, rate_per_minute(next(b for b in tariff.bands if b.name == name).tiers[0])
