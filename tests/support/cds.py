"""The project's CDS 1.1 check (fixtures/cds_check.py), on what a route answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.cds_check import envelope_errors, file_errors


def assert_valid_cds(body: dict[str, Any], tmp_path: Path | None = None, name: str = "payload.json") -> None:
    """The check accepts every object of the payload (`tmp_path` and `name` are no longer
    needed: the check takes the payload itself)."""
    assert envelope_errors(body) == []


def assert_valid_cds_file(file: Path) -> None:
    """The check accepts the file (a JSON envelope or a Metrics CSV)."""
    assert file_errors(file) == []
