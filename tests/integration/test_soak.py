"""`flask --app api soak`: a short run at a small scale on SQLite answers every request,
reports its figures, and finds the database as the clients left it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KINDS = {
    "stake_event",
    "heartbeat",
    "vacancy",
    "road_bays",
    "forecast",
    "plate_unpaid",
    "plate_pay",
    "registration",
    "plate_check",
    "warden_tasks",
    "bureau_summary",
    "bureau_problems",
}


def test_a_short_soak_has_no_errors_and_reports_latency_memory_and_checks(tmp_path: Path) -> None:
    report_file = tmp_path / "soak.json"
    # the command's own app never needs a database; keep it off the developer's var/
    env = {**os.environ, "PARKING_DATABASE_URL": f"sqlite:///{tmp_path}/outer.db"}
    command = [
        "soak",
        "--database",
        "sqlite",
        "--minutes",
        "0.33",
        "--scale",
        "5",
        "--json",
        str(report_file),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "api", *command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "PASSED" in done.stdout and "p99 ms" in done.stdout and "last third" in done.stdout
    report = json.loads(report_file.read_text())
    assert report["errors"] == {} and report["passed"] is True
    assert 19 <= report["seconds"] < 40 and report["scale"] == 5
    assert set(report["kinds"]) >= KINDS
    for kind, figures in report["kinds"].items():
        assert figures["requests"] >= 1 and figures["errors"] == 0, kind
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"], kind
    assert report["requests_per_s"] > 20 and report["heartbeats_per_s"] > 15
    assert report["targets"]["vacancy"] == 5 * 3 * 430 / 3600

    memory = report["memory"]
    workers = [name for name in memory if name.startswith("gunicorn worker")]
    assert {"gunicorn master", "scheduler", "localstripe"} <= set(memory) and len(workers) == 2
    for name, process in memory.items():
        assert process["samples"] >= 10 and process["start_mb"] > 10 and not process["unbounded"], name

    checks = report["checks"]
    assert set(checks) == {
        "events logged once",
        "one stay per arrival",
        "POS payments recorded",
        "card payments succeeded",
    }
    assert all(check["ok"] for check in checks.values()), checks
    assert report["under_way_at_start"] > 100  # the peak's parked vehicles, sent at the start
