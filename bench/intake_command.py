"""Benchmark commands (figures go to docs/BENCHMARKS.md with the command that made them)."""

from __future__ import annotations

import click

from fixtures.pgcluster import find_pg_bin


@click.command("bench-intake")
@click.option(
    "--database", type=click.Choice(["sqlite", "postgresql", "both"]), default="both", show_default=True
)
@click.option("--events", default=100_000, show_default=True, type=click.IntRange(1000))
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 1000))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--clients", default=2, show_default=True, type=click.IntRange(1, 32))
@click.option(
    "--melbourne/--no-melbourne",
    default=True,
    show_default=True,
    help="Also time the replay of the Melbourne day through the same server.",
)
@click.option(
    "--one-per-request",
    is_flag=True,
    help="Instead: one event a request, as a stake reports an arrival, under wrk "
    "(--duration seconds, --connections).",
)
@click.option("--duration", default=15, show_default=True, type=click.IntRange(1, 300))
@click.option("--connections", default=8, show_default=True, type=click.IntRange(1, 1000))
def bench_intake(
    database: str,
    events: int,
    batch_size: int,
    workers: int,
    clients: int,
    melbourne: bool,
    one_per_request: bool,
    duration: int,
    connections: int,
) -> None:
    """Events per second through POST /cds/<district>/events/event under gunicorn."""
    from bench.intake import run_intake

    if one_per_request:
        from bench.street import bench_single_events

        for line in bench_single_events(database, duration, connections, workers):
            click.echo(line)
        return
    kinds = ["sqlite", "postgresql"] if database == "both" else [database]
    if "postgresql" in kinds and find_pg_bin() is None:
        raise click.ClickException("PostgreSQL is not installed here (no initdb/pg_ctl)")
    for kind in kinds:
        click.echo(f"{kind}: running...", err=True)
        click.echo(run_intake(kind, events, batch_size, workers, clients, melbourne=melbourne).line())
