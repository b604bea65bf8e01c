"""The bureau's CSV and XLSX exports in the request's language (docs/I18N.md): the section
titles (sheet names), the column headers and the words of the rows a person reads (the
`about` keys, the figure names and units of the summary, the period tag, channels, rules,
teams and kinds of device) go through the catalogue with the context "report". The English
catalogue keeps the identifiers a script reads (`rank`, `stays_count`, `overstay`...) while
the Chinese one gives the analyst's words. Numbers, dates, ids and names stay data."""

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


# The columns whose cells are words of the report (codes), not data; and the `about` keys
# whose value is one.
WORD_COLUMNS = frozenset({"key", "figure", "period", "channel", "rule", "team", "kind"})
WORD_VALUES = frozenset({"place_type", "period"})


def _words() -> dict[str, str]:
    """The words rows hold, by code, in the request's language."""
    return {
        # `about` keys
        "district": pgettext("report", "district"),
        "place_type": pgettext("report", "place_type"),
        "place_id": pgettext("report", "place_id"),
        "place_name": pgettext("report", "place_name"),
        "period": pgettext("report", "period"),
        "start": pgettext("report", "start"),
        "end": pgettext("report", "end"),
        "previous_start": pgettext("report", "previous_start"),
        "previous_end": pgettext("report", "previous_end"),
        "time_zone": pgettext("report", "time_zone"),
        "currency": pgettext("report", "currency"),
        "generated_at": pgettext("report", "generated_at"),
        # the summary's figures and units
        "occupancy_mean_percent": pgettext("report", "occupancy_mean_percent"),
        "stays_count": pgettext("report", "stays_count"),
        "stays_ended": pgettext("report", "stays_ended"),
        "stays_bays_in_service": pgettext("report", "stays_bays_in_service"),
        "stays_turnover_per_bay_per_day": pgettext("report", "stays_turnover_per_bay_per_day"),
        "stays_dwell_mean_minutes": pgettext("report", "stays_dwell_mean_minutes"),
        "stays_dwell_median_minutes": pgettext("report", "stays_dwell_median_minutes"),
        "revenue_fees": pgettext("report", "revenue_fees"),
        "revenue_billed": pgettext("report", "revenue_billed"),
        "revenue_paid": pgettext("report", "revenue_paid"),
        "revenue_outstanding": pgettext("report", "revenue_outstanding"),
        "revenue_collection_rate": pgettext("report", "revenue_collection_rate"),
        "revenue_collected": pgettext("report", "revenue_collected"),
        "revenue_refunded": pgettext("report", "revenue_refunded"),
        "revenue_net_collected": pgettext("report", "revenue_net_collected"),
        # the period a row belongs to
        "current": pgettext("report", "current"),
        "previous": pgettext("report", "previous"),
        # payment channels (reports/figures.py CHANNELS)
        "auto": pgettext("report", "auto"),
        "plate": pgettext("report", "plate"),
        "pos_cash": pgettext("report", "pos_cash"),
        "pos_qr": pgettext("report", "pos_qr"),
        "account": pgettext("report", "account"),
        # rules (enforcement/models.py RULES)
        "overstay": pgettext("report", "overstay"),
        "restriction": pgettext("report", "restriction"),
        "unregistered": pgettext("report", "unregistered"),
        "obstruction": pgettext("report", "obstruction"),
        "arrears": pgettext("report", "arrears"),
        # teams (enforcement/models.py TEAMS)
        "attendant": pgettext("report", "attendant"),
        "warden": pgettext("report", "warden"),
        "police": pgettext("report", "police"),
        "city": pgettext("report", "city"),
        "maintenance": pgettext("report", "maintenance"),
        # kinds of device (sensors/models.py DEVICE_KINDS)
        "video_stake": pgettext("report", "video_stake"),
        "handheld_pos": pgettext("report", "handheld_pos"),
        "data_feed": pgettext("report", "data_feed"),
        "patrol_car": pgettext("report", "patrol_car"),
    }


def _units() -> dict[str, str]:
    """The units of the summary's figures (a currency's code stays as it is)."""
    return {
        "percent": pgettext("report unit", "percent"),
        "count": pgettext("report unit", "count"),
        "minutes": pgettext("report unit", "minutes"),
        "fraction": pgettext("report unit", "fraction"),
        "stays per bay per day": pgettext("report unit", "stays per bay per day"),
    }


def _kinds() -> dict[str, str]:
    """The kinds of place and of period an `about` value names (their own context: "road"
    here is a kind of place, where the column `road` holds a road's id)."""
    return {
        "district": pgettext("report kind", "district"),
        "area": pgettext("report kind", "area"),
        "road": pgettext("report kind", "road"),
        "day": pgettext("report kind", "day"),
        "week": pgettext("report kind", "week"),
        "month": pgettext("report kind", "month"),
    }


def localise(sections: list[Section]) -> list[Section]:
    """The sections with their titles, headers and the words of their rows in the request's
    language; a field or code the catalogue does not know keeps its name."""
    labels, words = _labels(), _words()
    per_column = {field: words for field in WORD_COLUMNS} | {"unit": _units()}
    kinds = _kinds()
    return [
        (labels.get(name, name), [labels.get(h, h) for h in header], _rows(header, rows, per_column, kinds))
        for name, header, rows in sections
    ]


def _rows(
    header: list[str],
    rows: list[list[Any]],
    per_column: dict[str, dict[str, str]],
    kinds: dict[str, str],
) -> list[list[Any]]:
    """The rows with each cell of a word column (and an `about` value that is a word) worded."""
    worded = [(i, per_column[field]) for i, field in enumerate(header) if field in per_column]
    out = []
    for row in rows:
        cells = list(row)
        for i, words in worded:
            cells[i] = _word(cells[i], words)
        if header == ["key", "value"] and row[0] in WORD_VALUES:
            cells[1] = _word(cells[1], kinds)
        out.append(cells)
    return out


def _word(value: Any, words: dict[str, str]) -> Any:
    return words.get(value, value) if isinstance(value, str) else value
