"""Demo commands under `flask --app api`: live simulated traffic for the demo district.

The command-line shell of `demo-cards`, `seed-history`, `simulate`: each command parses, calls
the domain, reports."""

from __future__ import annotations

import signal
import sys
from types import FrameType
from zoneinfo import ZoneInfo

import click


@click.command("simulate")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="Base URL of the server.")
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="How fast the day's clock runs (its arrival curve) against real time; stays keep their real length.",
)
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many real seconds.")
@click.option("--seed", type=int, help="Seed of the traffic (default: drawn from the start time).")
def simulate(url: str, speed: float, duration: float | None, seed: int | None) -> None:
    """Push the live street of the demo district to a running server until stopped: stake
    and POS traffic, each device with its own (published, demo-only) token, stays of real
    length, plate payments, and now and then a stake that falls silent (docs/DEMO.md)."""
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
    """Save a test card for every demo driver whose card the payment provider does not know:
    one without a card, and one whose card the provider has forgotten (the local server that
    `make run` starts keeps no state, so after a restart every saved card is gone). Run at
    every start; a card the provider still has is left as it is."""
    from flask import current_app
    from sqlalchemy import select

    from api.database import new_session
    from api.payment_gateway import get_gateway
    from billing.gateway import GatewayError
    from billing.saved_cards import save_card
    from identity.models import DriverAccount
    from parking.unit_of_work import writing

    db = new_session(current_app)
    new = replaced = 0
    try:
        with writing(db):
            accounts = db.scalars(
                select(DriverAccount)
                .where(DriverAccount.email.like("%@demo.baiyun.example"))
                .order_by(DriverAccount.id)
            ).all()
            gateway = get_gateway()
            for account in accounts:
                if account.payment_method_id is None or account.customer_id is None:
                    new += 1
                elif account.card_unusable_at is None and gateway.has_payment_method(
                    account.customer_id, account.payment_method_id
                ):
                    continue
                else:  # the provider forgot the customer with the card: both are made again
                    account.customer_id = account.payment_method_id = None
                    replaced += 1
                save_card(db, gateway, account, "pm_card_visa")
    except GatewayError as error:
        raise click.ClickException(f"the payment provider did not answer: {error}") from None
    finally:
        db.close()
    click.echo(
        f"demo cards: {new} saved, {replaced} saved again (the provider had forgotten them), "
        f"{len(accounts) - new - replaced} kept"
    )


@click.command("seed-history")
@click.option("--days", type=click.IntRange(min=1, max=62), default=1, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulated traffic.")
def seed_history(days: int, seed: int) -> None:
    """Fill the demo district with the simulated traffic of the last DAYS whole local days,
    through the same intake as the devices (a day already there changes nothing), so that
    billing, enforcement and reports have a history the live simulation alone cannot give.
    Yesterday includes the README tour's plate, parked 09:00-11:30 and unpaid."""
    from datetime import datetime, timedelta

    from flask import current_app
    from sqlalchemy import select
    from tqdm import tqdm

    from api.database import new_session
    from fixtures.demo import DEMO_SLUG, DEMO_TIME_ZONE, TOUR_PLATE
    from fixtures.fieldwork_demo import seed_demo_fieldwork
    from fixtures.simulator import sim_bays, simulate_day, street_report_events, tour_stay
    from parking.inventory import get_district
    from parking.models import Bay, Road
    from parking.unit_of_work import end_reads, writing
    from sensors.models import Device
    from sensors.services import log_pushed_batch

    zone = ZoneInfo(DEMO_TIME_ZONE)
    now = current_app.extensions["parking.clock"].now()
    db = new_session(current_app)
    try:
        district = get_district(db, DEMO_SLUG)
        spaces = {
            name: (space, zone_id)
            for name, space, zone_id in db.execute(
                select(Bay.name, Bay.uuid, Road.uuid)
                .join(Road, Road.id == Bay.road_id)
                .where(Bay.district_id == district.id)
            )
        }
        devices = {d.uuid: d for d in db.scalars(select(Device).where(Device.district_id == district.id))}
        bays = sim_bays(spaces, {d.name: d.uuid for d in devices.values()})
        ids = {u: d.id for u, d in devices.items()}
        pos_last = {u: d.kind == "handheld_pos" for u, d in devices.items()}
        end_reads(db)  # each chunk below is its own write transaction
        today = now.astimezone(zone).date()
        skew = timedelta(seconds=current_app.config["EVENT_MAX_SKEW_SECONDS"])
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            day_start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
            events = simulate_day(bays, day_start, seed + day.toordinal())
            if back == 1:  # yesterday: the tour's plate parks and does not pay (README)
                events = events + tour_stay(bays, events, day_start, TOUR_PLATE)
            events += street_report_events(bays, day_start, seed + day.toordinal())
            events.sort(key=lambda e: int(str(e["event_time"])))  # stable: same-time order kept
            accepted = 0
            with tqdm(total=len(events), desc=f"{day} ", unit="ev", disable=None) as bar:
                for start in range(0, len(events), 2000):
                    chunk = events[start : start + 2000]
                    by_device: dict[str, list[dict[str, object]]] = {}
                    for event in chunk:
                        by_device.setdefault(str(event["data_source_device_id"]), []).append(event)
                    # Stakes first: a POS payment then meets the stay it paid for.
                    order = sorted(by_device, key=lambda u: pos_last[u])
                    with writing(db):
                        for device_uuid in order:
                            device = db.get_one(Device, ids[device_uuid])
                            result = log_pushed_batch(db, district, device, by_device[device_uuid], now, skew)
                            accepted += result.success - result.duplicates
                    bar.update(len(chunk))
            click.echo(f"{day}: {len(events)} events, {accepted} new (a resent event changes nothing)")
        with writing(db):
            fieldwork = seed_demo_fieldwork(db, district, now - timedelta(hours=1), now)
        click.echo(
            f"field work: {fieldwork.street_reports} street reports, {fieldwork.disputes} open disputes"
        )
    finally:
        db.close()
