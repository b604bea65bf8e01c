"""Receipts of succeeded payments, as an HTML page and as a PDF; none for any other payment."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import PENDING, SUCCEEDED, Payment, PaymentAllocation, StayFee
from billing.tariffs import price_ended_stays, publish_tariff
from billing.wording import Wording
from fixtures.builders import SmallDistrict, build_small_district
from fixtures.tariffs import STANDARD
from parking.clock import FixedClock
from parking.models import Stay
from reports.receipt_pdf import ReceiptFontMissingError, receipt_pdf
from reports.receipts import receipt_for
from tests.support.stays import add_stay

CHINESE_ROAD = "剑山路"


@dataclass
class Paid:
    small: SmallDistrict
    payment: Payment
    stays: list[Stay]
    fees: list[StayFee]


def add_payment(
    db: Session,
    small: SmallDistrict,
    stays: list[Stay],
    now: datetime,
    status: str = SUCCEEDED,
    **extra: object,
) -> Payment:
    """A payment of the stays' whole fees (their StayFee rows must exist)."""
    fees = [db.get_one(StayFee, stay.id) for stay in stays]
    payment = Payment(
        district_id=small.district.id,
        plate=stays[0].plate,
        channel=str(extra.pop("channel", "plate")),
        method=str(extra.pop("method", "credit_card")),
        amount=sum(f.amount for f in fees),
        currency="CNY",
        status=status,
        idempotency_key=str(uuid.uuid4()),
        created_at=now,
        updated_at=now,
        **extra,
    )
    db.add(payment)
    db.flush()
    for fee in fees:
        db.add(PaymentAllocation(payment_id=payment.id, stay_id=fee.stay_id, amount=fee.amount))
        if status == SUCCEEDED:
            fee.paid, fee.status = fee.amount, "paid"
    db.flush()
    return payment


@pytest.fixture
def paid(db: Session, clock: FixedClock) -> Paid:
    now = clock.now()  # 10:00 in Asia/Shanghai
    small = build_small_district(db, now - timedelta(days=90))
    small.roads[0].name = CHINESE_ROAD
    publish_tariff(
        db, small.district, "standard", STANDARD, now - timedelta(days=60), now - timedelta(days=60)
    )
    stays = [
        add_stay(
            db,
            small.bay("T1-1"),
            now - timedelta(hours=3, minutes=30),
            now - timedelta(minutes=30),
            ended_by="event",
        ),
        add_stay(
            db, small.bay("T2-1"), now - timedelta(hours=2), now - timedelta(minutes=45), ended_by="event"
        ),
    ]
    price_ended_stays(db, small.district, now)
    payment = add_payment(db, small, stays, now, device_id=small.pos.device.id, attendant="Li Wei")
    db.commit()
    return Paid(small, payment, stays, [db.get_one(StayFee, s.id) for s in stays])


def test_the_receipt_lists_each_stay_in_local_time_with_its_fee_breakdown(db: Session, paid: Paid) -> None:
    receipt = receipt_for(db, paid.payment.uuid)

    first = receipt.stays[0]
    assert receipt.amount == sum(f.amount for f in paid.fees) > 0
    assert receipt.pos_device == "POS-1" and receipt.attendant == "Li Wei"
    assert receipt.paid_at.isoformat() == "2026-03-02T10:00:00+08:00"
    assert (first.bay, first.road) == ("T1-1", CHINESE_ROAD)
    assert first.entered_at is not None and first.entered_at.strftime("%H:%M") == "06:30"
    assert first.duration_text == "3 h 00 min"
    assert first.fee == paid.fees[0].amount == sum(line.amount for line in first.lines)
    assert first.event_ids == tuple(paid.stays[0].event_ids)


def test_the_receipt_page_shows_bays_roads_times_breakdown_and_events(
    client: FlaskClient, paid: Paid
) -> None:
    response = client.get(f"/receipts/{paid.payment.uuid}")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for text in ("T1-1", "T2-1", CHINESE_ROAD, "Zhaohui Road", "March 2, 2026 06:30", "March 2, 2026 09:30"):
        assert text in html
    assert "POS-1" in html and "Li Wei" in html
    assert Wording().money(paid.payment.amount, "CNY") in html
    first_line = paid.fees[0].breakdown["lines"][0]
    assert f"{first_line['increments']} × {first_line['increment_minutes']} min" in html
    for stay in paid.stays:
        for event_id in stay.event_ids:
            assert event_id in html
    assert "http://" not in html and "https://" not in html  # nothing is fetched from elsewhere


def test_the_receipt_page_cannot_be_framed_or_sniffed(client: FlaskClient, paid: Paid) -> None:
    response = client.get(f"/receipts/{paid.payment.uuid}")

    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_stay_re_derived_away_still_shows_on_the_receipt(
    client: FlaskClient, db: Session, paid: Paid
) -> None:
    db.delete(paid.stays[1])
    db.commit()

    html = client.get(f"/receipts/{paid.payment.uuid}").get_data(as_text=True)

    assert "no longer exists" in html
    assert "T1-1" in html and "T2-1" not in html


def test_the_receipt_pdf_has_one_page_with_the_receipts_text(client: FlaskClient, paid: Paid) -> None:
    response = client.get(f"/receipts/{paid.payment.uuid}.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in (CHINESE_ROAD, "T1-1", "T2-1", Wording().money(paid.payment.amount, "CNY"), "Page 1/1"):
        assert expected in text
    assert paid.stays[0].event_ids[0] in text.replace("\n", "")


def test_a_chinese_districts_receipt_pdf_is_in_chinese_with_extractable_characters(
    client: FlaskClient, db: Session, paid: Paid
) -> None:
    paid.small.district.default_locale = "zh_Hans_CN"
    db.commit()

    response = client.get(f"/receipts/{paid.payment.uuid}.pdf")

    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    amount = paid.payment.amount
    for expected in (
        "Testville — 停车收费凭证",
        "缴费时间 2026年3月2日 10:00",
        "渠道 按车牌缴费 · 方式 信用卡 · 状态 成功",
        "手持终端 POS-1 · 收费员 Li Wei",
        f"金额 ¥{amount // 100}.{amount % 100:02d}",
        f"第1次停车：泊位 T1-1，{CHINESE_ROAD}",
        "停车时长 3小时00分钟",
        "页 1/1",
    ):
        assert expected in text


def test_a_chinese_districts_receipt_page_is_chinese_unless_the_reader_asks_for_english(
    client: FlaskClient, db: Session, paid: Paid
) -> None:
    paid.small.district.default_locale = "zh_Hans_CN"
    db.commit()

    chinese = client.get(f"/receipts/{paid.payment.uuid}").get_data(as_text=True)
    english = client.get(f"/receipts/{paid.payment.uuid}?lang=en").get_data(as_text=True)
    by_browser = client.get(
        f"/receipts/{paid.payment.uuid}", headers={"Accept-Language": "en-US,en;q=0.8"}
    ).get_data(as_text=True)

    assert '<html lang="zh-CN">' in chinese and "停车收费凭证" in chinese and "2026年3月2日 06:30" in chinese
    assert "收费员" in chinese and "Parking receipt" not in chinese
    assert "Parking receipt" in english and "停车收费凭证" not in english
    assert "Parking receipt" in by_browser


def test_a_receipt_of_many_stays_flows_onto_more_pages(db: Session, clock: FixedClock, paid: Paid) -> None:
    now = clock.now()
    stays = [
        add_stay(
            db,
            paid.small.bay("T1-2"),
            now - timedelta(days=d, hours=2),
            now - timedelta(days=d, hours=1),
            ended_by="event",
        )
        for d in range(1, 25)
    ]
    price_ended_stays(db, paid.small.district, now)
    payment = add_payment(db, paid.small, stays, now)

    reader = PdfReader(io.BytesIO(receipt_pdf(receipt_for(db, payment.uuid))))

    pages = len(reader.pages)
    assert pages > 1
    assert f"Page {pages}/{pages}" in reader.pages[-1].extract_text()
    assert all("T1-2" in page.extract_text() for page in reader.pages)


def test_a_missing_font_fails_naming_the_debian_package(db: Session, paid: Paid) -> None:
    with pytest.raises(ReceiptFontMissingError, match="fonts-droid-fallback"):
        receipt_pdf(receipt_for(db, paid.payment.uuid), Path("/nonexistent/DroidSansFallbackFull.ttf"))


@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_unknown_and_unpaid_payments_have_no_receipt(
    client: FlaskClient, db: Session, clock: FixedClock, paid: Paid, suffix: str
) -> None:
    stay = add_stay(
        db, paid.small.bay("T1-3"), clock.now() - timedelta(hours=2), clock.now(), ended_by="event"
    )
    price_ended_stays(db, paid.small.district, clock.now())
    pending = add_payment(db, paid.small, [stay], clock.now(), status=PENDING)
    db.commit()

    for payment_id in (str(uuid.uuid4()), pending.uuid):
        response = client.get(f"/receipts/{payment_id}{suffix}")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "no_receipt"
    assert db.scalar(select(Payment.status).where(Payment.uuid == pending.uuid)) == PENDING
