"""The charts of a bureau report, drawn by matplotlib from the report's JSON (docs/REPORTS.md):
SVG for the dashboard, PNG for the monthly PDF.

No pyplot and no GUI: each chart is a `Figure` saved by the Agg (PNG) or SVG backend. Text is
set in DejaVu Sans, falling back to Droid Sans Fallback (Debian `fonts-droid-fallback`, the
receipts' CJK font) for Chinese road names. Every bar, line and road carries a `gid`, so the
SVG names what it draws (`bar-current-9`, `line-previous`, `road-3`). Titles, axes and legends
speak the `Wording` they are given (the request's language; plain English by default).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Literal

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.typing import RcKeyType

from billing.money import exponent
from billing.pdf import CJK_FONT
from billing.wording import Wording
from parking.errors import N_

Format = Literal["svg", "png"]
Report = dict[str, Any]
CHART_NAMES = ("hourly-occupancy", "revenue", "occupancy-series", "road-map")
CURRENT_COLOUR, PREVIOUS_COLOUR, UNKNOWN_COLOUR = "#1f6fb2", "#b8c4d0", "#d9d9d9"
OCCUPANCY_COLOURS = "RdYlGn_r"  # green when free, red when full
_SIZE = (8.0, 3.4)  # inches
_PNG_DPI = 150
# matplotlib's settings are process-wide: one chart is drawn at a time.
_DRAWING = threading.Lock()
ENGLISH = Wording()


class ChartFontMissingError(RuntimeError):
    """The CJK font the charts need for Chinese road names is not installed."""

    code = "chart_font_missing"

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the chart font {path} is missing: install the Debian package fonts-droid-fallback "
            "(apt-get install fonts-droid-fallback)"
        )


@cache
def font_families(cjk_font: Path = CJK_FONT) -> tuple[str, ...]:
    """Register the CJK font with matplotlib once; the families to set text in, in order."""
    if not cjk_font.is_file():
        raise ChartFontMissingError(cjk_font)
    font_manager.fontManager.addfont(str(cjk_font))
    return ("DejaVu Sans", font_manager.FontProperties(fname=str(cjk_font)).get_name())


def hourly_occupancy_chart(report: Report, fmt: Format = "svg", words: Wording = ENGLISH) -> bytes:
    """Occupancy per local hour of day: the period's bars beside the previous period's."""
    title = words(N_("Occupancy by hour of day — %(place)s"), place=_place(report))
    with _figure(title) as (figure, axes):
        for offset, tag, colour in ((0.2, "current", CURRENT_COLOUR), (-0.2, "previous", PREVIOUS_COLOUR)):
            for item in report[tag]["occupancy"]["by_hour_of_day"]:
                if item["occupancy_percent"] is not None:
                    (bar,) = axes.bar(item["hour"] + offset, item["occupancy_percent"], 0.4, color=colour)
                    bar.set_gid(f"bar-{tag}-{item['hour']}")
        axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        axes.set_xlim(-0.7, 23.7)
        axes.set_xlabel(words(N_("local hour")))
        _percent_axis(axes, words)
        _legend(axes, report)
        return _save(figure, fmt)


def revenue_chart(report: Report, fmt: Format = "svg", words: Wording = ENGLISH) -> bytes:
    """Billed, collected and outstanding money of the period beside the previous period's."""
    currency = report["currency"]
    scale = 10 ** exponent(currency)
    figures = ("billed", "collected", "outstanding")
    title = words(N_("Revenue (%(currency)s) — %(place)s"), currency=currency, place=_place(report))
    with _figure(title) as (figure, axes):
        for offset, tag, colour in ((0.2, "current", CURRENT_COLOUR), (-0.2, "previous", PREVIOUS_COLOUR)):
            for x, key in enumerate(figures):
                (bar,) = axes.bar(x + offset, report[tag]["revenue"][key] / scale, 0.4, color=colour)
                bar.set_gid(f"bar-{tag}-{key}")
        axes.set_xticks(
            range(len(figures)), [words(N_("Billed")), words(N_("Collected")), words(N_("Outstanding"))]
        )
        axes.set_ylabel(currency)
        axes.set_ylim(bottom=0)
        _legend(axes, report)
        return _save(figure, fmt)


def occupancy_series_chart(report: Report, fmt: Format = "svg", words: Wording = ENGLISH) -> bytes:
    """Occupancy per hour (a day) or per day (a week or month); the previous period dashed,
    point for point (its n-th hour or day under this period's n-th)."""
    with _figure(words(N_("Occupancy over the period — %(place)s"), place=_place(report))) as (figure, axes):
        for tag, colour, style in (("previous", PREVIOUS_COLOUR, "--"), ("current", CURRENT_COLOUR, "-")):
            values = [_nan(b["occupancy_percent"]) for b in report[tag]["occupancy"]["series"]]
            (line,) = axes.plot(range(len(values)), values, style, color=colour, marker=".")
            line.set_gid(f"line-{tag}")
        longest = max((report[tag]["occupancy"]["series"] for tag in ("current", "previous")), key=len)
        ticks = list(range(0, len(longest), max(1, len(longest) // 12)))
        axes.set_xticks(ticks, [_tick(longest[i]["label"], i) for i in ticks])
        by_hour = report["current"]["period"]["granularity"] == "hour"
        axes.set_xlabel(words(N_("local hour")) if by_hour else words(N_("day of the period")))
        _percent_axis(axes, words)
        _legend(axes, report)
        return _save(figure, fmt)


def road_map_chart(
    roads: Sequence[dict[str, Any]],
    title: str,
    fmt: Format = "svg",
    street_reports: Sequence[dict[str, Any]] = (),
    words: Wording = ENGLISH,
) -> bytes:
    """The roads' outlines (GeoJSON polygons, lng/lat) coloured by occupancy; grey where the
    period has no figure. `roads`: `{"name", "occupancy_percent", "geometry"}` each. Street-order
    reports of the period (`{"kind", "lat", "lng"}`: a vending stall, goods on the road...)
    are marked where they were made, one marker shape per kind."""
    colours = matplotlib.colormaps[OCCUPANCY_COLOURS]
    scale = Normalize(0, 100)
    with _figure(title, size=(8.0, 6.0)) as (figure, axes):
        for number, road in enumerate(roads, start=1):
            value = road["occupancy_percent"]
            colour = UNKNOWN_COLOUR if value is None else colours(scale(value))
            for ring in _rings(road["geometry"]):
                patch = Polygon(ring, closed=True, facecolor=colour, edgecolor=colour, linewidth=2.5)
                patch.set_gid(f"road-{number}")
                axes.add_patch(patch)
            x, y = _centre(road["geometry"])
            shown = words(N_("no data")) if value is None else f"{value:.0f}%"
            axes.annotate(f"{road['name']} {shown}", (x, y), fontsize=7, ha="center", va="bottom")
        _mark_street_reports(axes, street_reports, words)
        axes.autoscale_view()
        axes.set_aspect(1 / _cos_lat(roads))
        axes.set_axis_off()
        mappable = matplotlib.cm.ScalarMappable(norm=scale, cmap=colours)
        figure.colorbar(mappable, ax=axes, shrink=0.7, label=words(N_("occupancy %")))
        return _save(figure, fmt)


# Street-order reports on the road map: the kind, its marker and colour.
STREET_MARKERS = {
    "vending": ("^", "#7c2d12"),
    "goods_on_road": ("s", "#1e3a8a"),
    "construction": ("D", "#713f12"),
    "other": ("o", "#374151"),
}
# The legend's words for each kind, with its count.
_STREET_LABELS = {
    "vending": N_("vending (%(count)s)"),
    "goods_on_road": N_("goods on road (%(count)s)"),
    "construction": N_("construction (%(count)s)"),
    "other": N_("other (%(count)s)"),
}


def _mark_street_reports(axes: Any, reports: Sequence[dict[str, Any]], words: Wording) -> None:
    for kind, (marker, colour) in STREET_MARKERS.items():
        points = [(r["lng"], r["lat"]) for r in reports if r["kind"] == kind]
        if points:
            label = words(_STREET_LABELS[kind], count=len(points))
            dots = axes.scatter(
                *zip(*points, strict=True), marker=marker, color=colour, s=28, label=label, zorder=3
            )
            dots.set_gid(f"street-{kind}")
    if reports:
        axes.legend(loc="lower right", fontsize=7, title=words(N_("street reports")), title_fontsize=7)


def render_chart(
    name: str,
    report: Report,
    roads: Sequence[dict[str, Any]],
    fmt: Format = "svg",
    street_reports: Sequence[dict[str, Any]] = (),
    words: Wording = ENGLISH,
) -> bytes:
    """The chart called `name` (one of CHART_NAMES), in the words given."""
    if name == "road-map":
        title = words(N_("Occupancy by road — %(period)s"), period=_period(report))
        return road_map_chart(roads, title, fmt, street_reports, words)
    draw = {
        "hourly-occupancy": hourly_occupancy_chart,
        "revenue": revenue_chart,
        "occupancy-series": occupancy_series_chart,
    }[name]
    return draw(report, fmt, words)


@contextmanager
def _figure(title: str, size: tuple[float, float] = _SIZE) -> Iterator[tuple[Figure, Axes]]:
    settings: dict[RcKeyType, Any] = {
        "font.family": list(font_families()),
        "svg.fonttype": "path",
        "svg.hashsalt": "report",
    }
    with _DRAWING, matplotlib.rc_context(settings):
        figure = Figure(figsize=size, layout="constrained")
        axes = figure.add_subplot()
        axes.set_title(title, fontsize=11)
        yield figure, axes


def _save(figure: Figure, fmt: Format) -> bytes:
    out = io.BytesIO()
    if fmt == "svg":
        figure.savefig(out, format="svg", metadata={"Date": None})
    else:
        figure.savefig(out, format="png", dpi=_PNG_DPI, metadata={"Software": None})
    return out.getvalue()


def _legend(axes: Axes, report: Report) -> None:
    axes.legend(
        handles=[
            matplotlib.patches.Patch(color=CURRENT_COLOUR, label=_period(report)),
            matplotlib.patches.Patch(color=PREVIOUS_COLOUR, label=_period(report, "previous")),
        ],
        fontsize=8,
        loc="upper left",
    )


def _percent_axis(axes: Axes, words: Wording) -> None:
    axes.set_ylim(0, 100)
    axes.set_ylabel(words(N_("occupancy %")))
    axes.grid(axis="y", alpha=0.3)


def _place(report: Report) -> str:
    return str(report["place"]["name"])


def _period(report: Report, tag: str = "current") -> str:
    period = report[tag]["period"]
    start, end = period["start"], period["end"]
    return str(start) if start == end else f"{start} – {end}"


def _tick(label: str, index: int) -> str:
    """An hour's label `2026-03-01T09:00` -> `09`; a day's -> its number in the period (the
    previous period's days sit under the same numbers)."""
    return label[11:13] if "T" in label else str(index + 1)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _rings(geometry: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon, as (lng, lat) points."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [[(float(x), float(y)) for x, y, *_ in polygon[0]] for polygon in polygons]


def _centre(geometry: dict[str, Any]) -> tuple[float, float]:
    points = [point for ring in _rings(geometry) for point in ring]
    return sum(p[0] for p in points) / len(points), max(p[1] for p in points)


def _cos_lat(roads: Sequence[dict[str, Any]]) -> float:
    """Metres per degree of longitude over metres per degree of latitude, at the roads."""
    lats = [y for road in roads for ring in _rings(road["geometry"]) for _, y in ring]
    return math.cos(math.radians(sum(lats) / len(lats))) if lats else 1.0
