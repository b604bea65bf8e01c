"""Native vacancy for drivers: roads nearest first with free, occupied and unknown bays, the
age of the data, the tariff in one line, the free bays; a road's bays; every bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from fixtures.builders import SmallDistrict, build_small_district, cds_event
from fixtures.tariffs import publish_demo_tariffs
from parking.clock import FixedClock
from tests.support.http import get_ok, push_ok

URL = "/api/v1/testville/vacancy"
# Road 1 (Jianshan) sits on lat 26.680, road 2 (Zhaohui) on 26.684, lng 106.63006-106.63024.
NEAR_ROAD_1 = "lat=26.6795&lng=106.6301"
NEAR_ROAD_2 = "lat=26.6841&lng=106.6301"
CORE_LINE = "¥1.50 per 15 min first hour, then ¥6.00 per 30 min; first 15 min free; max ¥60/day"


@pytest.fixture
def town(db: Session, client: FlaskClient, clock: FixedClock) -> SmallDistrict:
    """Stake A watches road 1, stake B the first two bays of road 2; the feed is offline, so
    T2-3 and T2-4 are watched by nothing. Five minutes ago T1-1 and T1-2 were taken and
    stake B sent a heartbeat (what counts is when the server heard them). Road 1 is priced by the core tariff, road 2 by the standard."""
    small = build_small_district(db, clock.now())
    small.feed.device.online = False
    publish_demo_tariffs(db, small.district, clock.now() - timedelta(days=1))
    small.roads[0].tariff_code = "core"
    db.commit()
    t = clock.now()
    push_ok(client, small.stake_a, [
        cds_event(small.stake_a, small.bay("T1-1"), "park_start", t, plate="贵A12345", confidence=95),
        cds_event(small.stake_a, small.bay("T1-2"), "park_start", t, plate="贵B54321", confidence=95),
    ])  # fmt: skip
    push_ok(client, small.stake_b, [cds_event(small.stake_b, small.bay("T2-1"), "scheduled_report", t)])
    clock.advance(timedelta(minutes=5))
    return small


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {road["name"]: road for road in body["roads"]}


def test_roads_come_nearest_first_with_free_occupied_and_unknown_bays(
    client: FlaskClient, town: SmallDistrict
) -> None:
    near_1 = get_ok(client, f"{URL}?{NEAR_ROAD_1}&radius=1000")
    near_2 = get_ok(client, f"{URL}?{NEAR_ROAD_2}&radius=1000")

    assert [r["name"] for r in near_1["roads"]] == ["Jianshan Road", "Zhaohui Road"]
    assert [r["name"] for r in near_2["roads"]] == ["Zhaohui Road", "Jianshan Road"]
    assert near_1["roads"][0]["distance_m"] < near_1["roads"][1]["distance_m"]
    road_1, road_2 = near_1["roads"]
    assert (road_1["total"], road_1["free"], road_1["occupied"], road_1["unknown"]) == (4, 2, 2, 0)
    assert (road_2["total"], road_2["free"], road_2["occupied"], road_2["unknown"]) == (4, 2, 0, 2)
    assert [b["name"] for b in road_1["free_bays"]] == ["T1-3", "T1-4"]
    assert [b["name"] for b in road_2["free_bays"]] == ["T2-1", "T2-2"]
    bay = town.bay("T1-3")
    assert road_1["free_bays"][0] == {"id": bay.uuid, "name": "T1-3", "lat": bay.lat, "lng": bay.lng}
    assert road_1["data_age_seconds"] == 300 and road_2["data_age_seconds"] == 300


def test_a_small_radius_leaves_far_roads_out(client: FlaskClient, town: SmallDistrict) -> None:
    body = get_ok(client, f"{URL}?{NEAR_ROAD_1}&radius=100")
    assert [r["name"] for r in body["roads"]] == ["Jianshan Road"]


def test_a_box_finds_the_roads_inside_it(client: FlaskClient, town: SmallDistrict) -> None:
    body = get_ok(client, f"{URL}?bbox=106.629,26.683,106.632,26.685")
    assert [r["name"] for r in body["roads"]] == ["Zhaohui Road"]


def test_the_tariff_now_reads_as_one_line_with_max_stay_and_restriction(
    client: FlaskClient, town: SmallDistrict
) -> None:
    roads = by_name(get_ok(client, f"{URL}?{NEAR_ROAD_1}"))
    assert roads["Jianshan Road"]["tariff"] == CORE_LINE
    assert roads["Jianshan Road"]["max_stay_minutes"] == 240
    assert roads["Zhaohui Road"]["tariff"] == (
        "¥2.40 per 30 min first 2 h, then ¥4.80 per 30 min; first 15 min free; max ¥30/day"
    )
    assert roads["Zhaohui Road"]["max_stay_minutes"] is None
    assert roads["Zhaohui Road"]["restriction_now"] is None


def test_the_answer_carries_no_plates_and_no_stays(client: FlaskClient, town: SmallDistrict) -> None:
    text = json.dumps(get_ok(client, f"{URL}?{NEAR_ROAD_1}"), ensure_ascii=False)
    bays = json.dumps(
        get_ok(client, f"/api/v1/testville/roads/{town.roads[0].uuid}/bays"), ensure_ascii=False
    )
    for answer in (text, bays):
        assert "贵A12345" not in answer and "贵B54321" not in answer
        assert "plate" not in answer and "stay" not in answer.replace("max_stay_minutes", "")


def test_bays_of_an_offline_stake_are_unknown_never_free(
    client: FlaskClient, db: Session, town: SmallDistrict
) -> None:
    town.stake_a.device.online = False
    town.stake_a.device.offline_reason = "silent"
    db.commit()
    road_1 = by_name(get_ok(client, f"{URL}?{NEAR_ROAD_1}"))["Jianshan Road"]
    assert (road_1["free"], road_1["occupied"], road_1["unknown"]) == (0, 0, 4)
    assert road_1["free_bays"] == []


def test_bays_whose_last_report_is_stale_are_unknown(
    client: FlaskClient, app: Flask, town: SmallDistrict, clock: FixedClock
) -> None:
    clock.advance(timedelta(minutes=10))  # 15 minutes after the last report: still fresh
    assert by_name(get_ok(client, f"{URL}?{NEAR_ROAD_1}"))["Jianshan Road"]["free"] == 2
    clock.advance(timedelta(minutes=1))
    body = get_ok(client, f"{URL}?{NEAR_ROAD_1}")
    road_1 = by_name(body)["Jianshan Road"]
    assert (road_1["free"], road_1["unknown"], road_1["data_age_seconds"]) == (0, 4, 960)
    assert body["stale_after_minutes"] == 15
    app.config["VACANCY_STALE_MINUTES"] = 30
    assert by_name(get_ok(client, f"{URL}?{NEAR_ROAD_1}"))["Jianshan Road"]["free"] == 2


def test_a_fresh_heartbeat_keeps_vacant_bays_known(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    clock.advance(timedelta(minutes=20))
    push_ok(
        client, town.stake_a, [cds_event(town.stake_a, town.bay("T1-1"), "scheduled_report", clock.now())]
    )
    road_1 = by_name(get_ok(client, f"{URL}?{NEAR_ROAD_1}"))["Jianshan Road"]
    assert (road_1["free"], road_1["occupied"], road_1["data_age_seconds"]) == (2, 2, 0)


def test_a_roads_bays_each_say_free_occupied_or_unknown(client: FlaskClient, town: SmallDistrict) -> None:
    road_2 = get_ok(client, f"/api/v1/testville/roads/{town.roads[1].uuid}/bays")
    road_1 = get_ok(client, f"/api/v1/testville/roads/{town.roads[0].uuid}/bays")

    assert [(b["name"], b["state"]) for b in road_2["bays"]] == [
        ("T2-1", "free"),
        ("T2-2", "free"),
        ("T2-3", "unknown"),
        ("T2-4", "unknown"),
    ]
    assert [b["state"] for b in road_1["bays"]] == ["occupied", "occupied", "free", "free"]
    assert road_1["tariff"] == CORE_LINE and road_1["name"] == "Jianshan Road"
    assert (road_1["free"], road_1["occupied"], road_1["unknown"]) == (2, 2, 0)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("lat=91&lng=106.63", 400, "invalid_coordinates"),
        ("lat=26.68&lng=-181", 400, "invalid_coordinates"),
        ("bbox=106.63,26.68,200,26.69", 400, "invalid_coordinates"),
        ("bbox=106.64,26.69,106.63,26.68", 400, "bad_param"),
        ("bbox=1,2,3", 400, "bad_param"),
        ("lat=26.68&lng=106.63&radius=5001", 400, "radius_out_of_range"),
        ("lat=26.68&lng=106.63&radius=0", 400, "radius_out_of_range"),
        ("lat=north&lng=106.63", 400, "bad_param"),
        ("lat=26.68", 400, "missing_param"),
        ("", 400, "missing_param"),
        ("lat=26.68&lng=106.63&bbox=106.63,26.68,106.64,26.69", 400, "bad_param"),
        ("lat=26.68&lng=106.63&limit=0", 400, "invalid_parameters"),
    ],
)
def test_bad_searches_answer_a_stable_code(
    client: FlaskClient, town: SmallDistrict, query: str, status: int, code: str
) -> None:
    reply = client.get(f"{URL}?{query}")
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.mimetype == "application/problem+json"
    assert reply.get_json()["code"] == code


def test_unknown_districts_and_roads_are_404(client: FlaskClient, town: SmallDistrict) -> None:
    assert client.get(f"/api/v1/nowhere/vacancy?{NEAR_ROAD_1}").get_json()["code"] == "unknown_district"
    reply = client.get("/api/v1/testville/roads/00000000-0000-4000-8000-000000000000/bays")
    assert reply.status_code == 404 and reply.get_json()["code"] == "unknown_road"


# -- the cache (VACANCY_CACHE_SECONDS): refreshed incrementally, freshness judged per request --


class Monotonic:
    """Stands in for time.monotonic in the vacancy cache: moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cached(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    """The cache on (60 s), on a clock of its own; counts the roads read whole."""
    import api.v1.drivers.vacancy_cache as cache

    app.config["VACANCY_CACHE_SECONDS"] = 60
    ticks = Monotonic()
    monkeypatch.setattr(cache.time, "monotonic", ticks)
    return ticks


def road_1_counts(client: FlaskClient) -> tuple[int, int, int]:
    road = by_name(get_ok(client, f"{URL}?{NEAR_ROAD_1}"))["Jianshan Road"]
    return road["free"], road["occupied"], road["unknown"]


def test_the_cache_gives_the_same_answer_as_the_database(
    client: FlaskClient, app: Flask, town: SmallDistrict, cached: Monotonic
) -> None:
    urls = [f"{URL}?{NEAR_ROAD_1}&radius=1000"] + [
        f"/api/v1/testville/roads/{road.uuid}/bays" for road in town.roads
    ]
    from_cache = [get_ok(client, url) for url in urls]
    app.config["VACANCY_CACHE_SECONDS"] = 0
    assert from_cache == [get_ok(client, url) for url in urls]


def test_a_bay_changed_after_the_cache_filled_is_seen_at_the_next_refresh(
    client: FlaskClient,
    town: SmallDistrict,
    clock: FixedClock,
    cached: Monotonic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import api.v1.drivers.vacancy_cache as cache

    whole: list[list[int]] = []
    read_roads = cache.bay_rows
    monkeypatch.setattr(
        cache, "bay_rows", lambda db, roads: whole.append(list(roads)) or read_roads(db, roads)
    )
    assert road_1_counts(client) == (2, 2, 0)
    # a car parks in T1-3; another's arrival in T1-4 two minutes ago arrives only now (late:
    # older than the newest event of the road, but received after the cache filled)
    push_ok(client, town.stake_a, [cds_event(town.stake_a, town.bay("T1-3"), "park_start", clock.now())])
    late = clock.now() - timedelta(minutes=2)
    push_ok(client, town.stake_a, [cds_event(town.stake_a, town.bay("T1-4"), "park_start", late)])
    cached.now += 59
    assert road_1_counts(client) == (2, 2, 0)  # within VACANCY_CACHE_SECONDS: as cached
    cached.now += 1
    assert road_1_counts(client) == (0, 4, 0)
    assert len(whole) == 1  # the roads were read whole once, then only their changes


def test_a_device_going_offline_makes_its_bays_unknown_at_the_next_refresh(
    client: FlaskClient, db: Session, town: SmallDistrict, cached: Monotonic
) -> None:
    assert road_1_counts(client) == (2, 2, 0)
    town.stake_a.device.online = False
    town.stake_a.device.offline_reason = "silent"
    db.commit()
    cached.now += 60
    assert road_1_counts(client) == (0, 0, 4)
    town.stake_a.device.online = True
    town.stake_a.device.offline_reason = None
    db.commit()
    cached.now += 60
    assert road_1_counts(client) == (2, 2, 0)


def test_cached_bays_go_stale_at_the_request_time_with_their_true_age(
    client: FlaskClient, town: SmallDistrict, clock: FixedClock, cached: Monotonic
) -> None:
    assert road_1_counts(client) == (2, 2, 0)
    clock.advance(timedelta(minutes=11))  # the cache is not refreshed (same monotonic time)
    road_1 = by_name(get_ok(client, f"{URL}?{NEAR_ROAD_1}"))["Jianshan Road"]
    assert (road_1["free"], road_1["unknown"], road_1["data_age_seconds"]) == (0, 4, 960)
    assert road_1["free_bays"] == []


def test_a_road_added_after_the_cache_filled_is_found_at_the_next_refresh(
    client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock, cached: Monotonic
) -> None:
    from parking.inventory import BaySpec, add_road

    near_new_road = "lat=26.6900&lng=106.6400&radius=300"
    assert get_ok(client, f"{URL}?{near_new_road}")["roads"] == []
    add_road(db, town.district, "Xinhua Road", [BaySpec("X-1", 26.6900, 106.6400)], clock.now())
    db.commit()
    cached.now += 59
    assert get_ok(client, f"{URL}?{near_new_road}")["roads"] == []  # as cached
    cached.now += 1
    roads = get_ok(client, f"{URL}?{near_new_road}")["roads"]
    assert [(r["name"], r["total"], r["unknown"]) for r in roads] == [("Xinhua Road", 1, 1)]


def test_the_cached_road_grid_finds_the_same_roads_as_the_database_for_any_box(
    client: FlaskClient, app: Flask, town: SmallDistrict, cached: Monotonic
) -> None:
    boxes = [
        "106.6300,26.6790,106.6303,26.6800",  # road 1's corner
        "106.6299,26.6839,106.6302,26.6845",  # road 2 only
        "106.62,26.67,106.64,26.69",  # both, across grid cells
        "-180,-90,180,90",  # the whole world: wider than the district's grid
        "106.70,26.70,106.71,26.71",  # none
    ]
    urls = [f"{URL}?bbox={box}" for box in boxes]
    from_cache = [sorted(r["name"] for r in get_ok(client, url)["roads"]) for url in urls]
    app.config["VACANCY_CACHE_SECONDS"] = 0
    assert from_cache == [sorted(r["name"] for r in get_ok(client, url)["roads"]) for url in urls]
    assert from_cache[0] == ["Jianshan Road"] and len(from_cache[2]) == 2 and from_cache[4] == []


def test_a_road_tells_the_driver_the_rest_of_the_day_prices_and_restrictions_to_come(
    client: FlaskClient, town: SmallDistrict, db: Session, clock: FixedClock
) -> None:
    town.roads[1].tariff_code = "clearway"
    db.commit()
    clock.set(clock.now().replace(hour=21, minute=49))  # 05:49 on Tuesday 3 March in Guiyang
    road = get_ok(client, f"/api/v1/testville/roads/{town.roads[1].uuid}/bays")
    assert road["tariff"] == "free now"
    assert [(b["band"], b["from"], b["until"], b["tariff"]) for b in road["day_ahead"]] == [
        ("夜间", "2026-03-02T21:49:00+00:00", "2026-03-03T00:00:00+00:00", "free"),
        ("日间", "2026-03-03T00:00:00+00:00", "2026-03-03T12:00:00+00:00", "¥2.40 per 30 min first 2 h, then ¥4.80 per 30 min; first 15 min free; max ¥30/day"),
        ("夜间", "2026-03-03T12:00:00+00:00", "2026-03-03T16:00:00+00:00", "free"),
    ]  # fmt: skip
    assert road["restrictions_ahead"] == [
        {
            "from": "2026-03-03T09:00:00+00:00",
            "until": "2026-03-03T11:00:00+00:00",
            "name": "晚高峰禁停",
            "activity": "no stopping",
            "activity_label": "No stopping",
        }
    ]
