"""`flask --app api profile-requests` (issue 17 item 1) runs from end to end on SQLite: each
request kind gets its CPU time, statements, Python calls and stages, all counted."""

from __future__ import annotations

import re
from pathlib import Path

from bench.profile import STAGES, profile_database


def test_the_profile_prints_each_request_kinds_cost_and_its_stages(tmp_path: Path) -> None:
    lines = profile_database(f"sqlite:///{tmp_path / 'profile.db'}", "sqlite", 50)
    heads = {line.strip().split(":")[0]: line for line in lines if "ms CPU/request" in line}
    assert sorted(heads) == sorted(STAGES)
    for line in heads.values():
        figures = re.search(r"([\d.]+) ms CPU.*?([\d.]+) SQL statements/request, ([\d,]+) Python calls", line)
        assert figures is not None, line
        cpu, statements, calls = float(figures[1]), float(figures[2]), int(figures[3].replace(",", ""))
        assert cpu > 0 and 3 <= statements <= 12 and 500 < calls < 20_000, line
    stages = [line.split()[0] for line in lines if line.startswith("    ")]
    assert "other" in stages
