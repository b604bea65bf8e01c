"""Scheduled jobs: each a plain domain function or service, run in its own unit of work.

`flask --app api run-job NAME` runs one once; the scheduler process runs them on a timer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.database import new_session
from billing import retention as billing_retention
from billing.ledger import mark_arrears
from billing.notification_push import due_deliveries, http_sender, push_for, record_push, send_push
from billing.notifications import collect_events, queue_reminders
from billing.provider_records import fetch_charges, store_charges
from billing.services import charge_saved_cards, settle_payments
from billing.tariffs import price_ended_stays
from enforcement import retention as enforcement_retention
from enforcement.street_reports import STREET_REPORT_LOOKBACK, sweep_stake_street_reports
from enforcement.sweeps import sweep_obstructions, sweep_overstays, sweep_restrictions, sweep_unregistered
from enforcement.tasks import escalate_arrears, escalate_tasks, raise_device_tasks
from enforcement.violations import SweepResult
from parking.inventory import get_district
from parking.models import District
from parking.retention import RetentionPlan
from parking.services import erase_retained_plates
from parking.unit_of_work import end_reads, writing
from sensors import retention as sensors_retention
from sensors.archive import archive_events
from sensors.health import sweep_silent_devices
from sensors.services import fit_district_forecast


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    help: str
    run: Callable[[Session, datetime, int | None, Flask], str]
    # A job that asks a provider or a callback commits its own units of work (no write lock
    # is held while they answer); every other job runs in one.
    own_units: bool = False


def _device_health(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    silent_after = timedelta(minutes=app.config["DEVICE_SILENT_MINUTES"])
    health = sweep_silent_devices(db, now, silent_after, district_id).summary()
    return health + "; " + _each_district(lambda d: raise_device_tasks(db, d, now))(db, now, district_id, app)


def _each_district(
    sweep: Callable[[District], SweepResult],
) -> Callable[[Session, datetime, int | None, Flask], str]:
    """A job that runs `sweep` for one district, or for every district in turn."""

    def run(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
        query = select(District).order_by(District.id)
        if district_id is not None:
            query = query.where(District.id == district_id)
        return "; ".join(f"{d.slug} {sweep(d).summary()}" for d in db.scalars(query)) or "no districts"

    return run


def _sweep(name: str) -> Callable[[Session, datetime, int | None, Flask], str]:
    """An enforcement job: the sweep named `name` with its settings from the config."""

    def run(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
        cfg = app.config
        sweeps: dict[str, Callable[[District], SweepResult]] = {
            "overstay": lambda d: sweep_overstays(
                db, d, now, timedelta(days=cfg["ENFORCEMENT_OVERSTAY_LOOK_BACK_DAYS"])
            ),
            "restriction": lambda d: sweep_restrictions(db, d, now),
            "unregistered": lambda d: sweep_unregistered(
                db, d, now, timedelta(minutes=cfg["ENFORCEMENT_UNREGISTERED_MINUTES"])
            ),
            "obstruction": lambda d: sweep_obstructions(db, d, now),
            "street-reports": lambda d: SweepResult(
                "street reports", tasks=sweep_stake_street_reports(db, d, now - STREET_REPORT_LOOKBACK, now)
            ),
            "escalation": lambda d: escalate_tasks(
                db, d, now, timedelta(minutes=cfg["ENFORCEMENT_ESCALATE_MINUTES"])
            ),
            "arrears": lambda d: escalate_arrears(
                db, d, now, timedelta(days=cfg["ENFORCEMENT_ARREARS_DAYS"])
            ),
        }
        return _each_district(sweeps[name])(db, now, district_id, app)

    return run


def _price_stays(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    priced = {d.slug: price_ended_stays(db, d, now) for d in _districts(db, district_id)}
    return f"{sum(priced.values())} ended stays priced" + "".join(
        f", {s}: {n}" for s, n in priced.items() if n
    )


def _arrears(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    marked = sum(mark_arrears(db, d, now) for d in _districts(db, district_id))
    return f"{marked} unpaid stays became arrears"


def _charge_stays(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    """Price, then charge saved cards (billing/services.py: each charge committed pending
    before the provider is asked, its answer committed after)."""
    from api.payment_gateway import get_gateway

    with app.app_context():
        gateway = get_gateway()
    run = charge_saved_cards(db, gateway, _district_ids(db, district_id), now)
    if run.unavailable is not None:
        return f"payment provider unavailable, will retry: {run.unavailable}"
    return "charges: " + (", ".join(f"{n} {s}" for s, n in sorted(run.outcomes.items())) or "none due")


def _sync_provider(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    """Copy the provider's recent charges for reconciliation: fetched with no write lock held
    (the provider may be slow), then stored in one write. Provider-wide, not per district."""
    from api.payment_gateway import get_gateway

    end_reads(db)
    with app.app_context():
        gateway = get_gateway()
    fetched = fetch_charges(gateway, now, timedelta(days=app.config["PROVIDER_SYNC_DAYS"]))
    with writing(db):
        run = store_charges(db, fetched, now)
    if run.error:
        return f"payment provider unavailable, will retry: {run.error}"
    return f"{run.charges} provider charges copied"


def _settle_payments(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    """Resend or time out the card payments no longer in flight, then refund card
    overpayments (billing/services.py; docs/BILLING.md, Pending and overpaid)."""
    from api.payment_gateway import get_gateway

    with app.app_context():
        gateway = get_gateway()
    run = settle_payments(db, gateway, _district_ids(db, district_id), now)
    return "payments: " + (
        ", ".join(f"{n} {s}" for s, n in sorted(run.outcomes.items())) or "nothing to settle"
    )


def _forecast(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    stale = timedelta(minutes=app.config["VACANCY_STALE_MINUTES"])
    return "; ".join(
        f"{slug} {fit_district_forecast(db, d, now, stale).summary()}"
        for d, slug in db.execute(_district_slugs(district_id)).all()
    )


def _reminders(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    written = queue_reminders(db, now, timedelta(minutes=app.config["REMINDER_MINUTES"]))
    return f"{written} max-stay reminders"


def _notify(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    """Turn new billing events into notifications, then push those due to the drivers'
    callbacks: each push sent outside any write lock, its outcome committed at once."""
    cfg = app.config
    with writing(db):
        written = collect_events(db, now, timedelta(days=cfg["NOTIFY_LOOKBACK_DAYS"]))
    send = http_sender(timedelta(seconds=cfg["NOTIFY_TIMEOUT_SECONDS"]), cfg["NOTIFY_ALLOW_PRIVATE_URLS"])
    outcomes: dict[str, int] = {}
    for notification_id in due_deliveries(db, now, cfg["NOTIFY_BATCH"]):
        with writing(db):
            push = push_for(db, notification_id, now)
        if push is None:
            continue
        error = send_push(push, send)
        with writing(db):
            outcome = record_push(
                db,
                notification_id,
                error,
                now,
                cfg["NOTIFY_MAX_ATTEMPTS"],
                timedelta(seconds=cfg["NOTIFY_BACKOFF_SECONDS"]),
            )
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    pushed = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "none due"
    return f"{written} new notifications; pushes: {pushed}"


# Each package's part of the plate retention: what keeps a plate, whether a stay still owes,
# and its erasures after the stays', in this order (a citation goes once its violation has).
PLATE_RETENTION = RetentionPlan(
    keeps=(billing_retention.has_arrears, enforcement_retention.in_violation, enforcement_retention.cited),
    unsettled=billing_retention.unsettled,
    steps=(
        billing_retention.FEES,
        enforcement_retention.VIOLATIONS,
        enforcement_retention.CITATIONS,
        billing_retention.PAYMENTS,
        sensors_retention.CURB_EVENTS,
        enforcement_retention.TASKS,
        enforcement_retention.PLATE_CHECKS,
        billing_retention.PLATE_CLAIMS,
    ),
)


def _plate_retention(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    days = int(app.config["PLATE_RETENTION_DAYS"])
    erased = erase_retained_plates(db, now, days, PLATE_RETENTION, district_id)
    return "; ".join(f"{slug} {result.summary()}" for slug, result in erased) or "no districts"


def _archive_events(db: Session, now: datetime, district_id: int | None, app: Flask) -> str:
    folder = Path(app.config["EVENT_ARCHIVE_DIR"])
    days = float(app.config["EVENT_HOT_DAYS"])
    done = []
    for district in _districts(db, district_id):
        done.append(f"{district.slug} {archive_events(db, district, folder, now, days).summary()}")
    return "; ".join(done) or "no districts"


def _district_slugs(district_id: int | None) -> Select[int, str]:
    query = select(District.id, District.slug).order_by(District.id)
    return query if district_id is None else query.where(District.id == district_id)


def _district_ids(db: Session, district_id: int | None) -> list[int]:
    return (
        [district_id]
        if district_id is not None
        else list(db.scalars(select(District.id).order_by(District.id)))
    )


def _districts(db: Session, district_id: int | None) -> list[District]:
    query = select(District).order_by(District.id)
    if district_id is not None:
        query = query.where(District.id == district_id)
    return list(db.scalars(query))


JOBS = {
    job.name: job
    for job in (
        Job(
            "device-health",
            timedelta(minutes=1),
            "mark devices silent for DEVICE_SILENT_MINUTES offline (their bays become unknown, "
            "comms_lost is logged) and open one maintenance task per outage",
            _device_health,
        ),
        Job(
            "overstay",
            timedelta(minutes=1),
            "violations for stays past the tariff's max stay + grace",
            _sweep("overstay"),
        ),
        Job(
            "restriction",
            timedelta(minutes=1),
            "violations for stays in a no-parking/no-stopping window",
            _sweep("restriction"),
        ),
        Job(
            "unregistered",
            timedelta(minutes=2),
            "attendant tasks for stays without a plate for ENFORCEMENT_UNREGISTERED_MINUTES",
            _sweep("unregistered"),
        ),
        Job(
            "obstruction",
            timedelta(minutes=2),
            "city tasks for bays a stake saw blocked by an object",
            _sweep("obstruction"),
        ),
        Job(
            "street-reports",
            timedelta(minutes=2),
            "city tasks for street-order reports (vending, goods on the road...) a stake sent",
            _sweep("street-reports"),
        ),
        Job(
            "escalation",
            timedelta(minutes=1),
            "escalate violation tasks not taken in ENFORCEMENT_ESCALATE_MINUTES to the police feed",
            _sweep("escalation"),
        ),
        Job(
            "arrears",
            timedelta(days=1),
            "one warden task per plate per day for arrears older than ENFORCEMENT_ARREARS_DAYS",
            _sweep("arrears"),
        ),
        Job(
            "price-stays",
            timedelta(seconds=30),
            "price every ended stay by the tariff version in force when it started",
            _price_stays,
        ),
        Job(
            "charge-stays",
            timedelta(minutes=1),
            "price ended stays, then charge the saved cards of drivers whose plates they are",
            _charge_stays,
            own_units=True,
        ),
        Job(
            "sync-provider",
            timedelta(minutes=15),
            "copy the payment provider's charges of the last PROVIDER_SYNC_DAYS (status, amount, "
            "refunded) for reconciliation, which never calls the provider itself",
            _sync_provider,
            own_units=True,
        ),
        Job(
            "settle-payments",
            timedelta(minutes=1),
            "send again card payments the provider has not answered (same key), fail them after "
            "30 minutes, and refund card overpayments through the provider",
            _settle_payments,
            own_units=True,
        ),
        Job(
            "mark-arrears",
            timedelta(minutes=10),
            "turn stays unpaid after their district's payment window into arrears",
            _arrears,
        ),
        Job(
            "forecast",
            timedelta(hours=6),
            "refit each road's chance of a free bay by day class and 15-minute slot (last 28 days)",
            _forecast,
            own_units=True,
        ),
        Job(
            "reminders",
            timedelta(minutes=1),
            "tell drivers REMINDER_MINUTES before a stay of their plate reaches its maximum stay",
            _reminders,
        ),
        Job(
            "notify",
            timedelta(minutes=1),
            "notify drivers of stays charged, failed charges and arrears; push notifications "
            "to their callbacks, signed, retried with backoff",
            _notify,
            own_units=True,
        ),
        Job(
            "plate-retention",
            timedelta(days=1),
            "erase the plates of settled stays that ended PLATE_RETENTION_DAYS ago, and of their "
            "fees, payments, events, violations, citations and plate checks (docs/PRIVACY.md)",
            _plate_retention,
            own_units=True,
        ),
        Job(
            "archive-events",
            timedelta(days=1),
            "move events older than EVENT_HOT_DAYS into dated compressed files under "
            "EVENT_ARCHIVE_DIR, a day's file in place before its rows go (docs/OPERATIONS.md)",
            _archive_events,
            own_units=True,
        ),
    )
}


def run_job(app: Flask, name: str, district: str | None = None) -> str:
    """Run one job once, committed as one unit of work; returns its one-line summary."""
    job = JOBS[name]
    db = new_session(app)
    now = app.extensions["parking.clock"].now()
    try:
        district_id = get_district(db, district).id if district else None
        if job.own_units:
            return job.run(db, now, district_id, app)
        with writing(db):
            return job.run(db, now, district_id, app)
    finally:
        db.close()
