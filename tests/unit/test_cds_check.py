"""The project's own CDS 1.1 check (fixtures/cds_check.py): the carried models with the two
known upstream defects patched, and nothing else relaxed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.cds_check import MODELS, envelope_errors, file_errors, object_errors

EXAMPLES = MODELS.parents[1] / "example_events.json"
SQUARE = [[[106.0, 26.0], [106.001, 26.0], [106.001, 26.001], [106.0, 26.0]]]


def example(n: int = 0) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(EXAMPLES.read_text(encoding="utf-8"))["data"]["events"][n]
    return event


def test_the_models_and_their_licence_are_in_the_repository() -> None:
    assert (MODELS / "curb_event.yaml").is_file()
    assert "Creative Commons Attribution 4.0" in (MODELS.parent / "LICENSE").read_text(encoding="utf-8")


def test_the_example_events_pass() -> None:
    assert file_errors(EXAMPLES) == []


def test_an_rfc_7946_polygon_passes_though_the_upstream_model_refuses_it() -> None:
    assert object_errors("geoJSON_polygon", {"type": "Polygon", "coordinates": SQUARE}) == []


def test_a_polygon_given_as_a_list_of_points_fails() -> None:
    assert object_errors("geoJSON_polygon", {"type": "Polygon", "coordinates": SQUARE[0]}) != []


def test_a_polygon_ring_of_three_positions_fails() -> None:
    assert object_errors("geoJSON_polygon", {"type": "Polygon", "coordinates": [SQUARE[0][:3]]}) != []


@pytest.mark.parametrize(
    "location",
    [
        {"type": "Point", "coordinates": [106.63, 26.68]},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.63, 26.68]}, "properties": {}},
    ],
)
def test_an_event_location_may_be_a_point_or_a_feature_of_a_point(location: dict[str, Any]) -> None:
    assert object_errors("curb_event", {**example(), "event_location": location}) == []


def test_an_event_location_that_is_neither_fails() -> None:
    line = {"type": "LineString", "coordinates": [[106.63, 26.68], [106.64, 26.68]]}

    assert object_errors("curb_event", {**example(), "event_location": line}) != []


def test_every_other_rule_still_applies_and_names_the_field() -> None:
    broken = {**example(), "event_type": "teleported"}
    del broken["event_id"]

    errors = envelope_errors({"data": {"events": [example(1), broken]}})

    assert len(errors) == 2
    assert all(e.startswith("events[1] (curb_event) ") for e in errors)
    assert any("'event_id' is a required property" in e for e in errors)
    assert any(e.startswith("events[1] (curb_event) event_type:") for e in errors)


def test_one_object_as_data_is_checked_by_the_model_its_id_names() -> None:
    assert envelope_errors({"data": example()}) == []
    assert envelope_errors({"data": {**example(), "event_type": "teleported"}})[0].startswith(
        "data (curb_event) event_type:"
    )


def test_an_envelope_without_a_cds_list_fails() -> None:
    assert envelope_errors({"data": {"cars": []}}) != []
    assert envelope_errors({"zones": []}) != []


def test_a_metrics_csv_is_checked_row_by_row(tmp_path: Path) -> None:
    good = tmp_path / "sessions.csv"
    good.write_text("curb_zone_id,curb_space_id,session_start\nz,s,not-a-time\n", encoding="utf-8")

    errors = file_errors(good)

    assert errors and all(e.startswith("row 0 (session) ") for e in errors)


def test_an_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no CDS model named 'curb_car'"):
        object_errors("curb_car", {})
