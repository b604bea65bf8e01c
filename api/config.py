"""Configuration: defaults here, overridden by `PARKING_*` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from parking.plates import DEVELOPMENT_PLATE_HASH_KEY

# Public, in this repository: signs the webhooks of the local test server only.
DEFAULT_WEBHOOK_SECRET = "whsec_local_demo"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


def defaults() -> dict[str, Any]:
    return {
        # PARKING_DATABASE_URL; SQLite under var/ unless told otherwise.
        "DATABASE_URL": f"sqlite:///{VAR_DIR / 'parking.db'}",
        # SQLite only: how often a background thread checkpoints the WAL (0 = never).
        "SQLITE_CHECKPOINT_SECONDS": 0.1,
        # A device not heard from for this long is offline; its bays become unknown.
        "DEVICE_SILENT_MINUTES": 10,
        # Enforcement: a stay without a plate this long gets an attendant task; a violation's
        # task nobody took this long is escalated to the police feed; arrears this old get a
        # daily warden task.
        "ENFORCEMENT_UNREGISTERED_MINUTES": 10,
        # The overstay sweep judges the stays written within this many days (a replayed day too).
        "ENFORCEMENT_OVERSTAY_LOOK_BACK_DAYS": 7,
        "ENFORCEMENT_ESCALATE_MINUTES": 30,
        "ENFORCEMENT_ARREARS_DAYS": 7,
        # The scheduler lease: held this long, renewed every third of it.
        "SCHEDULER_LEASE_SECONDS": 30,
        # A device clock may run this far ahead of ours before an event counts as "future".
        "EVENT_MAX_SKEW_SECONDS": 120,
        # How far back a device event or a registration by hand may be dated (older:
        # `event_too_old`); a very late event would re-derive and re-price settled stays
        # (docs/TIMELINE.md). 0 lifts the bound, for an operator replaying history.
        "EVENT_MAX_AGE_HOURS": 72,
        # The event archive (docs/OPERATIONS.md): events older than EVENT_HOT_DAYS (and needed by
        # no re-derivation) move nightly from the database into dated zstd-compressed JSON-lines
        # files under EVENT_ARCHIVE_DIR/<district>/, which `rebuild` reads with the hot log.
        "EVENT_HOT_DAYS": 35,
        "EVENT_ARCHIVE_DIR": str(VAR_DIR / "archive"),
        # Request bodies (docs/API.md#limits). A push batch of 1,000 events is about 0.5 MB, so
        # 4 MiB leaves room for long plates and payment fields yet bounds what one request can
        # make a worker hold; bigger bodies get 413 `payload_too_large` before any parsing.
        # The warden's resolve route alone allows its 5 MiB photo plus 2 MiB of form
        # (api/v1/staff/warden.py). JSON deeper than MAX_JSON_DEPTH levels is 400 `nesting_too_deep`:
        # no body this API takes nests more than a handful, and deep nesting breaks parsers.
        "MAX_BATCH_EVENTS": 1000,
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
        "MAX_JSON_DEPTH": 32,
        # Pages of CDS lists and native lists.
        "PAGE_SIZE_DEFAULT": 500,
        "PAGE_SIZE_MAX": 2000,
        # Vacancy searches by radius may not reach further than this.
        "MAX_RADIUS_M": 5000,
        # Patrol cars (enforcement/patrol.py): reads below this confidence are "confirm by
        # eye", never hits; a read is matched to the nearest bay within this many metres.
        "PATROL_MIN_CONFIDENCE": 80,
        "PATROL_MATCH_RADIUS_M": 10.0,
        "PATROL_MAX_READS": 1000,
        # Native vacancy: a bay whose newest report (its own event or a heartbeat of a device
        # watching it) is older than this is unknown, never free.
        "VACANCY_STALE_MINUTES": 15,
        # Native vacancy: per worker process, bay states and devices are re-read (only what
        # changed) at most this many seconds apart, so an answer may miss a change of the
        # last few seconds (docs/API.md); 5 keeps 100,000 bays under 50 ms p99 on PostgreSQL
        # (docs/BENCHMARKS.md). 0 reads everything on every request.
        "VACANCY_CACHE_SECONDS": 5,
        # Per worker process, a district's row (its name, zone, currency, payment window) is
        # re-read at most this many seconds apart on the hot routes (api/district_cache.py);
        # 0 reads it on every request.
        "DISTRICT_CACHE_SECONDS": 5,
        # Staff sign-in (docs/OPERATIONS.md): a token lasts a shift; failed sign-ins are limited
        # per username and per client address within the window (429 beyond); a rotated device
        # token keeps working this long beside its successor.
        "STAFF_TOKEN_HOURS": 12,
        # A driver's sign-in token lasts this long (30 days); signing out or changing the
        # password revokes it sooner.
        "DRIVER_TOKEN_HOURS": 720,
        "SIGNIN_MAX_FAILURES_PER_USER": 5,
        "SIGNIN_MAX_FAILURES_PER_IP": 20,
        "SIGNIN_WINDOW_MINUTES": 15,
        # Card setups (SetupIntents for Stripe.js) a client address may start within
        # SIGNIN_WINDOW_MINUTES: a driver needs one or two, card testing needs many.
        "CARD_SETUPS_PER_IP": 10,
        "DEVICE_TOKEN_GRACE_HOURS": 24,
        # Reverse proxies in front of the app that set X-Forwarded-For and -Proto (deploy/:
        # nginx, 1). 0 trusts no such header: the peer address is the client's. Per-address
        # limits (staff sign-in) need the real address, so set this behind a proxy.
        "PROXY_HOPS": 0,
        # The public origin (scheme and host, e.g. https://parking.example.org) for links that
        # must be absolute; empty: paging links are relative to the root (`/cds/...`). Links are
        # never built from the request's Host header (docs/OPERATIONS.md).
        "PUBLIC_BASE_URL": "",
        "CDS_AUTHOR": "Smart on-street parking system",
        "CDS_LICENSE_URL": "https://creativecommons.org/licenses/by/4.0/",
        "JSON_SORT_KEYS": False,
        # Payments. With no API key the app talks to a local Stripe-compatible server at
        # STRIPE_API_BASE (the run command starts localstripe there) and the driver page loads
        # that server's Stripe.js stand-in; with a key (test or live mode), to Stripe itself,
        # and the page loads Stripe.js with STRIPE_PUBLISHABLE_KEY. Webhooks are verified with
        # STRIPE_WEBHOOK_SECRET: with a key it must be the endpoint's own (check_payment_settings).
        "STRIPE_API_KEY": "",
        "STRIPE_PUBLISHABLE_KEY": "",
        "STRIPE_API_BASE": "http://127.0.0.1:8420",
        # The key sent to that local server when STRIPE_API_KEY is empty: it accepts any key
        # shaped like Stripe's test keys, and no real key is ever needed offline.
        "STRIPE_LOCAL_API_KEY": "sk_test_localstripe",
        "STRIPE_WEBHOOK_SECRET": DEFAULT_WEBHOOK_SECRET,
        # sync-provider: charges created this far back are fetched again on every run, so a
        # refund made on the provider's side within that time reaches reconciliation.
        "PROVIDER_SYNC_DAYS": 3,
        # Driver notifications: a max-stay reminder this many minutes before the max stay
        # runs out; events of the last NOTIFY_LOOKBACK_DAYS are turned into notifications;
        # pushes are retried NOTIFY_MAX_ATTEMPTS times, waiting NOTIFY_BACKOFF_SECONDS × 2^n;
        # callbacks to private addresses are refused unless allowed (development, tests).
        "REMINDER_MINUTES": 15,
        "NOTIFY_LOOKBACK_DAYS": 7,
        "NOTIFY_MAX_ATTEMPTS": 8,
        "NOTIFY_BACKOFF_SECONDS": 30,
        "NOTIFY_TIMEOUT_SECONDS": 5,
        "NOTIFY_BATCH": 500,
        "NOTIFY_ALLOW_PRIVATE_URLS": False,
        # Pricing advice (docs/PRICING.md): rates in minor units per minute; the maximum is
        # 4x the demo core tariff's 10 fen a minute; a step is this percent of the rate.
        "PRICING_MIN_PER_MINUTE": 0,
        "PRICING_MAX_PER_MINUTE": 40,
        "PRICING_STEP_PERCENT": 25,
        "PRICING_RAISE_AT_PERCENT": 80,
        "PRICING_LOWER_BELOW_PERCENT": 60,
        "PRICING_HOLD_DAYS": 30,
        # Open data (docs/OPEN_DATA.md): road-hours with fewer stays are suppressed,
        # occupancy is rounded to this many percent, hours appear this long after they end.
        "OPEN_DATA_MIN_STAYS": 5,
        "OPEN_DATA_ROUND_PERCENT": 5,
        "OPEN_DATA_DELAY_MINUTES": 60,
        # Plate privacy (docs/PRIVACY.md): plates are looked up by an HMAC keyed with
        # PARKING_PLATE_HASH_KEY. The default is public, for development and tests only:
        # production must set its own secret. Plate text of settled stays is erased after
        # PLATE_RETENTION_DAYS by the daily plate-retention job.
        "PLATE_HASH_KEY": DEVELOPMENT_PLATE_HASH_KEY,
        "PLATE_RETENTION_DAYS": 30,
    }


class PaymentSettingsError(RuntimeError):
    """The payment settings would let anyone forge payments, or the card form cannot load."""


def check_payment_settings(config: Mapping[str, Any]) -> None:
    """Refuse a real Stripe key (payments go to Stripe itself) with the public webhook secret,
    which would let anyone sign a `payment_intent.succeeded`, or without a publishable key."""
    if not config.get("STRIPE_API_KEY"):
        return  # the local test server: its public secret and stand-in key are fine
    if config.get("STRIPE_WEBHOOK_SECRET") in ("", None, DEFAULT_WEBHOOK_SECRET):
        raise PaymentSettingsError(
            "PARKING_STRIPE_API_KEY is set, so payments go to Stripe itself, but "
            "PARKING_STRIPE_WEBHOOK_SECRET is the public development default (or empty): anyone could "
            "forge payment events. Set it to the signing secret (whsec_...) of this webhook endpoint."
        )
    if not str(config.get("STRIPE_PUBLISHABLE_KEY") or "").startswith("pk_"):
        raise PaymentSettingsError(
            "PARKING_STRIPE_API_KEY is set but PARKING_STRIPE_PUBLISHABLE_KEY (pk_...) is not: "
            "the driver page's card form (Stripe.js) needs the publishable key of the same account."
        )
