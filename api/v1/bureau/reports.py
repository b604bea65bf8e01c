"""Bureau reports: `GET /api/v1/<district>/reports/summary` and `/reports/top-problems`.

JSON by default (shape in docs/REPORTS.md, schemas in api/v1/schemas/reports.py); `?format=csv`
answers `text/csv`, one section per table (a title row, a header row, the rows, an empty row);
`?format=xlsx` an Excel workbook with one sheet per section. Both exports are built from the
JSON itself, so they hold the same figures. Money is integer minor units of `currency`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, request

from api.auth import clock_now, require_staff
from api.csv_cells import csv_cell
from api.database import get_db
from api.openapi import documented
from api.report_labels import localise
from api.v1.schemas.reports import ProblemsOut, ProblemsQuery, ReportOut, RoadProblemOut, SummaryQuery
from parking.inventory import get_district
from reports.figures import bin_label
from reports.periods import Period, period_of, require_started
from reports.places import find_place
from reports.problems import Problems, RoadFigures, top_problems
from reports.summary import Figures, Report, summary_report

bp = Blueprint("reports", __name__, url_prefix="/api/v1/<district>/reports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = ("application/json", "text/csv", XLSX)
Section = tuple[str, list[str], list[list[Any]]]


@bp.get("/summary")
@documented(
    "The bureau report of the district, an area or a road for a day, week or month, beside the period before",
    ReportOut,
    query=SummaryQuery,
    errors=(400, 401, 403, 404),
    media=MEDIA,
)
def summary(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    args = SummaryQuery().load(request.args)
    now = clock_now()
    period = period_of(args["period"], args["start"], ZoneInfo(place.time_zone))
    require_started(period, now)
    where = find_place(db, place, args["place_type"], args["place_id"])
    body = ReportOut().dump(report_json(summary_report(db, place, where, period, now)))
    name = f"report-{place.slug}-{where.kind}-{period.kind}-{period.first.isoformat()}"
    return _answer(body, args["format"], name, report_sections)


@bp.get("/top-problems")
@documented(
    "The district's roads with the most violations, the lowest collection rate, the highest and lowest occupancy",
    ProblemsOut,
    query=ProblemsQuery,
    errors=(400, 401, 403, 404),
    media=MEDIA,
)
def problems(district: str) -> Response:
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    args = ProblemsQuery().load(request.args)
    now = clock_now()
    period = period_of(args["period"], args["start"], ZoneInfo(place.time_zone))
    require_started(period, now)
    body = ProblemsOut().dump(problems_json(top_problems(db, place, period, now, args["limit"])))
    name = f"top-problems-{place.slug}-{period.kind}-{period.first.isoformat()}"
    return _answer(body, args["format"], name, problem_sections)


def _answer(
    body: dict[str, Any], kind: str, name: str, sections: Callable[[dict[str, Any]], list[Section]]
) -> Response:
    if kind == "json":
        return jsonify(body)
    if kind == "csv":
        response = Response(to_csv(localise(sections(body))), mimetype="text/csv")
    else:
        response = Response(to_xlsx(localise(sections(body))), mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    return response


def period_json(period: Period) -> dict[str, Any]:
    return {"kind": period.kind, "start": period.first, "end": period.last, "granularity": period.granularity}


def report_json(report: Report) -> dict[str, Any]:
    district, place = report.district, report.place
    return {
        "district": district.slug,
        "time_zone": district.time_zone,
        "currency": district.currency,
        "generated_at": report.generated_at,
        "place": {"type": place.kind, "id": place.uuid, "name": place.name},
        "current": figures_json(report.current),
        "previous": figures_json(report.previous),
    }


def figures_json(figures: Figures) -> dict[str, Any]:
    occupancy, stays, revenue = figures.occupancy, figures.stays, figures.revenue
    return {
        "period": period_json(figures.period),
        "occupancy": {
            "mean_percent": occupancy.mean_percent,
            "peak_hours": [{"hour": h, "occupancy_percent": v} for h, v in occupancy.peak_hours],
            "by_hour_of_day": [{"hour": h, "occupancy_percent": v} for h, v in occupancy.by_hour_of_day],
            "series": [asdict(bucket) for bucket in occupancy.series],
        },
        "stays": {
            **{k: v for k, v in asdict(stays).items() if k != "dwell_bins"},
            "dwell_bins": [
                {"label": bin_label(low, high), "from_minutes": low, "to_minutes": high, "stays": n}
                for low, high, n in stays.dwell_bins
            ],
        },
        "revenue": {
            **{k: v for k, v in asdict(revenue).items() if k not in ("channels", "arrears_ageing")},
            "net_collected": revenue.net_collected,
        },
        "channels": [
            {"channel": c, "payments": n, "amount": a, "share": share}
            for c, n, a, share in revenue.channel_shares()
        ],
        "arrears_ageing": [
            {"label": bin_label(low, high), "from_days": low, "to_days": high, "fees": n, "amount": a}
            for low, high, n, a in revenue.arrears_ageing
        ],
        "violations": [{"rule": rule, "count": n} for rule, n in figures.violations],
        "citations": [
            {"rule": rule, "count": n, "voided": v, "fines": f} for rule, n, v, f in figures.citations
        ],
        "response_times": [
            {
                "team": r.team,
                "created": r.created,
                "taken": r.taken,
                "resolved": r.resolved,
                "take_median_seconds": r.take_median_s,
                "take_p90_seconds": r.take_p90_s,
                "resolve_median_seconds": r.resolve_median_s,
                "resolve_p90_seconds": r.resolve_p90_s,
            }
            for r in figures.responses
        ],
        "devices": [
            {"kind": k, "devices": n, "outages": o, "offline_seconds": s, "uptime_percent": u}
            for k, n, o, s, u in figures.devices
        ],
    }


def problems_json(problems: Problems) -> dict[str, Any]:
    district = problems.district

    def roads(rows: list[RoadFigures]) -> list[dict[str, Any]]:
        return [
            {
                "road": r.uuid,
                "name": r.name,
                "violations": r.violations,
                "billed": r.billed,
                "paid": r.paid,
                "collection_rate": r.collection_rate,
                "occupancy_percent": r.occupancy_percent,
            }
            for r in rows
        ]

    return {
        "district": district.slug,
        "time_zone": district.time_zone,
        "currency": district.currency,
        "period": period_json(problems.period),
        "most_violations": roads(problems.most_violations),
        "lowest_collection_rate": roads(problems.lowest_collection_rate),
        "highest_occupancy": roads(problems.highest_occupancy),
        "lowest_occupancy": roads(problems.lowest_occupancy),
    }


# --- exports: the JSON cut into flat tables ------------------------------------------------

_PER_PERIOD = (
    ("occupancy_series", ("occupancy", "series")),
    ("occupancy_by_hour", ("occupancy", "by_hour_of_day")),
    ("peak_hours", ("occupancy", "peak_hours")),
    ("dwell_bins", ("stays", "dwell_bins")),
    ("channels", ("channels",)),
    ("arrears_ageing", ("arrears_ageing",)),
    ("violations", ("violations",)),
    ("citations", ("citations",)),
    ("response_times", ("response_times",)),
    ("devices", ("devices",)),
)
_MONEY_SECTIONS = ("channels", "arrears_ageing", "citations")
_UNITS = {
    "mean_percent": "percent",
    "turnover_per_bay_per_day": "stays per bay per day",
    "dwell_mean_minutes": "minutes",
    "dwell_median_minutes": "minutes",
    "collection_rate": "fraction",
}


def report_sections(body: dict[str, Any]) -> list[Section]:
    """`about`, `summary` (one row per headline figure: current and previous side by side),
    then one table per list of the figures, each row tagged with its period."""
    current, previous = body["current"], body["previous"]
    about = [
        ["district", body["district"]],
        ["place_type", body["place"]["type"]],
        ["place_id", body["place"]["id"]],
        ["place_name", body["place"]["name"]],
        ["period", current["period"]["kind"]],
        ["start", current["period"]["start"]],
        ["end", current["period"]["end"]],
        ["previous_start", previous["period"]["start"]],
        ["previous_end", previous["period"]["end"]],
        ["time_zone", body["time_zone"]],
        ["currency", body["currency"]],
        ["generated_at", body["generated_at"]],
    ]
    summary = [
        [
            "occupancy_mean_percent",
            "percent",
            current["occupancy"]["mean_percent"],
            previous["occupancy"]["mean_percent"],
        ]
    ]
    for group in ("stays", "revenue"):
        for key, value in current[group].items():
            if not isinstance(value, list):
                unit = _UNITS.get(key, "count" if group == "stays" or key == "fees" else body["currency"])
                summary.append([f"{group}_{key}", unit, value, previous[group][key]])
    sections: list[Section] = [
        ("about", ["key", "value"], about),
        ("summary", ["figure", "unit", "current", "previous"], summary),
    ]
    for name, path in _PER_PERIOD:
        rows: list[list[Any]] = []
        header: list[str] = []
        for tag, figures in (("current", current), ("previous", previous)):
            items: Any = figures
            for key in path:
                items = items[key]
            for item in items:
                header = ["period", *item]
                extra = [body["currency"]] if name in _MONEY_SECTIONS else []
                rows.append([tag, *item.values(), *extra])
        if name in _MONEY_SECTIONS and header:
            header.append("currency")
        sections.append((name, header, rows))
    return sections


def problem_sections(body: dict[str, Any]) -> list[Section]:
    """One table per ranking, with the period and the currency of the money columns."""
    out: list[Section] = []
    for name in ("most_violations", "lowest_collection_rate", "highest_occupancy", "lowest_occupancy"):
        header = ["rank", *RoadProblemOut().fields, "currency"]
        rows = [[n, *road.values(), body["currency"]] for n, road in enumerate(body[name], start=1)]
        out.append((name, header, rows))
    return out


def to_csv(sections: list[Section]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for name, header, rows in sections:
        writer.writerow([name])
        writer.writerow(header)
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        writer.writerow([])
    return out.getvalue()


def to_xlsx(sections: list[Section]) -> bytes:
    """One sheet per section; numbers stay numbers, missing figures are empty cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, header, rows in sections:
        sheet = book.create_sheet(name[:31])
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_xlsx_cell(v) for v in row])
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
