"""The report charts drawn from a hand-made report JSON: well-formed SVG naming every bar,
line and road it draws, PNG bytes for the PDF, Chinese names without missing glyphs."""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations

from api.i18n import TRANSLATIONS, compile_catalogues
from billing.wording import Wording
from reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def figures(start: str, end: str, scale: float) -> dict[str, Any]:
    """Hours 0 and 1 have no figure (null); hour h is `h * scale` percent otherwise."""
    hours = [{"hour": h, "occupancy_percent": None if h < 2 else h * scale} for h in range(24)]
    return {
        "period": {"kind": "day", "start": start, "end": end, "granularity": "hour"},
        "occupancy": {
            "mean_percent": 30.0,
            "peak_hours": [],
            "by_hour_of_day": hours,
            "series": [
                {
                    "label": f"{start}T{h['hour']:02d}:00",
                    "occupancy_percent": h["occupancy_percent"],
                    "stays": 1,
                }
                for h in hours
            ],
        },
        "revenue": {"fees": 4, "billed": 2100, "paid": 700, "outstanding": 1400, "collected": 1200},
    }


REPORT: dict[str, Any] = {
    "district": "baiyun",
    "currency": "CNY",
    "place": {"type": "road", "id": None, "name": "尖山路（云峰大道至金龙路）北侧"},
    "current": figures("2026-03-01", "2026-03-01", 3.0),
    "previous": figures("2026-02-28", "2026-02-28", 2.0),
}


def strip(lng: float, lat: float) -> dict[str, Any]:
    ring = [[lng, lat], [lng + 0.004, lat], [lng + 0.004, lat + 0.0001], [lng, lat + 0.0001], [lng, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


ROADS = [
    {"name": "尖山路", "occupancy_percent": 80.0, "geometry": strip(106.70, 26.60)},
    {"name": "朝晖路", "occupancy_percent": None, "geometry": strip(106.70, 26.602)},
    {"name": "泉湖路", "occupancy_percent": 5.0, "geometry": strip(106.705, 26.601)},
]


def ids(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [element.get("id", "") for element in root.iter()]


def test_hourly_occupancy_draws_a_bar_per_hour_with_a_figure_in_each_period() -> None:
    found = ids(charts.hourly_occupancy_chart(REPORT))
    assert len([i for i in found if i.startswith("bar-current-")]) == 22
    assert len([i for i in found if i.startswith("bar-previous-")]) == 22
    assert "bar-current-0" not in found  # null is no figure, not a zero bar


def test_revenue_draws_billed_collected_and_outstanding_for_both_periods() -> None:
    found = ids(charts.revenue_chart(REPORT))
    for tag in ("current", "previous"):
        assert {f"bar-{tag}-{key}" for key in ("billed", "collected", "outstanding")} <= set(found)


def test_occupancy_series_draws_one_line_per_period() -> None:
    found = ids(charts.occupancy_series_chart(REPORT))
    assert found.count("line-current") == 1 and found.count("line-previous") == 1


def test_road_map_draws_every_road_including_those_without_a_figure() -> None:
    found = ids(charts.road_map_chart(ROADS, "Occupancy by road"))
    assert {f"road-{n}" for n in (1, 2, 3)} <= set(found)


def test_the_same_report_draws_the_same_svg() -> None:
    assert charts.revenue_chart(REPORT) == charts.revenue_chart(REPORT)


def test_png_charts_are_png_images() -> None:
    for name in charts.CHART_NAMES:
        assert charts.render_chart(name, REPORT, ROADS, "png").startswith(b"\x89PNG\r\n\x1a\n")


def test_chinese_names_render_without_missing_glyphs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        charts.road_map_chart(ROADS, "道路占用率", "png")
        charts.hourly_occupancy_chart(REPORT, "svg")


def test_a_missing_cjk_font_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(charts.ChartFontMissingError, match="fonts-droid-fallback"):
        charts.font_families(tmp_path / "DroidSansFallbackFull.ttf")


def test_road_map_marks_street_reports_one_marker_kind_each() -> None:
    reports = [
        {"kind": "vending", "lat": 26.68, "lng": 106.62},
        {"kind": "vending", "lat": 26.681, "lng": 106.621},
        {"kind": "goods_on_road", "lat": 26.682, "lng": 106.622},
    ]
    found = ids(charts.road_map_chart(ROADS, "Occupancy by road", street_reports=reports))
    assert "street-vending" in found and "street-goods_on_road" in found
    assert "street-construction" not in found


def chinese() -> Wording:
    compile_catalogues()
    catalogue = Translations.load(str(TRANSLATIONS), ["zh_Hans_CN"])
    return Wording("zh_Hans_CN", catalogue.gettext)


def drawn_text(svg: bytes) -> list[str]:
    """The texts an SVG draws: matplotlib draws text as glyph paths, each run after a comment
    holding its text."""
    return [t.strip() for t in re.findall(r"<!-- (.*?) -->", svg.decode("utf-8"), re.S)]


def english_words(texts: list[str]) -> list[str]:
    return sorted({w for text in texts for w in re.findall(r"[A-Za-z]*[a-z][A-Za-z]*", text)})


@pytest.mark.parametrize("name", charts.CHART_NAMES)
def test_titles_axes_and_legends_speak_the_wording_they_are_given(name: str) -> None:
    reports = [{"kind": "vending", "lat": 26.6, "lng": 106.702}, {"kind": "other", "lat": 26.6, "lng": 106.7}]
    english = drawn_text(charts.render_chart(name, REPORT, ROADS, "svg", reports))
    zh = drawn_text(charts.render_chart(name, REPORT, ROADS, "svg", reports, chinese()))

    assert english_words(english), "the English chart names its axes"
    assert english_words(zh) == []
    assert any("占用率" in text or "收费" in text for text in zh), zh
