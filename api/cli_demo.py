"""Demo commands under `flask --app api`: live simulated traffic for the demo district."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click


@click.command("simulate")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="Base URL of the server.")
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Simulated minutes per real minute (more vehicles per minute, never future times).",
)
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many real seconds.")
@click.option("--seed", type=int, help="Seed of the traffic (default: drawn from the start time).")
def simulate(url: str, speed: float, duration: float | None, seed: int | None) -> None:
    """Push live simulated stake and POS traffic for the demo district to a running server,
    each device with its own (published, demo-only) token, until stopped."""
    from fixtures.demo import DEMO_SLUG, demo_layout, demo_token
    from fixtures.live import run_live

    signal.signal(signal.SIGTERM, _exit_quietly)
    tokens = {device.name: demo_token(device.name) for device in demo_layout().devices}
    try:
        run_live(url, DEMO_SLUG, tokens, speed, duration, seed=seed)
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        raise click.ClickException(f"{error} (is the server running and the demo seeded?)") from None


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the simulator like Ctrl-C: a last summary line, no traceback."""
    sys.exit(0)


@click.command("demo-cards")
def demo_cards() -> None:
    """Save a test card for every demo driver without one, through the configured payment
    provider (with no Stripe key: the local server that `make run` starts)."""
    from flask import current_app
    from sqlalchemy import select

    from api.database import new_session
    from api.payments_gateway import get_gateway
    from billing.accounts import save_card
    from billing.gateway import GatewayError
    from billing.models import DriverAccount

    db = new_session(current_app)
    try:
        accounts = db.scalars(
            select(DriverAccount).where(
                DriverAccount.email.like("%@demo.baiyun.example"), DriverAccount.payment_method_id.is_(None)
            )
        ).all()
        gateway = get_gateway()
        for account in accounts:
            save_card(db, gateway, account, "pm_card_visa")
        db.commit()
    except GatewayError as error:
        db.rollback()
        raise click.ClickException(f"the payment provider did not answer: {error}") from None
    finally:
        db.close()
    click.echo(f"{len(accounts)} demo drivers now have a test card saved")
