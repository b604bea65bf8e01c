"""The bureau's CSV and XLSX exports in the request's language (docs/I18N.md): the section
titles (sheet names) and the column headers go through the catalogue with the context
"report", so that the English catalogue keeps the field names a script reads (`rank`,
`occupancy_percent`...) while the Chinese one gives the analyst's words. The rows (figures,
dates, codes such as a rule or a channel) stay data."""

from __future__ import annotations

from typing import Any

from flask_babel import pgettext

Section = tuple[str, list[str], list[list[Any]]]


def _labels() -> dict[str, str]:
    """Every title and header of the exports, by field name, in the request's language."""
    return {
        # sections
        "about": pgettext("report", "about"),
        "summary": pgettext("report", "summary"),
        "occupancy_series": pgettext("report", "occupancy_series"),
        "occupancy_by_hour": pgettext("report", "occupancy_by_hour"),
        "peak_hours": pgettext("report", "peak_hours"),
        "dwell_bins": pgettext("report", "dwell_bins"),
        "channels": pgettext("report", "channels"),
        "arrears_ageing": pgettext("report", "arrears_ageing"),
        "violations": pgettext("report", "violations"),
        "citations": pgettext("report", "citations"),
        "response_times": pgettext("report", "response_times"),
        "devices": pgettext("report", "devices"),
        "most_violations": pgettext("report", "most_violations"),
        "lowest_collection_rate": pgettext("report", "lowest_collection_rate"),
        "highest_occupancy": pgettext("report", "highest_occupancy"),
        "lowest_occupancy": pgettext("report", "lowest_occupancy"),
        # columns
        "key": pgettext("report", "key"),
        "value": pgettext("report", "value"),
        "figure": pgettext("report", "figure"),
        "unit": pgettext("report", "unit"),
        "current": pgettext("report", "current"),
        "previous": pgettext("report", "previous"),
        "period": pgettext("report", "period"),
        "label": pgettext("report", "label"),
        "hour": pgettext("report", "hour"),
        "occupancy_percent": pgettext("report", "occupancy_percent"),
        "stays": pgettext("report", "stays"),
        "from_minutes": pgettext("report", "from_minutes"),
        "to_minutes": pgettext("report", "to_minutes"),
        "channel": pgettext("report", "channel"),
        "payments": pgettext("report", "payments"),
        "amount": pgettext("report", "amount"),
        "share": pgettext("report", "share"),
        "currency": pgettext("report", "currency"),
        "from_days": pgettext("report", "from_days"),
        "to_days": pgettext("report", "to_days"),
        "fees": pgettext("report", "fees"),
        "rule": pgettext("report", "rule"),
        "count": pgettext("report", "count"),
        "voided": pgettext("report", "voided"),
        "fines": pgettext("report", "fines"),
        "team": pgettext("report", "team"),
        "created": pgettext("report", "created"),
        "taken": pgettext("report", "taken"),
        "resolved": pgettext("report", "resolved"),
        "take_median_seconds": pgettext("report", "take_median_seconds"),
        "take_p90_seconds": pgettext("report", "take_p90_seconds"),
        "resolve_median_seconds": pgettext("report", "resolve_median_seconds"),
        "resolve_p90_seconds": pgettext("report", "resolve_p90_seconds"),
        "kind": pgettext("report", "kind"),
        "outages": pgettext("report", "outages"),
        "offline_seconds": pgettext("report", "offline_seconds"),
        "uptime_percent": pgettext("report", "uptime_percent"),
        "rank": pgettext("report", "rank"),
        "road": pgettext("report", "road"),
        "name": pgettext("report", "name"),
        "billed": pgettext("report", "billed"),
        "paid": pgettext("report", "paid"),
        "collection_rate": pgettext("report", "collection_rate"),
    }


def localise(sections: list[Section]) -> list[Section]:
    """The sections with their titles and headers in the request's language; a field the
    catalogue does not know keeps its name."""
    labels = _labels()
    return [
        (labels.get(name, name), [labels.get(h, h) for h in header], rows) for name, header, rows in sections
    ]
