"""The open-data feed: road-hour occupancy blurred so no vehicle can be followed, the tariffs
in plain terms, problem+json errors."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district
from fixtures.tariffs import publish_demo_tariffs
from parking.clock import FixedClock
from parking.metrics import OFFLINE
from parking.models import Stay
from parking.open_data import BlurRule, blur, round_percent
from sensors.services import fit_district_forecast
from tests.support.http import get_ok
from tests.support.stays import add_stay

OPEN = "/open/testville"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def yesterday(hour: int, minute: int = 0) -> datetime:
    """2026-03-01 in Testville; the test clock stands at 2026-03-02 10:00 there."""
    return datetime(2026, 3, 1, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Town:
    small: SmallDistrict
    stays: list[Stay]


@pytest.fixture
def town(db: Session, clock: FixedClock) -> Town:
    """Road 1 (core tariff): at 09:00-10:00 yesterday four bays taken for half an hour and T1-1
    again for the second half (five stays, 62.5 %); at 14:00 one stay of 20 minutes.
    Road 2 (clearway tariff): nothing."""
    small = build_small_district(db, clock.now())
    small.roads[0].tariff_code, small.roads[1].tariff_code = "core", "clearway"
    publish_demo_tariffs(db, small.district, clock.now())
    for bay in small.bays:
        bay.last_event_at = yesterday(0)
    stays = [
        add_stay(db, small.bay(f"T1-{n}"), yesterday(9), yesterday(9, 30), f"贵A1234{n}") for n in range(1, 5)
    ]
    stays.append(add_stay(db, small.bay("T1-1"), yesterday(9, 30), yesterday(10), "贵A99999"))
    stays.append(add_stay(db, small.bay("T1-2"), yesterday(14), yesterday(14, 20), "贵B77777"))
    db.commit()
    return Town(small, stays)


def hours_of(body: dict[str, Any], road: str) -> dict[int, tuple[int | None, str]]:
    found = next(r for r in body["roads"] if r["road_id"] == road)
    return {h["hour"]: (h["occupancy_percent"], h["status"]) for h in found["hours"]}


def test_a_road_hour_with_five_stays_is_published_rounded_to_5_percent(
    client: FlaskClient, town: Town
) -> None:
    body = get_ok(client, f"{OPEN}/occupancy?date=2026-03-01")
    assert body["rules"] == {
        "min_stays_per_road_hour": 5,
        "occupancy_rounded_to_percent": 5,
        "delay_minutes": 60,
    }
    road = hours_of(body, town.small.roads[0].uuid)
    assert len(road) == 24
    assert road[9] == (65, "ok")  # 62.5 % rounds half up to 65


def test_a_road_hour_with_one_stay_is_suppressed(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{OPEN}/occupancy?date=2026-03-01")
    road = hours_of(body, town.small.roads[0].uuid)
    assert road[14] == (None, "suppressed")
    assert road[10] == (None, "suppressed")  # nothing there: as blurred as one stay
    assert set(hours_of(body, town.small.roads[1].uuid).values()) == {(None, "suppressed")}


def test_no_field_can_identify_a_vehicle_a_stay_or_a_bay(client: FlaskClient, town: Town) -> None:
    texts = [
        client.get(f"{OPEN}/occupancy?date=2026-03-01").get_data(as_text=True),
        client.get(f"{OPEN}/occupancy?date=2026-03-01&format=csv").get_data(as_text=True),
    ]
    secrets = (
        [s.plate for s in town.stays] + [s.uuid for s in town.stays] + [s.start_event_id for s in town.stays]
    )
    secrets += [b.uuid for b in town.small.bays] + [b.name for b in town.small.bays]
    for text in texts:
        for secret in secrets:
            assert secret and secret not in text
    body = json.loads(texts[0])
    assert set(body["roads"][0]) == {"road_id", "road_name", "tariff", "hours"}
    assert set(body["roads"][0]["hours"][0]) == {"hour", "start", "occupancy_percent", "status"}


def test_no_public_answer_carries_a_plate_its_key_or_a_stay(
    client: FlaskClient, town: Town, db: Session, clock: FixedClock
) -> None:
    """Every public route (vacancy, curbs, forecast, open data, tariffs, quotes, pages) on a
    district with plated stays: no plate, no plate key, no stay or event id in any body."""
    road, bay = town.small.roads[0].uuid, town.small.bays[0].uuid
    db.commit()
    fit_district_forecast(db, town.small.district.id, clock.now())
    urls = [
        "/api/v1/testville/vacancy?lat=26.6795&lng=106.6301&radius=800",
        f"/api/v1/testville/roads/{road}/bays",
        f"/api/v1/testville/forecast?road={road}",
        "/cds/testville/curbs/zones",
        "/cds/testville/curbs/spaces",
        "/cds/testville/curbs/policies",
        "/cds/testville/curbs/areas",
        f"{OPEN}/occupancy?date=2026-03-01",
        f"{OPEN}/occupancy?date=2026-03-01&format=csv",
        f"{OPEN}/tariffs",
        "/api/v1/testville/tariffs",
        f"/api/v1/testville/quote?road={road}&arrival=2026-03-02T10:00:00%2B08:00&minutes=90",
        "/handheld/testville",
        "/handheld/testville/bays.json",
        "/drive/testville",
    ]
    secrets = [s.plate for s in town.stays] + [s.plate_key for s in town.stays]
    secrets += [s.uuid for s in town.stays] + [s.start_event_id for s in town.stays]
    assert all(secrets)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        text = response.get_data(as_text=True)
        assert not [secret for secret in secrets if secret in text], url
    assert bay in client.get("/cds/testville/curbs/spaces").get_data(
        as_text=True
    )  # the walk reads real bodies


def test_the_feed_is_the_same_whether_or_not_plates_exist(
    client: FlaskClient, town: Town, db: Session
) -> None:
    urls = [f"{OPEN}/occupancy?date=2026-03-01", f"{OPEN}/occupancy?date=2026-03-01&format=csv"]
    before = [client.get(url).get_data() for url in urls]
    db.execute(update(Stay).values(plate=None))
    db.commit()
    assert db.scalars(select(Stay.plate)).all() == [None] * len(town.stays)
    assert [client.get(url).get_data() for url in urls] == before


def test_hours_appear_only_an_hour_after_they_are_over(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{OPEN}/occupancy?date=2026-03-02")  # the clock: 10:00 that day
    assert list(hours_of(body, town.small.roads[0].uuid)) == list(range(9))


def test_the_csv_has_one_line_per_road_hour_with_the_tariff_in_force(client: FlaskClient, town: Town) -> None:
    response = client.get(f"{OPEN}/occupancy?date=2026-03-01&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 48
    nine = next(r for r in rows if r["road_id"] == town.small.roads[0].uuid and r["hour"] == "9")
    assert {
        k: nine[k] for k in ("occupancy_percent", "status", "tariff_code", "band", "rate_per_minute")
    } == {
        "occupancy_percent": "65",
        "status": "ok",
        "tariff_code": "core",
        "band": "日间",
        "rate_per_minute": "10",
    }


def test_the_json_names_each_roads_tariff_and_its_bands(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{OPEN}/occupancy?date=2026-03-01")
    tariff = next(r for r in body["roads"] if r["road_id"] == town.small.roads[0].uuid)["tariff"]
    assert (tariff["code"], tariff["version"]) == ("core", 1)
    assert [(b["name"], b["windows"], b["tiers"][0]["rate_per_minute"]) for b in tariff["bands"]] == [
        ("日间", [["08:00", "20:00"]], 10),
        ("夜间", [["00:00", "08:00"], ["20:00", "24:00"]], 2),
    ]


def test_the_tariffs_in_plain_terms_are_public(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{OPEN}/tariffs")
    tariffs = {t["code"]: t for t in body["tariffs"]}
    assert set(tariffs) == {"core", "standard", "clearway"}
    assert tariffs["core"]["roads"] == ["Jianshan Road"]
    clearway = tariffs["clearway"]["versions"][0]
    assert clearway["restrictions"][0]["windows"] == [["17:00", "19:00"]]
    assert clearway["max_stay_minutes"] == 180


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        (f"{OPEN}/occupancy?date=yesterday", 400, "invalid_parameters"),
        (f"{OPEN}/occupancy?date=2026-03-01&format=xml", 400, "invalid_parameters"),
        (f"{OPEN}/occupancy?date=2026-03-03", 400, "date_in_future"),
        (f"{OPEN}/occupancy?date=0001-01-01", 400, "date_out_of_range"),  # was a 500 (L7)
        (f"{OPEN}/occupancy?date=1999-12-31", 400, "date_out_of_range"),
        ("/open/nowhere/occupancy", 404, "unknown_district"),
        ("/open/nowhere/tariffs", 404, "unknown_district"),
    ],
)
def test_errors_are_problem_json(client: FlaskClient, town: Town, url: str, status: int, code: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json(force=True)["code"] == code


def test_hour_starts_are_iso_8601_as_the_api_documents(client: FlaskClient, town: Town) -> None:
    body = get_ok(client, f"{OPEN}/occupancy?date=2026-03-01")

    hours = next(r for r in body["roads"] if r["road_id"] == town.small.roads[0].uuid)["hours"]
    assert hours[9]["start"] == "2026-03-01T01:00:00+00:00"  # 09:00 in Asia/Shanghai


def test_the_blurring_rule() -> None:
    rule = BlurRule()
    assert blur(62.5, 5, rule) == (65, "ok")
    assert blur(62.49, 5, rule) == (60, "ok")
    assert blur(99.0, 12, rule) == (100, "ok")
    assert blur(62.5, 4, rule) == (None, "suppressed")
    assert blur(0.0, 0, rule) == (None, "suppressed")
    assert blur(OFFLINE, 40, rule) == (None, "offline")
    assert round_percent(2.5, 5) == 5 and round_percent(2.49, 5) == 0


def visible_words(html: str, data: tuple[str, ...]) -> list[str]:
    """English words a person reads on the page, once the operator's data (road, tariff and
    district names) is taken out."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html.split("<body>", 1)[1], flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    text = re.sub(r'title="[^"]*"', " ", text)
    for name in data:
        text = text.replace(name, " ")
    titles = re.findall(r'title="([^"]*)"', body)
    return sorted(
        {w for t in (text, *titles) for w in re.findall(r"[A-Za-z]*[a-z][A-Za-z]*", t)} - {"English"}
    )


def test_the_open_data_page_reads_chinese_in_a_chinese_district_and_english_on_request(
    client: FlaskClient, db: Session, town: Town
) -> None:
    town.small.district.default_locale = "zh_Hans_CN"
    db.commit()
    data = (
        "Testville",
        "Jianshan Road",
        "Zhaohui Road",
    )

    chinese = client.get(f"{OPEN}?date=2026-03-01")
    english = client.get(f"{OPEN}?date=2026-03-01&lang=en").get_data(as_text=True)

    html = chinese.get_data(as_text=True)
    assert chinese.status_code == 200 and chinese.mimetype == "text/html"
    assert visible_words(html, data) == []
    assert "2026年3月1日" in html and "开放数据" in html
    assert ">65</td>" in html  # road 1 at 09:00, 62.5 % rounded to 5: the same figure as the feed
    assert "How full the roads were on March 1, 2026" in english
    assert client.get(f"{OPEN}?date=2999-01-01").get_json()["code"] == "date_in_future"
