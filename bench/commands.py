"""The benchmark and soak commands of `flask --app api`, registered with the app's CLI."""

from __future__ import annotations

from flask import Flask

from bench.intake_command import bench_intake
from bench.pricing import bench_pricing
from bench.profile import profile_requests
from bench.reports import bench_reports
from bench.soak import soak
from bench.storage import bench_storage
from bench.street import bench_patrol, bench_plate_check
from bench.sweep import bench_sweep
from bench.vacancy import bench_vacancy

COMMANDS = (
    bench_intake,
    bench_patrol,
    bench_plate_check,
    bench_pricing,
    bench_reports,
    bench_storage,
    bench_sweep,
    bench_vacancy,
    profile_requests,
    soak,
)


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
