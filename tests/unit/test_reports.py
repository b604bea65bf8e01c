"""The bureau report (docs/REPORTS.md) on a hand-computed Testville: every figure of the day
2026-03-01 and of the day before it, plus the pure folds behind them.

The fixture needs stays, fees, payments, violations, tasks and comms events in tables, so it
uses the rolled-back test database; the folds themselves are tested without one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from billing.models import Payment, PaymentAllocation, StayFee
from billing.tariffs import publish_tariff
from enforcement.models import Citation, Task, Violation
from fixtures.builders import SmallDistrict, build_small_district
from parking.models import Stay
from reports.figures import ageing_bins, channel_mix, dwell_bins, percentile
from reports.periods import BadPeriodError, PeriodInFutureError, period_of, previous_period, require_started
from reports.places import UnknownPlaceError, find_place
from reports.problems import top_problems
from reports.summary import Report, summary_report
from sensors.models import CurbEvent
from tests.conftest import TEST_NOW
from tests.support.stays import add_stay

SHANGHAI = ZoneInfo("Asia/Shanghai")
BUILT = datetime(2026, 2, 1, tzinfo=UTC)
TARIFF = {
    "name": "flat",
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


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A local time in Testville (Asia/Shanghai), as aware UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Town:
    small: SmallDistrict
    stays: dict[str, Stay]


def add_fee(
    db: Session, town: Town, stay: str, amount: int, paid: int, status: str, since: datetime | None = None
) -> None:
    s = town.stays[stay]
    assert s.ended_at is not None
    db.add(
        StayFee(
            stay_id=s.id, district_id=s.district_id, plate=s.plate, tariff_version_id=town_version(db, town),
            amount=amount, currency="CNY", breakdown={}, paid=paid, status=status, due_by=s.ended_at + timedelta(days=1),
            arrears_since=since, stay_updated_at=s.updated_at, priced_at=s.ended_at,
        )
    )  # fmt: skip


def town_version(db: Session, town: Town) -> int:
    from sqlalchemy import select

    from billing.models import TariffVersion

    found = db.scalar(select(TariffVersion.id).where(TariffVersion.district_id == town.small.district.id))
    assert found is not None
    return found


def add_payment(
    db: Session, town: Town, channel: str, method: str, amount: int, created: datetime, **more: Any
) -> Payment:
    payment = Payment(
        district_id=town.small.district.id, channel=channel, method=method, amount=amount, currency="CNY",
        status=more.pop("status", "succeeded"), refunded=more.pop("refunded", 0), idempotency_key=str(uuid.uuid4()),
        created_at=created, updated_at=created,
    )  # fmt: skip
    db.add(payment)
    db.flush()
    if "stay" in more:
        db.add(PaymentAllocation(payment_id=payment.id, stay_id=town.stays[more["stay"]].id, amount=amount))
    return payment


def add_violation(
    db: Session, town: Town, stay: str, rule: str, started: datetime, ended: datetime | None = None
) -> Violation:
    s = town.stays[stay]
    violation = Violation(
        district_id=s.district_id, rule=rule, stay_id=s.id, bay_id=s.bay_id, road_id=s.road_id, plate=s.plate,
        stay_started_at=s.started_at, started_at=started, detected_at=started, ended_at=ended, evidence={},
    )  # fmt: skip
    db.add(violation)
    db.flush()
    return violation


def add_task(db: Session, town: Town, team: str, road: int, created: datetime, status: str,
             taken: int | None = None, resolved: int | None = None) -> None:  # fmt: skip
    """`taken` and `resolved` in minutes after creation."""
    db.add(
        Task(
            district_id=town.small.district.id, key=str(uuid.uuid4()), team=team, kind="check", details={},
            road_id=town.small.roads[road - 1].id, status=status, created_at=created,
            taken_at=None if taken is None else created + timedelta(minutes=taken),
            resolved_at=None if resolved is None else created + timedelta(minutes=resolved),
        )
    )  # fmt: skip


def comms(db: Session, town: Town, device: Any, kind: str, when: datetime) -> None:
    db.add(
        CurbEvent(
            district_id=town.small.district.id, event_id=str(uuid.uuid4()), event_type=kind, event_time=when,
            received_at=when, device_id=device.device.id, data_source_type="camera",
        )
    )  # fmt: skip


@pytest.fixture
def town(db: Session) -> Town:
    """Testville, four bays in service (T1-1, T1-2 on road 1; T2-1, T2-2 on road 2):
    - 03-01: S1 T1-1 08:00-10:00, S2 T1-2 09:00-09:30, S3 T2-1 14:00-15:00, S4 T2-2 23:30-00:30;
    - 02-28: P1 T1-1 10:00-10:20, P2 T2-1 22:00-02:00 (into 03-01);
    - old arrears: O1 (in arrears since 01-11 10:00, 500 owed), O2 (since 02-25 12:00, 200);
    - stake A and the data feed lost 03-01 12:00-13:00, so road 1 was unwatched then."""
    small = build_small_district(db, BUILT)
    publish_tariff(db, small.district, "standard", TARIFF, BUILT, BUILT)
    for bay in small.bays[:2] + small.bays[4:6]:
        bay.last_event_at = BUILT
    spans = {
        "S1": ("T1-1", at(1, 8), at(1, 10)), "S2": ("T1-2", at(1, 9), at(1, 9, 30)),
        "S3": ("T2-1", at(1, 14), at(1, 15)), "S4": ("T2-2", at(1, 23, 30), at(2, 0, 30)),
        "P1": ("T1-1", at(28, 10, month=2), at(28, 10, 20, month=2)),
        "P2": ("T2-1", at(28, 22, month=2), at(1, 2)),
        "O1": ("T1-3", at(10, 9, month=1), at(10, 10, month=1)),
        "O2": ("T1-3", at(24, 9, month=2), at(24, 10, month=2)),
    }  # fmt: skip
    t = Town(small, {name: add_stay(db, small.bay(span[0]), *span[1:]) for name, span in spans.items()})
    add_fee(db, t, "S1", 600, 600, "paid")
    add_fee(db, t, "S2", 0, 0, "free")
    add_fee(db, t, "S3", 300, 100, "due")
    add_fee(db, t, "P2", 1200, 0, "arrears", at(2, 2))
    add_fee(db, t, "P1", 150, 150, "paid")
    add_fee(db, t, "O1", 500, 0, "arrears", at(11, 10, month=1))
    add_fee(db, t, "O2", 250, 50, "arrears", at(25, 12, month=2))
    add_payment(db, t, "auto", "card", 600, at(1, 10, 5), stay="S1")
    add_payment(db, t, "pos", "cash", 100, at(1, 14, 50), stay="S3")
    add_payment(db, t, "plate", "card", 500, at(1, 16), refunded=100)
    add_payment(db, t, "auto", "card", 300, at(1, 17), status="declined")
    add_payment(db, t, "pos", "digital_wallet", 150, at(28, 10, 15, month=2), stay="P1")
    v1 = add_violation(db, t, "S1", "overstay", at(1, 9, 40))
    v2 = add_violation(db, t, "S3", "restriction", at(1, 14, 10))
    add_violation(db, t, "S2", "overstay", at(1, 11), at(1, 10, 59))  # withdrawn
    add_violation(db, t, "P2", "unregistered", at(28, 22, 10, month=2))
    for violation, amount, status, issued in (
        (v1, 5000, "issued", at(1, 10)),
        (v2, 20000, "voided", at(1, 14, 30)),
    ):
        db.add(
            Citation(
                district_id=small.district.id, violation_id=violation.id, amount=amount, currency="CNY",
                status=status, issued_by="w1", issued_at=issued, updated_at=issued,
            )
        )  # fmt: skip
    add_task(db, t, "warden", 1, at(1, 9, 41), "resolved", taken=10, resolved=30)
    add_task(db, t, "warden", 2, at(1, 14, 11), "taken", taken=30)
    add_task(db, t, "warden", 2, at(1, 15), "cancelled", resolved=30)
    add_task(db, t, "police", 2, at(1, 14, 10), "resolved", taken=5, resolved=30)
    add_task(db, t, "attendant", 2, at(28, 22, 10, month=2), "resolved", taken=10, resolved=20)
    for device in (small.stake_a, small.feed):
        comms(db, t, device, "comms_lost", at(1, 12))
        comms(db, t, device, "comms_restored", at(1, 13))
    db.flush()
    return t


def report(db: Session, town: Town, kind: str = "district", place_id: str | None = None) -> Report:
    district = town.small.district
    place = find_place(db, district, kind, place_id)
    return summary_report(db, district, place, period_of("day", date(2026, 3, 1), SHANGHAI), TEST_NOW)


def test_occupancy_is_watched_occupied_bay_seconds_over_watched_bay_seconds(db: Session, town: Town) -> None:
    out = report(db, town)
    # occupied: S1 7200 + S2 1800 + S3 3600 + S4 1800 (to midnight) + P2 7200 (from midnight)
    # watched: 4 bays x 86400 - road 1's two bays unwatched 12:00-13:00
    assert out.current.occupancy.mean_percent == round(100 * 21600 / (4 * 86400 - 7200), 2) == 6.38
    assert out.previous.occupancy.mean_percent == round(100 * (1200 + 7200) / (4 * 86400), 2) == 2.43
    assert out.current.occupancy.peak_hours == [(9, 37.5), (0, 25.0), (1, 25.0)]
    assert out.previous.occupancy.peak_hours == [(22, 25.0), (23, 25.0), (10, 8.33)]
    series = {b.label: (b.occupancy_percent, b.stays) for b in out.current.occupancy.series}
    assert len(series) == 24
    assert series["2026-03-01T09:00"] == (37.5, 1)
    assert series["2026-03-01T12:00"] == (0.0, 0)  # half unwatched: still reported
    assert series["2026-03-01T23:00"] == (12.5, 1)


def test_a_running_period_is_reported_up_to_the_last_whole_hour(db: Session, town: Town) -> None:
    district = town.small.district
    place = find_place(db, district, "district", None)
    today = summary_report(db, district, place, period_of("day", date(2026, 3, 2), SHANGHAI), TEST_NOW)

    # 00:00-10:00 of 03-02: only S4's last half hour, over 4 bays x 10 hours
    assert today.current.occupancy.mean_percent == round(100 * 1800 / (4 * 36000), 2) == 1.25
    assert len(today.current.occupancy.series) == 10
    assert today.previous.occupancy.mean_percent == 6.38


def test_stays_turnover_and_dwell_count_the_stays_that_started_in_the_period(db: Session, town: Town) -> None:
    current, previous = report(db, town).current.stays, report(db, town).previous.stays

    assert (current.count, current.ended, current.bays_in_service) == (4, 4, 4)
    assert current.turnover_per_bay_per_day == 1.0
    assert (current.dwell_mean_minutes, current.dwell_median_minutes) == (67.5, 60.0)
    assert [n for _, _, n in current.dwell_bins] == [0, 0, 1, 2, 1, 0]  # 30 | 60, 60 | 120
    assert (previous.count, previous.turnover_per_bay_per_day) == (2, 0.5)
    assert (previous.dwell_mean_minutes, previous.dwell_median_minutes) == (130.0, 130.0)
    assert [n for _, _, n in previous.dwell_bins] == [0, 1, 0, 0, 0, 1]


def test_revenue_bills_stays_that_ended_and_collects_payments_taken_in_the_period(
    db: Session, town: Town
) -> None:
    out = report(db, town)
    current, previous = out.current.revenue, out.previous.revenue

    # S1 600 paid, S2 free, S3 300 (100 paid), P2 1200 in arrears: all ended on 03-01
    assert (current.fees, current.billed, current.paid, current.outstanding) == (4, 2100, 700, 1400)
    assert current.collection_rate == 0.3333
    assert (current.collected, current.refunded) == (1200, 100)  # the declined one is not money
    assert current.channels == [
        ("auto", 1, 600), ("plate", 1, 500), ("pos_cash", 1, 100), ("pos_qr", 0, 0), ("account", 0, 0)
    ]  # fmt: skip
    assert (previous.fees, previous.billed, previous.paid, previous.outstanding) == (1, 150, 150, 0)
    assert previous.collection_rate == 1.0
    assert previous.channels[3] == ("pos_qr", 1, 150)


def test_arrears_are_aged_in_whole_days_at_the_end_of_the_period(db: Session, town: Town) -> None:
    out = report(db, town)

    # O2 since 02-25 12:00: 4 days at 03-02 00:00, 3 at 03-01; O1 since 01-11: 49 and 48 days.
    # P2 went into arrears on 03-02 02:00, after both period ends.
    assert out.current.revenue.arrears_ageing == [
        (0, 7, 1, 200),
        (8, 30, 0, 0),
        (31, 90, 1, 500),
        (91, None, 0, 0),
    ]
    assert out.previous.revenue.arrears_ageing == out.current.revenue.arrears_ageing


def test_violations_citations_and_response_times(db: Session, town: Town) -> None:
    out = report(db, town)

    assert out.current.violations == [
        ("overstay", 1),
        ("restriction", 1),
        ("unregistered", 0),
        ("obstruction", 0),
    ]
    assert out.previous.violations[2] == ("unregistered", 1)
    assert out.current.citations[:2] == [("overstay", 1, 0, 5000), ("restriction", 1, 1, 0)]
    assert all(c[1:] == (0, 0, 0) for c in out.previous.citations)
    teams = {r.team: r for r in out.current.responses}
    warden = teams["warden"]
    assert (warden.created, warden.taken, warden.resolved) == (3, 2, 1)  # the cancelled one is not resolved
    assert (warden.take_median_s, warden.take_p90_s) == (1200.0, 1680.0)  # 600 s and 1800 s
    assert (warden.resolve_median_s, warden.resolve_p90_s) == (1800.0, 1800.0)
    assert (teams["police"].take_median_s, teams["police"].resolve_p90_s) == (300.0, 1800.0)
    previous = {r.team: r for r in out.previous.responses}
    assert (previous["attendant"].take_median_s, previous["attendant"].resolve_median_s) == (600.0, 1200.0)


def test_device_uptime_per_kind_comes_from_the_outages_in_the_log(db: Session, town: Town) -> None:
    out = report(db, town)

    assert out.current.devices == [
        ("data_feed", 1, 1, 3600.0, round(100 * (1 - 3600 / 86400), 2)),
        ("handheld_pos", 1, 0, 0.0, 100.0),
        ("video_stake", 2, 1, 3600.0, round(100 * (1 - 3600 / (2 * 86400)), 2)),
    ]
    assert [d[4] for d in out.previous.devices] == [100.0, 100.0, 100.0]


def test_a_road_report_reads_only_that_road(db: Session, town: Town) -> None:
    out = report(db, town, "road", town.small.roads[1].uuid)
    current = out.current

    assert current.occupancy.mean_percent == round(100 * (3600 + 1800 + 7200) / (2 * 86400), 2)
    assert (current.stays.count, current.stays.bays_in_service) == (2, 2)
    assert (current.revenue.billed, current.revenue.paid, current.revenue.outstanding) == (1500, 100, 1400)
    assert (current.revenue.collected, current.revenue.refunded) == (100, 0)  # allocated to its stays
    assert current.violations[:2] == [("overstay", 0), ("restriction", 1)]
    assert [(d[0], d[1], d[4]) for d in current.devices] == [
        ("data_feed", 1, 95.83),
        ("video_stake", 1, 100.0),
    ]
    warden = next(r for r in current.responses if r.team == "warden")
    assert (warden.created, warden.taken, warden.take_median_s) == (2, 1, 1800.0)


def test_top_problems_rank_the_roads(db: Session, town: Town) -> None:
    problems = top_problems(db, town.small.district, period_of("day", date(2026, 3, 1), SHANGHAI), TEST_NOW)
    road1, road2 = town.small.roads

    assert [(r.name, r.violations) for r in problems.most_violations] == [(road1.name, 1), (road2.name, 1)]
    assert [(r.name, r.collection_rate) for r in problems.lowest_collection_rate] == [
        (road2.name, round(100 / 1500, 4)), (road1.name, 1.0)
    ]  # fmt: skip
    assert [r.name for r in problems.highest_occupancy] == [road2.name, road1.name]


def test_unknown_places_and_bad_periods_are_refused(db: Session, town: Town) -> None:
    with pytest.raises(UnknownPlaceError):
        find_place(db, town.small.district, "road", str(uuid.uuid4()))
    with pytest.raises(BadPeriodError):
        period_of("week", date(2026, 3, 3), SHANGHAI)  # a Tuesday
    with pytest.raises(BadPeriodError):
        period_of("month", date(2026, 3, 2), SHANGHAI)
    with pytest.raises(PeriodInFutureError):
        require_started(period_of("day", date(2026, 3, 3), SHANGHAI), TEST_NOW)


def test_periods_are_local_and_the_previous_one_ends_where_the_period_starts() -> None:
    month = period_of("month", date(2026, 3, 1), SHANGHAI)
    before = previous_period(month, SHANGHAI)
    week = period_of("week", date(2026, 3, 2), SHANGHAI)

    assert (month.start, month.end, month.days) == (at(1, 0), at(1, 0, month=4), 31)
    assert (before.first, before.last, before.end) == (date(2026, 2, 1), date(2026, 2, 28), month.start)
    assert previous_period(week, SHANGHAI).first == date(2026, 2, 23)
    assert period_of("month", date(2026, 12, 1), SHANGHAI).last == date(2026, 12, 31)


def test_the_folds() -> None:
    assert percentile([600, 1800], 50) == 1200
    assert percentile([600, 1800], 90) == 1680
    assert percentile([5], 90) == 5
    assert percentile([], 50) is None
    assert [n for *_, n in dwell_bins([0, 14.9 * 60, 15 * 60, 240 * 60])] == [2, 1, 0, 0, 0, 1]
    now = datetime(2026, 3, 1, tzinfo=UTC)
    aged = ageing_bins(
        [(now - timedelta(days=7, hours=23), 1), (now - timedelta(days=8), 2), (now - timedelta(days=91), 4)],
        now,
    )
    assert aged == [(0, 7, 1, 1), (8, 30, 1, 2), (31, 90, 0, 0), (91, None, 1, 4)]
    assert channel_mix([("pos", "cash", 1, 5), ("pos", "digital_wallet", 2, 7), ("other", "x", 1, 1)])[2:] == [
        ("pos_cash", 1, 5), ("pos_qr", 2, 7), ("account", 0, 0), ("other", 1, 1)
    ]  # fmt: skip
