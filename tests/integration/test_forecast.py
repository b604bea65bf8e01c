"""The `forecast` job fits each road on its watched history and the forecast endpoint answers
from the fitted model: a road full every weekday morning is forecast full then, free
otherwise; for `in=` minutes the road's bays now are carried forward; hours when its camera
was offline are left out of the history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.scheduler.jobs import run_job
from fixtures.builders import SmallDistrict, build_small_district, cds_event
from fixtures.simulator import SimBay, simulate_day
from parking.clock import FixedClock
from parking.forecast_models import RoadDwell, RoadForecast
from parking.models import Stay
from sensors.health import comms_event

URL = "/api/v1/testville/forecast"
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def town(db: Session, clock: FixedClock) -> SmallDistrict:
    small = build_small_district(db, clock.now() - timedelta(days=10))
    db.commit()
    return small


def push(client: FlaskClient, town: SmallDistrict, batch: list[dict[str, Any]]) -> None:
    client.application.config["EVENT_MAX_AGE_HOURS"] = 0  # weeks of history, pushed as a replay
    for i in range(0, len(batch), 1000):
        reply = client.post(
            "/cds/testville/events/event",
            json=batch[i : i + 1000],
            headers={"Authorization": f"Bearer {town.feed.token}"},
        )
        assert reply.get_json()["failures"] == [], reply.get_json()["failures"][:3]


def fill_mornings(client: FlaskClient, town: SmallDistrict, clock: FixedClock) -> None:
    """For the last 7 days, every bay of road 1 and one bay of road 2 taken 09:00-11:00 local
    (the test clock stands at Monday 10:00 in Shanghai)."""
    events = []
    for days_ago in range(1, 8):
        nine = clock.now() - timedelta(days=days_ago, hours=1)
        for bay in [*town.roads[0].bays, town.roads[1].bays[0]]:
            events.append(cds_event(town.feed, bay, "park_start", nine))
            events.append(cds_event(town.feed, bay, "park_end", nine + timedelta(hours=2)))
    push(client, town, events)


def forecast(client: FlaskClient, query: str) -> dict[str, Any]:
    reply = client.get(f"{URL}?{query}")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    body: dict[str, Any] = reply.get_json()
    return body


def test_the_job_fits_every_road_on_a_simulated_history(
    app: Flask, client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    pool = [
        SimBay(b.name, b.uuid, b.road.uuid, b.lat, b.lng, (town.feed.device.uuid, "FEED"), ("", ""))
        for b in town.bays
    ]
    for days_ago in (3, 2, 1):
        day = (clock.now() - timedelta(days=days_ago)).astimezone(ZONE)
        day = day.replace(hour=0, minute=0, second=0, microsecond=0)
        events = simulate_day(pool, day, seed=days_ago, target_stays=60)
        push(
            client,
            town,
            [e | {"data_source_type": "data_feed"} for e in events if e["data_source_type"] == "camera"],
        )
    assert (db.scalar(select(func.count()).select_from(Stay)) or 0) > 100

    summary = run_job(app, "forecast", "testville")

    assert summary.startswith("testville 2 roads fitted on 3.4 days")  # to now, Monday 10:00
    assert summary.endswith("0 left out as unwatched)")
    assert db.scalar(select(func.count()).select_from(RoadForecast)) == 2 * 3 * 96
    assert db.scalar(select(func.count()).select_from(RoadDwell)) == 2
    body = forecast(client, f"road={town.roads[0].uuid}&in=30")
    assert 0 < body["probability_free"] < 1
    assert body["day_class"] == "weekday" and body["slot"] == "10:30"
    assert body["road_name"] == "Jianshan Road"


def test_a_road_full_every_morning_is_forecast_full_in_the_morning_only(
    app: Flask, client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    fill_mornings(client, town, clock)
    run_job(app, "forecast", "testville")
    road_1, road_2 = (r.uuid for r in town.roads)

    morning = forecast(client, f"road={road_1}&in=15")
    afternoon = forecast(client, f"road={road_1}&at=2026-03-03T15:00:00%2B08:00")
    other_road = forecast(client, f"road={road_2}&in=15")

    assert morning["history_probability"] < 0.2 and morning["slot"] == "10:15"
    assert morning["samples"] == 15  # five weekdays (Sunday and Saturday are apart), 3 a slot
    assert afternoon["probability_free"] > 0.9 and afternoon["day_class"] == "weekday"
    assert afternoon["basis"] == "history" and afternoon["free_now"] is None
    assert other_road["probability_free"] > 0.9
    assert 0 < morning["road_rate"] < 1
    # Today nobody came: four bays free now make a free bay in 15 minutes nearly certain.
    assert morning["basis"] == "history+current" and morning["free_now"] == 4
    assert morning["probability_free"] > 0.9


def test_a_road_that_just_filled_up_is_forecast_full_for_the_next_minutes_only(
    app: Flask, client: FlaskClient, town: SmallDistrict, clock: FixedClock
) -> None:
    fill_mornings(client, town, clock)
    road = town.roads[1]  # free every morning in its history
    push(
        client,
        town,
        [cds_event(town.feed, b, "park_start", clock.now() - timedelta(minutes=5)) for b in road.bays],
    )
    run_job(app, "forecast", "testville")

    soon = forecast(client, f"road={road.uuid}&in=5")
    later = forecast(client, f"road={road.uuid}&in=90")
    far = forecast(client, f"road={road.uuid}&in=180")

    assert soon["basis"] == later["basis"] == "history+current" and soon["free_now"] == 0
    assert soon["probability_free"] < 0.5 < soon["history_probability"]
    assert soon["probability_free"] < later["probability_free"]
    assert far["basis"] == "history" and far["probability_free"] == far["history_probability"]


def test_hours_when_the_road_was_unwatched_are_left_out_not_counted_full(
    app: Flask, client: FlaskClient, db: Session, town: SmallDistrict, clock: FixedClock
) -> None:
    """Every day of the last week, the camera and the feed were offline 12:00-16:00 local;
    the cars seen parking at 11:55 seemed to stay until the devices came back at 16:05."""
    events = []
    for days_ago in range(1, 8):
        noon = clock.now() - timedelta(days=days_ago) + timedelta(hours=2)
        for bay in town.roads[0].bays:
            events.append(cds_event(town.feed, bay, "park_start", noon - timedelta(minutes=5)))
            events.append(cds_event(town.feed, bay, "park_end", noon + timedelta(hours=4, minutes=5)))
        for device in (town.stake_a.device, town.feed.device):
            db.add(comms_event(device, "comms_lost", noon))
            db.add(comms_event(device, "comms_restored", noon + timedelta(hours=4)))
    db.commit()
    push(client, town, events)

    summary = run_job(app, "forecast", "testville")

    road = town.roads[0].uuid
    during = forecast(client, f"road={road}&at=2026-03-03T13:00:00%2B08:00")
    before = forecast(client, f"road={road}&at=2026-03-03T11:00:00%2B08:00")
    assert "0 left out" not in summary
    assert during["samples"] == 0  # not observed, not "full"
    assert during["probability_free"] > 0.8
    # Tuesday to Friday (the history starts at the first stay, last Monday 11:55), 3 a slot
    assert before["samples"] == 12 and before["probability_free"] > 0.9


def test_the_job_runs_from_the_command_line(app: Flask, town: SmallDistrict, clock: FixedClock) -> None:
    result = app.test_cli_runner().invoke(args=["run-job", "forecast", "--district", "testville"])
    assert result.exit_code == 0, result.output
    assert (
        "forecast: testville 0 roads fitted" in result.output
        or "forecast: testville 2 roads" in result.output
    )


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("in=15", 400, "invalid_parameters"),
        ("road={road}&in=-5", 400, "invalid_parameters"),
        ("road={road}&in=soon", 400, "invalid_parameters"),
        ("road={road}&at=2026-03-03T15:00:00", 400, "invalid_parameters"),
        ("road={road}&in=5&at=2026-03-03T15:00:00%2B08:00", 400, "invalid_parameters"),
        ("road=00000000-0000-4000-8000-000000000000&in=5", 404, "unknown_road"),
        ("road={road}&in=5", 404, "no_forecast"),
    ],
)
def test_bad_forecast_requests_answer_a_stable_code(
    client: FlaskClient, town: SmallDistrict, query: str, status: int, code: str
) -> None:
    reply = client.get(f"{URL}?{query.format(road=town.roads[0].uuid)}")
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.get_json()["code"] == code
