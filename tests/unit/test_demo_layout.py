"""The demo district's layout: Baiyun, Guiyang, 11 roads, 1,031 bays, stakes and POS beats."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter

from fixtures.demo import demo_layout, demo_token
from parking.geo import bay_footprint, bounds, distance_m


def test_the_demo_has_11_roads_and_1031_bays() -> None:
    layout = demo_layout()

    assert len(layout.roads) == 11
    assert sum(len(road.bays) for road in layout.roads) == 1031


def test_the_roads_include_jianshan_zhaohui_and_yanshanhong_each_a_block_face() -> None:
    roads = demo_layout().roads
    streets = [road.street_name for road in roads]

    assert {"尖山路", "朝晖路", "艳山红路"} <= set(streets)
    assert len(set(streets)) == 11
    assert len({road.name for road in roads}) == 11
    assert all(road.side in ("N", "S", "E", "W") and all(road.cross_streets) for road in roads)


def test_bays_are_named_by_road_and_number() -> None:
    for road in demo_layout().roads:
        names = [bay.name for bay in road.bays]

        assert names == [f"BY-{road.number:02d}-{n:03d}" for n in range(1, len(names) + 1)]


def test_the_bays_lie_in_baiyun_6_m_apart_along_a_straight_curb() -> None:
    for road in demo_layout().roads:
        bays = road.bays
        gaps = [distance_m(a.lat, a.lng, b.lat, b.lng) for a, b in zip(bays, bays[1:], strict=False)]

        assert all(abs(gap - 6.0) < 0.05 for gap in gaps), road.name
        assert len({b.lat for b in bays}) == 1 or len({b.lng for b in bays}) == 1
        assert all(distance_m(b.lat, b.lng, 26.68, 106.63) < 4000 for b in bays)


def test_each_road_outline_is_a_closed_polygon_holding_its_bays() -> None:
    for road in demo_layout().roads:
        ring = road.geometry["coordinates"][0]
        min_lat, min_lng, max_lat, max_lng = bounds([road.geometry])
        bay_box = bounds(bay_footprint(b.lat, b.lng) for b in road.bays)

        assert road.geometry["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) == 5
        assert min_lat <= bay_box[0] and min_lng <= bay_box[1]
        assert bay_box[2] <= max_lat and bay_box[3] <= max_lng


def test_no_two_road_outlines_overlap() -> None:
    boxes = [bounds([road.geometry]) for road in demo_layout().roads]

    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def test_every_bay_is_seen_by_exactly_one_stake_of_one_to_four_neighbouring_bays() -> None:
    layout = demo_layout()
    order = {bay.name: (road.number, i) for road in layout.roads for i, bay in enumerate(road.bays)}
    seen = Counter(name for stake in layout.stakes for name in stake.bay_names)

    assert set(seen) == set(order) and set(seen.values()) == {1}
    for stake in layout.stakes:
        places = [order[name] for name in stake.bay_names]

        assert 1 <= len(places) <= 4
        assert len({road for road, _ in places}) == 1
        assert [i for _, i in places] == list(range(places[0][1], places[0][1] + len(places)))


def test_stakes_and_terminals_are_numbered_in_order() -> None:
    layout = demo_layout()

    assert [s.name for s in layout.stakes] == [f"STAKE-BY-{n:04d}" for n in range(1, len(layout.stakes) + 1)]
    assert [p.name for p in layout.terminals] == [f"POS-BY-{n:03d}" for n in range(1, 6)]
    assert {s.kind for s in layout.stakes} == {"video_stake"}
    assert {p.kind for p in layout.terminals} == {"handheld_pos"}


def test_every_road_is_on_exactly_one_pos_beat_of_two_or_three_roads() -> None:
    layout = demo_layout()
    beats = [p.road_names for p in layout.terminals]

    assert all(2 <= len(beat) <= 3 for beat in beats)
    assert sorted(name for beat in beats for name in beat) == sorted(road.name for road in layout.roads)


def test_two_or_three_areas_group_the_roads_without_overlap() -> None:
    areas = demo_layout().areas
    grouped = [number for _, numbers in areas for number in numbers]

    assert 2 <= len(areas) <= 3
    assert sorted(grouped) == list(range(1, 12))


def test_demo_tokens_are_published_hmacs_of_the_device_names() -> None:
    expected = hmac.new(b"baiyun-demo", b"STAKE-BY-0001", hashlib.sha256).hexdigest()[:32]

    assert demo_token("STAKE-BY-0001") == "demo-" + expected
    assert re.fullmatch(r"demo-[0-9a-f]{32}", demo_token("POS-BY-001"))
    assert len({demo_token(d.name) for d in demo_layout().devices}) == len(demo_layout().devices)


def test_the_layout_is_the_same_every_time() -> None:
    demo_layout.cache_clear()
    first = demo_layout()
    demo_layout.cache_clear()

    assert demo_layout() == first
