"""Pricing advice on a tiny February: measured occupancy per band, the what-if replay of the
month's stays (hand-computed) and publishing the advice as tariff versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import StayFee, TariffVersion
from billing.pricing_advice import (
    HOLD,
    KEEP,
    LOWER,
    RAISE,
    NothingToPublishError,
    PricingRule,
    RoadAdvice,
    advise_district,
    publish_advice,
    replay_month,
)
from billing.tariff import Tariff
from billing.tariffs import TariffBook, price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district
from fixtures.tariffs import DEMO_EFFECTIVE_FROM, STANDARD
from parking.clock import FixedClock
from parking.metrics import local_hours
from tests.support.stays import add_stay

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEB_START = datetime(2026, 2, 1, tzinfo=SHANGHAI).astimezone(UTC)
MAR_START = datetime(2026, 3, 1, tzinfo=SHANGHAI).astimezone(UTC)
PLATE = "贵A12345"
GREEN_PLATE = "贵AD12345"  # eight characters: electric, half price
RULE = PricingRule()


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class February:
    small: SmallDistrict

    @property
    def busy(self) -> str:
        return self.small.roads[0].uuid

    @property
    def quiet(self) -> str:
        return self.small.roads[1].uuid


def build_february(db: Session, now: datetime, plates: bool = True) -> February:
    """Both roads on the demo `standard` tariff (8 fen/min for 2 h by day, then 16; nights
    free; 9 holidays 15-23 Feb with one 8 fen/min day tier; electric half price).
    - Jianshan Road (busy): every bay full 08:00-20:00 every day of February, in two-hour
      stays: 28 x 4 x 6 = 672 stays of 960 fen each (15 free minutes, then four 30-min
      increments at 240), so 100 % by day and 0 % by night;
    - Zhaohui Road (quiet): on Tue 3 Feb 09:00-11:00 one stay (960 fen) and on Wed 4 Feb
      09:00-11:00 one electric stay (480 fen)."""
    small = build_small_district(db, now)
    publish_tariff(db, small.district, "standard", STANDARD, DEMO_EFFECTIVE_FROM, now)
    for bay in small.bays:
        bay.last_event_at = FEB_START
    busy = [b for b in small.bays if b.road_id == small.roads[0].id]
    for n in range(28):
        day = date(2026, 2, 1) + timedelta(days=n)
        for bay in busy:
            for hour in range(8, 20, 2):
                add_stay(db, bay, local(day, hour), local(day, hour + 2), PLATE if plates else None)
    add_stay(db, small.bay("T2-1"), local(date(2026, 2, 3), 9), local(date(2026, 2, 3), 11))
    add_stay(db, small.bay("T2-2"), local(date(2026, 2, 4), 9), local(date(2026, 2, 4), 11), GREEN_PLATE)
    db.flush()
    price_ended_stays(db, small.district, now)
    db.flush()
    return February(small)


@pytest.fixture
def february(db: Session, clock: FixedClock) -> February:
    return build_february(db, clock.now())


def watched(*_: object) -> dict[int, list[tuple[datetime, datetime]]]:
    return {}


def advise(db: Session, town: February, now: datetime) -> dict[str, RoadAdvice]:
    hours = local_hours(FEB_START, MAR_START, SHANGHAI)
    advice = advise_district(db, town.small.district, hours, watched, RULE, now)
    return {a.road.uuid: a for a in advice}


def bands(advice: RoadAdvice) -> dict[str, tuple[float | None, int, tuple[int, ...], str, str]]:
    return {
        b.band: (b.occupancy_percent, b.hours_measured, b.advised_rates, b.action, b.reason)
        for b in advice.bands
    }


def test_each_band_is_measured_over_its_own_hours_and_advised(
    db: Session, february: February, clock: FixedClock
) -> None:
    advice = advise(db, february, clock.now())
    assert bands(advice[february.busy]) == {
        "日间": (100.0, 19 * 12, (10, 20), RAISE, "occupancy_high"),
        "夜间": (0.0, 19 * 12, (0,), KEEP, "at_bound"),
        "节假日日间": (100.0, 9 * 12, (10,), RAISE, "occupancy_high"),
        "节假日夜间": (0.0, 9 * 12, (0,), KEEP, "at_bound"),
    }
    quiet = bands(advice[february.quiet])
    assert quiet["日间"][2:] == ((6, 12), LOWER, "occupancy_low")
    # one bay of four in four of the 228 weekday day hours: 4 x 25 % / 228 hours
    assert quiet["日间"][:2] == (0.44, 228)
    assert advice[february.busy].advised_document()["bands"][0]["tiers"] == [
        {"until_minute": 120, "increment_minutes": 30, "amount": 300},
        {"increment_minutes": 30, "amount": 600},
    ]
    Tariff(advice[february.busy].advised_document(), "Asia/Shanghai")  # valid, CDS-expressible


def test_the_what_if_replays_the_months_priced_stays_at_unchanged_demand(
    db: Session, february: February, clock: FixedClock
) -> None:
    advice = advise(db, february, clock.now())
    replays = {
        r.road.uuid: r
        for r in replay_month(db, february.small.district, list(advice.values()), FEB_START, MAR_START)
    }
    busy, quiet = replays[february.busy], replays[february.quiet]
    assert (busy.stays, busy.charged, busy.at_current, busy.at_advised) == (
        672,
        672 * 960,
        672 * 960,
        672 * 1200,
    )
    assert busy.change == 672 * 240
    # 960 -> 4 x 180 = 720; the electric stay 480 -> 360
    assert (quiet.stays, quiet.charged, quiet.at_current, quiet.at_advised, quiet.change) == (
        2,
        1440,
        1440,
        1080,
        -360,
    )


def test_a_road_whose_tariff_changed_within_30_days_is_held(
    db: Session, february: February, clock: FixedClock
) -> None:
    pending = clock.now() + timedelta(days=1)
    publish_tariff(db, february.small.district, "standard", STANDARD, pending, clock.now())
    advice = advise(db, february, clock.now())
    busy = advice[february.busy]
    assert busy.held_until == pending + timedelta(days=30)
    assert {b.action for b in busy.bands} == {HOLD} and not busy.changes


def test_roads_sharing_a_code_with_different_advice_get_codes_of_their_own(
    db: Session, february: February, clock: FixedClock
) -> None:
    now = clock.now()
    effective = now + timedelta(days=1)
    district = february.small.district
    published = publish_advice(db, district, list(advise(db, february, now).values()), effective, now)
    codes = {p.road.uuid: p.version.code for p in published}
    assert codes == {
        february.busy: f"standard-{february.busy[:8]}",
        february.quiet: f"standard-{february.quiet[:8]}",
    }
    for item in published:
        assert item.forked_from == "standard" and item.road.tariff_code == item.version.code
        history = db.scalars(
            select(TariffVersion)
            .where(TariffVersion.code == item.version.code)
            .order_by(TariffVersion.version)
        ).all()
        assert [(v.version, v.effective_from) for v in history] == [(1, DEMO_EFFECTIVE_FROM), (2, effective)]
        assert history[0].document == STANDARD
        Tariff(history[1].document, district.time_zone)
    # the shared code is untouched; stays before the effective date price exactly as before
    book = TariffBook.load(db, district)
    assert len(book.versions["standard"]) == 1
    stay = add_stay(db, february.small.bay("T1-1"), now - timedelta(hours=3), now - timedelta(hours=1))
    db.flush()
    price_ended_stays(db, district, now)
    db.expire_all()
    fee = db.get(StayFee, stay.id)
    assert (
        fee is not None and fee.breakdown["tariff"] == codes[february.busy] and fee.breakdown["version"] == 1
    )
    # published once: the roads are now held
    with pytest.raises(NothingToPublishError):
        publish_advice(
            db, district, list(advise(db, february, now).values()), effective + timedelta(days=1), now
        )


def test_roads_sharing_a_code_with_the_same_advice_get_a_new_version_of_it(
    db: Session, february: February, clock: FixedClock
) -> None:
    now = clock.now()
    quiet_road = february.small.roads[1]
    quiet_road.tariff_code = "quiet"
    publish_tariff(db, february.small.district, "quiet", STANDARD, DEMO_EFFECTIVE_FROM, now)
    db.flush()
    advice = advise(db, february, now)
    published = publish_advice(
        db, february.small.district, [advice[february.quiet]], now + timedelta(days=1), now
    )
    assert [(p.version.code, p.version.version, p.forked_from) for p in published] == [("quiet", 2, None)]
    assert quiet_road.tariff_code == "quiet"


def test_publishing_only_some_roads_leaves_the_others(
    db: Session, february: February, clock: FixedClock
) -> None:
    now = clock.now()
    advice = list(advise(db, february, now).values())
    published = publish_advice(
        db, february.small.district, advice, now + timedelta(days=1), now, [february.quiet]
    )
    assert [p.road.uuid for p in published] == [february.quiet]
    assert february.small.roads[0].tariff_code == "standard"
