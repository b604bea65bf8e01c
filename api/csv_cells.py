"""One rule for text that goes into a CSV cell a spreadsheet may open: no formulas.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a formula
by Excel, LibreOffice or Sheets (CSV injection); such text is prefixed with `'`, which the
spreadsheet shows as plain text. Road names come from operators' GeoJSON, so every CSV this
API writes (reports, reconciliation, the police feed) passes its cells through `csv_cell`."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Empty for None; text that a spreadsheet would run as a formula is quoted with `'`."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value
