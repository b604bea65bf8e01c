"""The bureau report as pictures: `GET /api/v1/<district>/reports/charts/<name>.svg` (the
dashboard's charts) and `GET /api/v1/<district>/reports/monthly.pdf?month=YYYY-MM` (the
printable monthly report: cover, key figures beside the previous month, the same charts as
PNG, the top problem roads). Both read the report JSON of `api.v1.bureau.reports`, as the dashboard
does, and the same roles may read them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request
from fpdf import FPDF, FontFace
from marshmallow import Schema, ValidationError, fields, validate, validates

from api.auth import clock_now, require_staff
from api.database import get_db
from api.errors import ApiError, error_response
from api.i18n import wording
from api.openapi import documented
from api.schemas import QuerySchema
from api.v1.bureau.reports import problems_json, report_json
from api.v1.schemas.reports import ProblemsOut, ReportOut, SummaryQuery
from billing.pdf import WIDTH, FontMissingError, new_pdf, paragraph
from billing.wording import Wording
from enforcement.street_reports import street_reports
from parking.errors import N_, Message
from parking.inventory import get_district
from parking.models import District
from reports.charts import CHART_NAMES, ChartFontMissingError, render_chart
from reports.periods import period_of, require_started
from reports.places import find_place
from reports.problems import road_occupancy, top_problems
from reports.summary import summary_report

_HEADINGS = FontFace(fill_color=(225, 230, 236))  # DejaVu is registered without a bold face

bp = Blueprint("report_documents", __name__, url_prefix="/api/v1/<district>/reports")


class ChartQuery(SummaryQuery):
    class Meta:
        exclude = ("format",)


class MonthlyQuery(QuerySchema):
    month = fields.String(required=True, validate=validate.Regexp(r"^20\d{2}-\d{2}$"))  # 2000-01 to 2099-12

    @validates("month")
    def _real_month(self, value: str, **_: Any) -> None:
        if not 1 <= int(value[5:]) <= 12:
            raise ValidationError("month must be YYYY-MM")


class ChartOut(Schema):
    """The chart itself: an SVG document (text is drawn as paths; no scripts, no links)."""


class DocumentOut(Schema):
    """The monthly report as an A4 PDF."""


@bp.get("/charts/<name>.svg")
@documented(
    "A chart of the bureau report (hourly-occupancy, revenue, occupancy-series or road-map) as SVG",
    ChartOut,
    query=ChartQuery,
    errors=(400, 401, 403, 404),
    media=("image/svg+xml",),
)
def chart(district: str, name: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    if name not in CHART_NAMES:
        raise ApiError(
            404,
            "unknown_chart",
            Message(
                N_("no chart %(name)s; charts: %(charts)s"), {"name": name, "charts": ", ".join(CHART_NAMES)}
            ),
        )
    args = ChartQuery().load(request.args)
    now = clock_now()
    period = period_of(args["period"], args["start"], ZoneInfo(place.time_zone))
    require_started(period, now)
    where = find_place(db, place, args["place_type"], args["place_id"])
    report = ReportOut().dump(report_json(summary_report(db, place, where, period, now)))
    roads = road_occupancy(db, place, where, period, now) if name == "road-map" else []
    marks = _street_marks(db, place, period.start, min(period.end, now)) if name == "road-map" else []
    try:
        svg = render_chart(name, report, roads, "svg", marks, wording())
    except ChartFontMissingError as error:
        return error_response(500, error.code, str(error))
    response = Response(svg, content_type="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _street_marks(db: Any, place: Any, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The period's street-order reports, for the road map (city management's work)."""
    return [
        {"kind": task.details.get("report"), "lat": task.lat, "lng": task.lng}
        for task in street_reports(db, place, since, until)
        if task.lat is not None and task.lng is not None
    ]


@bp.get("/monthly.pdf")
@documented(
    "The district's monthly report as a printable A4 PDF, beside the previous month",
    DocumentOut,
    query=MonthlyQuery,
    errors=(400, 401, 403, 404),
    media=("application/pdf",),
)
def monthly_pdf(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    month = MonthlyQuery().load(request.args)["month"]
    now = clock_now()
    period = period_of("month", date(int(month[:4]), int(month[5:]), 1), ZoneInfo(place.time_zone))
    require_started(period, now)
    where = find_place(db, place, "district", None)
    report = ReportOut().dump(report_json(summary_report(db, place, where, period, now)))
    problems = ProblemsOut().dump(problems_json(top_problems(db, place, period, now)))
    roads = road_occupancy(db, place, where, period, now)
    try:
        document = monthly_report_pdf(place, report, problems, roads)
    except (ChartFontMissingError, FontMissingError) as error:
        return error_response(500, error.code, str(error))
    response = Response(document, mimetype="application/pdf")
    name = f"report-{place.slug}-{month}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the PDF ---------------------------------------------------------------------------------


def monthly_report_pdf(
    district: District, report: dict[str, Any], problems: dict[str, Any], roads: list[dict[str, Any]]
) -> bytes:
    """Cover and key figures, one page per chart pair, then the top problem roads."""
    words = wording()
    # The same report: the same bytes.
    pdf = new_pdf(datetime.fromisoformat(report["generated_at"]), page=words(N_("Page")))
    month = report["current"]["period"]["start"][:7]
    pdf.set_title(words(N_("%(district)s monthly report %(month)s"), district=district.name, month=month))
    pdf.add_page()
    _cover(pdf, district, report, words)
    _key_figures(pdf, report, words)
    for first, second in (("hourly-occupancy", "occupancy-series"), ("revenue", "road-map")):
        pdf.add_page()
        for name in (first, second):
            png = render_chart(name, report, roads, "png", words=words)
            pdf.image(png, w=WIDTH if name != "road-map" else WIDTH * 0.8, x=pdf.l_margin)
            pdf.ln(4)
    pdf.add_page()
    _problems(pdf, report, problems, words)
    return bytes(pdf.output())


def _cover(pdf: FPDF, district: District, report: dict[str, Any], words: Wording) -> None:
    current, previous = report["current"]["period"], report["previous"]["period"]
    zone = ZoneInfo(report["time_zone"])
    generated = datetime.fromisoformat(report["generated_at"]).astimezone(zone)
    paragraph(pdf, district.name, size=20, height=11)
    paragraph(
        pdf, words(N_("Monthly parking report %(month)s"), month=current["start"][:7]), size=15, height=9
    )
    paragraph(
        pdf,
        words(
            N_("District %(district)s · %(start)s to %(end)s (%(zone)s)"),
            district=report["district"],
            start=current["start"],
            end=current["end"],
            zone=report["time_zone"],
        ),
    )
    paragraph(
        pdf, words(N_("Previous month %(start)s to %(end)s"), start=previous["start"], end=previous["end"])
    )
    paragraph(pdf, words(N_("Generated at %(time)s local time"), time=words.moment(generated)))
    pdf.ln(6)


def _key_figures(pdf: FPDF, report: dict[str, Any], words: Wording) -> None:
    paragraph(pdf, words(N_("Key figures")), size=13, height=8)
    currency = report["currency"]
    with pdf.table(
        col_widths=(80, 50, 50), text_align=("LEFT", "RIGHT", "RIGHT"), headings_style=_HEADINGS
    ) as table:
        table.row((words(N_("figure")), words(N_("this month")), words(N_("previous month"))))
        for label, pick, kind in _FIGURES:
            cells = [_shown(pick(report[tag]), kind, currency, words) for tag in ("current", "previous")]
            table.row((words(label), *cells))


_FIGURES: tuple[tuple[str, Any, str], ...] = (
    (N_("Mean occupancy"), lambda f: f["occupancy"]["mean_percent"], "percent"),
    (N_("Stays started"), lambda f: f["stays"]["count"], "count"),
    (N_("Turnover per bay per day"), lambda f: f["stays"]["turnover_per_bay_per_day"], "decimal"),
    (N_("Mean dwell (minutes)"), lambda f: f["stays"]["dwell_mean_minutes"], "number"),
    (N_("Billed"), lambda f: f["revenue"]["billed"], "money"),
    (N_("Paid on those fees"), lambda f: f["revenue"]["paid"], "money"),
    (N_("Outstanding"), lambda f: f["revenue"]["outstanding"], "money"),
    (N_("Collection rate"), lambda f: f["revenue"]["collection_rate"], "rate"),
    (N_("Collected"), lambda f: f["revenue"]["collected"], "money"),
    (N_("Net collected"), lambda f: f["revenue"]["net_collected"], "money"),
    (N_("Violations"), lambda f: sum(v["count"] for v in f["violations"]), "count"),
    (N_("Citations"), lambda f: sum(c["count"] for c in f["citations"]), "count"),
)


def _shown(value: Any, kind: str, currency: str, words: Wording) -> str:
    if value is None:
        return "–"
    if kind == "money":
        return words.money(int(value), currency)
    if kind == "percent":
        return f"{value:.1f} %"
    if kind == "rate":
        return f"{value * 100:.1f} %"
    if kind == "decimal":
        return f"{value:.2f}"
    return f"{value:g}" if kind == "number" else str(value)


def _problems(pdf: FPDF, report: dict[str, Any], problems: dict[str, Any], words: Wording) -> None:
    paragraph(pdf, words(N_("Top problem roads")), size=13, height=8)
    currency = report["currency"]
    for key, title in (
        ("most_violations", N_("Most violations")),
        ("lowest_collection_rate", N_("Lowest collection rate")),
        ("highest_occupancy", N_("Highest occupancy")),
        ("lowest_occupancy", N_("Lowest occupancy")),
    ):
        paragraph(pdf, words(title), size=11, height=7)
        if not problems[key]:
            paragraph(pdf, words(N_("No road has this figure this month.")), size=9)
            continue
        with pdf.table(
            col_widths=(80, 20, 30, 25, 25), text_align=("LEFT", *["RIGHT"] * 4), headings_style=_HEADINGS
        ) as table:
            table.row(
                (
                    words(N_("road")),
                    words(N_("violations")),
                    words(N_("billed")),
                    words(N_("collection")),
                    words(N_("occupancy")),
                )
            )
            for road in problems[key]:
                table.row(
                    (
                        road["name"],
                        str(road["violations"]),
                        words.money(road["billed"], currency),
                        _shown(road["collection_rate"], "rate", currency, words),
                        _shown(road["occupancy_percent"], "percent", currency, words),
                    )
                )
        pdf.ln(3)
