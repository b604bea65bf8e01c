"""Pricing ended stays: once each, again when a late event changes a stay, by the tariff
version in force when the stay started; publishing rules for later versions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from billing.models import DUE, FREE, REVIEW, StayFee, TariffVersion
from billing.tariffs import TariffInPastError, price_ended_stays, publish_tariff
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from fixtures.tariffs import DEMO_EFFECTIVE_FROM, STANDARD
from parking.clock import FixedClock
from parking.models import Stay
from sensors.intake import ingest_batch
from tests.support.stays import add_stay

MAX_SKEW = timedelta(seconds=120)
ELECTRIC_PLATE = "贵AD12345"  # eight characters: a new-energy (green) plate
PLATE = "贵A12345"


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    small = build_small_district(db, clock.now())
    publish_tariff(db, small.district, "standard", STANDARD, DEMO_EFFECTIVE_FROM, clock.now())
    return small


def local(text: str) -> datetime:
    """A Testville (Asia/Shanghai) wall time."""
    return datetime.fromisoformat(text + "+08:00")


def fee_of(db: Session, stay: Stay) -> StayFee:
    db.expire_all()
    found = db.get(StayFee, stay.id)
    assert found is not None, "the stay has no fee"
    return found


def test_ended_stays_are_priced_once(db: Session, town: SmallDistrict, clock: FixedClock) -> None:
    bay = town.bay("T1-1")
    # free until 08:15, then 08:15 and 08:45 by day, tier 0: 2 x 240
    ended = add_stay(db, bay, local("2026-03-02T08:00"), local("2026-03-02T09:00"))
    short = add_stay(db, town.bay("T1-2"), local("2026-03-02T08:00"), local("2026-03-02T08:10"))
    add_stay(db, town.bay("T1-3"), local("2026-03-02T09:00"), None)
    assert price_ended_stays(db, town.district, clock.now()) == 2
    assert price_ended_stays(db, town.district, clock.now()) == 0
    fee = fee_of(db, ended)
    assert (fee.amount, fee.currency, fee.status, fee.paid, fee.vehicle_class) == (480, "CNY", DUE, 0, None)
    assert fee.due_by == local("2026-03-03T09:00")
    assert fee.breakdown["tariff"] == "standard" and fee.breakdown["version"] == 1
    assert [(x["band"], x["increments"], x["amount"]) for x in fee.breakdown["lines"]] == [("日间", 2, 480)]
    assert (fee_of(db, short).amount, fee_of(db, short).status) == (0, FREE)


def test_a_stay_that_changed_since_it_was_priced_is_priced_again(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    stay = add_stay(db, town.bay("T1-1"), local("2026-03-02T08:00"), local("2026-03-02T09:00"))
    price_ended_stays(db, town.district, clock.now())
    stay.ended_at = local("2026-03-02T09:16")  # a third increment, begun at 09:15
    stay.updated_at = clock.now()
    db.flush()
    assert price_ended_stays(db, town.district, clock.now()) == 1
    assert fee_of(db, stay).amount == 720
    assert price_ended_stays(db, town.district, clock.now()) == 0


def test_a_late_event_that_moves_the_end_of_a_stay_reprices_it(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    bay, stake = town.bay("T1-1"), town.stake_a
    start = cds_event(stake, bay, "park_start", local("2026-03-02T07:30"), plate=PLATE, confidence=90)
    # another vehicle's arrival ends the first stay at 09:30, implicitly
    other = cds_event(stake, bay, "park_start", local("2026-03-02T09:30"), plate="贵A99999", confidence=90)
    ingest_batch(db, stake.device, [start, other], clock.now(), MAX_SKEW)
    assert price_ended_stays(db, town.district, clock.now()) == 1
    stay = db.scalars(select(Stay).where(Stay.plate == PLATE)).one()
    # 07:45 night (free, to 08:45); 08:45 and 09:15 by day, tier 0
    assert fee_of(db, stay).amount == 480
    clock.advance(timedelta(minutes=1))
    late_end = cds_event(stake, bay, "park_end", local("2026-03-02T08:50"), plate=PLATE, confidence=90)
    ingest_batch(db, stake.device, [late_end], clock.now(), MAX_SKEW)
    db.expire_all()
    assert db.get(Stay, stay.id).ended_at == local("2026-03-02T08:50")  # type: ignore[union-attr]
    assert price_ended_stays(db, town.district, clock.now()) == 1
    assert fee_of(db, stay).amount == 240


def test_a_stay_re_derived_into_ten_times_its_fee_is_held_for_review_not_charged(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    stay = add_stay(db, town.bay("T1-1"), local("2026-03-02T08:00"), local("2026-03-02T08:30"))
    price_ended_stays(db, town.district, clock.now())
    assert (fee_of(db, stay).amount, fee_of(db, stay).status) == (240, DUE)
    stay.started_at = local("2026-02-27T08:00")  # a late start stretched it over days (M5)
    stay.updated_at = clock.now()
    db.flush()

    assert price_ended_stays(db, town.district, clock.now()) == 1

    fee = fee_of(db, stay)
    assert fee.amount >= 10 * 240 and fee.status == REVIEW
    assert price_ended_stays(db, town.district, clock.now()) == 0


def test_a_stay_re_derived_into_less_than_ten_times_its_fee_is_re_priced_as_due(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    stay = add_stay(db, town.bay("T1-1"), local("2026-03-02T08:00"), local("2026-03-02T08:30"))
    price_ended_stays(db, town.district, clock.now())
    stay.ended_at, stay.updated_at = local("2026-03-02T09:30"), clock.now()
    db.flush()

    price_ended_stays(db, town.district, clock.now())

    assert (fee_of(db, stay).amount, fee_of(db, stay).status) == (720, DUE)


def test_a_stay_is_priced_by_the_version_in_force_when_it_started(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    dearer: dict[str, Any] = {**STANDARD, "free_minutes": 0}
    v2 = publish_tariff(db, town.district, "standard", dearer, local("2026-03-02T11:00"), clock.now())
    across = add_stay(db, town.bay("T1-1"), local("2026-03-02T10:30"), local("2026-03-02T11:30"))
    after = add_stay(db, town.bay("T1-2"), local("2026-03-02T11:00"), local("2026-03-02T12:00"))
    assert price_ended_stays(db, town.district, clock.now()) == 2
    v1_fee, v2_fee = fee_of(db, across), fee_of(db, after)
    v1 = db.scalars(select(TariffVersion).where(TariffVersion.version == 1)).one()
    assert (v1_fee.tariff_version_id, v1_fee.breakdown["version"], v1_fee.amount) == (v1.id, 1, 480)
    assert (v2_fee.tariff_version_id, v2_fee.breakdown["version"], v2_fee.amount) == (v2.id, 2, 480)
    assert v2_fee.breakdown["free_minutes"] == 0 and v1_fee.breakdown["free_minutes"] == 15


def test_a_later_version_may_not_take_effect_in_the_past(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    with pytest.raises(TariffInPastError) as raised:
        publish_tariff(
            db, town.district, "standard", STANDARD, clock.now() - timedelta(seconds=1), clock.now()
        )
    assert raised.value.code == "tariff_in_past"


def test_a_later_version_may_not_take_effect_before_the_current_one(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    publish_tariff(db, town.district, "standard", STANDARD, clock.now() + timedelta(hours=2), clock.now())
    for hours in (1, 2):
        with pytest.raises(TariffInPastError):
            publish_tariff(
                db, town.district, "standard", STANDARD, clock.now() + timedelta(hours=hours), clock.now()
            )
    v3 = publish_tariff(
        db, town.district, "standard", STANDARD, clock.now() + timedelta(hours=3), clock.now()
    )
    assert v3.version == 3


def test_the_first_version_of_another_tariff_may_start_in_the_past(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    version = publish_tariff(db, town.district, "core", STANDARD, DEMO_EFFECTIVE_FROM, clock.now())
    assert version.version == 1


def test_a_new_energy_plate_pays_the_electric_share(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    stay = add_stay(
        db, town.bay("T1-1"), local("2026-03-02T08:00"), local("2026-03-02T09:00"), plate=ELECTRIC_PLATE
    )
    price_ended_stays(db, town.district, clock.now())
    fee = fee_of(db, stay)
    assert (fee.vehicle_class, fee.amount, fee.breakdown["percent"]) == ("electric", 240, 50)


def test_a_stay_on_a_road_without_a_tariff_is_left_unpriced(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    town.roads[1].tariff_code = "nothing"
    stay = add_stay(db, town.bay("T2-1"), local("2026-03-02T08:00"), local("2026-03-02T09:00"))
    assert price_ended_stays(db, town.district, clock.now()) == 0
    assert db.get(StayFee, stay.id) is None


@pytest.fixture
def row_names_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The columns read from query rows by attribute name. Each such read first asks whether
    Row's class has an attribute of that name, and the miss builds and drops an AttributeError:
    at a dozen reads a stay that was a seventh of the price-stays job's CPU."""
    read: list[str] = []
    by_name = Row.__getattribute__

    def counting(row: Row[Any], name: str) -> Any:
        if not name.startswith("_"):  # SQLAlchemy's own attributes
            read.append(name)
        return by_name(row, name)

    monkeypatch.setattr(Row, "__getattribute__", counting)
    return read


def test_pricing_ended_stays_reads_no_query_row_by_attribute_name(
    db: Session, town: SmallDistrict, clock: FixedClock, row_names_read: list[str]
) -> None:
    stays = [
        add_stay(db, town.bay(bay), local("2026-03-02T08:00"), local("2026-03-02T09:00"))
        for bay in ("T1-1", "T1-2", "T2-1")
    ]
    assert price_ended_stays(db, town.district, clock.now()) == 3
    assert row_names_read == []
    assert [fee_of(db, stay).amount for stay in stays] == [480, 480, 480]


def test_stays_never_priced_are_priced_without_reading_fee_caps(
    db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    add_stay(db, town.bay("T1-1"), local("2026-03-02T08:00"), local("2026-03-02T09:00"))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        assert price_ended_stays(db, town.district, clock.now()) == 1
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert any("INSERT INTO stay_fee " in s for s in statements)
    assert not [s for s in statements if "stay_fee_cap" in s]
