"""The access matrix: for every endpoint of the app, who may call it. The one source of truth
for roles: `require_staff`, `require_device` and the driver check look the current request's
endpoint up here, docs/ACCESS.md is generated from it, and a test walks every route with
every principal against it.

Who may call is a set of principals: `public` (anyone, no token), `device` (a device token of
the district: stake, POS or data feed), `patrol_car` (a patrol car's device token), `driver` (a driver account token), or staff roles (a staff token of the
district with that role). Scoping within a district (a device to its bays, a warden to their
beat, a driver to their plates) is the handlers' business; see docs/ACCESS.md."""

from __future__ import annotations

from flask import Flask, request

from api.errors import ApiError
from identity.models import STAFF_ROLES
from parking.errors import N_, Message

PUBLIC, DEVICE, PATROL, DRIVER = "public", "device", "patrol_car", "driver"
PRINCIPALS = (PUBLIC, DEVICE, PATROL, DRIVER, *STAFF_ROLES)

_ANYONE = frozenset({PUBLIC})
_DEVICES = frozenset({DEVICE})  # stakes, handheld POS terminals and data feeds
_PATROL_CARS = frozenset({PATROL})
_DRIVERS = frozenset({DRIVER})
_ANY_STAFF = frozenset(STAFF_ROLES)
_ADMIN = frozenset({"admin"})
_ADMIN_BUREAU = frozenset({"admin", "bureau"})
# Metrics and reports: administrators, the transport bureau (the CDS consumer the pilot
# reports to) and city-management teams; they carry no plates and change nothing.
_REPORT_READERS = frozenset({"admin", "bureau", "city"})
_WORKERS = frozenset({"admin", "warden", "attendant", "city", "police"})
_PLATE_CHECKERS = frozenset({"admin", "warden", "attendant", "police"})
# The roles that enforce see plates in bulk answers (stays, CDS events), audited; the others
# get those answers without plates (api/v1/staff/plate_access.py).
PLATE_READERS = _PLATE_CHECKERS
_REGISTRARS = frozenset({"admin", "warden", "attendant"})
_PAYMENT_READERS = frozenset({"admin", "bureau", "warden", "attendant", "police"})
_FEED_READERS = frozenset({"admin", "police"})
_STREET_REPORTERS = frozenset({"admin", "warden", "city"})
_CASE_READERS = frozenset({"admin", "bureau", "police", "city"})
_CITATION_VOIDERS = frozenset({"admin", "bureau", "warden"})

ACCESS: dict[str, frozenset[str]] = {
    # CDS 1.1 under /cds/<district>/
    "cds_curbs.zones": _ANYONE,
    "cds_curbs.spaces": _ANYONE,
    "cds_curbs.policies": _ANYONE,
    "cds_curbs.policy": _ANYONE,
    "cds_curbs.areas": _ANYONE,
    "cds_events.push_events": _DEVICES,
    "cds_events.list_events": _ANY_STAFF,
    "cds_events.device_status": _ANY_STAFF,
    "cds_metrics.get_aggregates": _REPORT_READERS,
    "cds_metrics.get_sessions": _REPORT_READERS,
    # devices: who am I, and token rotation (a device its own; an admin any device's, or
    # decommissioning it)
    "devices.me": _DEVICES | _PATROL_CARS,
    "devices.rotate_own_token": _DEVICES | _PATROL_CARS,
    "devices.rotate_token": _ADMIN,
    "devices.revoke": _ADMIN,
    # staff sign-in (public, rate-limited), sign-out, and the admin's accounts and tokens
    "staff_auth.sign_in": _ANYONE,
    "staff_auth.sign_out_view": _ANY_STAFF,
    "staff_auth.create": _ADMIN,
    "staff_auth.list_all": _ADMIN,
    "staff_auth.disable": _ADMIN,
    "staff_auth.revoke": _ADMIN,
    # drivers: signing up and in is public (rate-limited), the rest is the driver's own
    "driver_auth.create_driver": _ANYONE,
    "driver_auth.create_session": _ANYONE,
    "driver_auth.delete_session": _DRIVERS,
    "driver_auth.change_password": _DRIVERS,
    "drivers.me": _DRIVERS,
    "drivers.add_plate": _DRIVERS,
    "drivers.card_setup": _DRIVERS,
    "drivers.put_card": _DRIVERS,
    "drivers.notices": _DRIVERS,
    "drivers.current_stays": _DRIVERS,
    "drivers.stay_history": _DRIVERS,
    "drivers.outstanding": _DRIVERS,
    "drivers.pay_mine": _DRIVERS,
    "drivers.notifications": _DRIVERS,
    "drivers.put_callback": _DRIVERS,
    # a driver's citations: those of my linked plates, paid in the app
    "driver_citations.my_citations": _DRIVERS,
    "driver_citations.pay_citation": _DRIVERS,
    # drivers' claims to link a plate, decided by staff (billing/plate_links.py)
    "plate_claims.list_all": _ADMIN_BUREAU,
    "plate_claims.approve": _ADMIN_BUREAU,
    "plate_claims.refuse": _ADMIN_BUREAU,
    # tariffs, quotes and paying by plate: public; publishing and refunds: staff
    "billing.list_tariffs": _ANYONE,
    "billing.quote": _ANYONE,
    "billing.create_tariff": _ADMIN_BUREAU,
    "payments.unpaid": _ANYONE,
    "payments.unpaid_by_body": _ANYONE,
    "payments.pay_plate": _ANYONE,
    "payments.get_payment": _PAYMENT_READERS,
    "payments.refund_payment": _ADMIN_BUREAU,
    "payments.stripe_webhook": _ANYONE,  # verified by the provider's signature instead
    "receipts.receipt_page": _ANYONE,  # by the payment's unguessable id
    "receipts.receipt_document": _ANYONE,
    "card_payments.create_card_setup": _ANYONE,  # a SetupIntent for Stripe.js; the card goes to Stripe
    "card_payments.confirm_payment": _ANYONE,  # by the payment's unguessable id, like its receipt
    "reconciliation.daily_reconciliation": _ADMIN_BUREAU,
    # staff reads
    "staff.list_stays": _ANY_STAFF,
    "staff.list_anomalies": _ADMIN_BUREAU,
    "police.feed": _FEED_READERS,
    "police.timings": _CASE_READERS,
    "reports.summary": _REPORT_READERS,
    "reports.problems": _REPORT_READERS,
    "report_documents.chart": _REPORT_READERS,
    "report_documents.monthly_pdf": _REPORT_READERS,
    "pricing.get_advice": _ADMIN_BUREAU,
    "pricing.get_what_if": _ADMIN_BUREAU,
    "pricing.publish": _ADMIN_BUREAU,
    # the warden handheld
    "warden.get_me": _ANY_STAFF,
    "warden.post_position": _ANY_STAFF,
    "warden.list_tasks": _WORKERS,
    "warden.take": _WORKERS,
    "warden.resolve": _WORKERS,
    "warden.photo": _ANY_STAFF,
    "warden.plate_check": _PLATE_CHECKERS,
    "warden.plate_check_by_body": _PLATE_CHECKERS,
    "warden.plate_check_audit": _ADMIN_BUREAU,
    "warden.register": _REGISTRARS,
    # a patrol car's plate reads
    "patrol.reads": _PATROL_CARS,
    # fines (read by anyone, set by an administrator) and citations after issue
    "citations.fines": _ANYONE,
    "citations.put_fine": _ADMIN,
    "citations.get_citation": _ANY_STAFF,
    "citations.void": _CITATION_VOIDERS,
    "citations.appeal": _ANYONE,  # by the citation's unguessable id
    "citations.decide_appeal": _ADMIN_BUREAU,
    # disputes: opened by plate (anyone) or by a driver; the bureau works the queue
    "disputes.dispute_by_plate": _ANYONE,
    "disputes.dispute_mine": _DRIVERS,
    "disputes.disputes": _ADMIN_BUREAU,
    "disputes.decide": _ADMIN_BUREAU,
    # evidence behind a fee or a citation, by its unguessable id (the plate's ledger lists them)
    "evidence.stay": _ANYONE,
    "evidence.citation": _ANYONE,
    "evidence.photo": _ANYONE,
    # street-order reports: made by wardens and city management, read with the reports
    "street_reports.create": _STREET_REPORTERS,
    "street_reports.list_reports": _REPORT_READERS,
    # drivers' vacancy and open data
    "vacancy.vacancy": _ANYONE,
    "vacancy.road_bays": _ANYONE,
    "vacancy.forecast": _ANYONE,
    "open_data.occupancy": _ANYONE,
    "open_data.tariffs": _ANYONE,
    # pages (they call the API with the token the user pastes) and documents
    "pages.handheld": _ANYONE,
    "pages.bay_directory": _ANYONE,
    "pages.handheld_worker": _ANYONE,
    "i18n.js_catalogue": _ANYONE,  # the page scripts' words, per locale
    "pages_bureau.bureau_page": _ANYONE,
    "pages_open_data.open_data_page": _ANYONE,
    "pages_driver.driver_page": _ANYONE,
    "openapi.openapi_document": _ANYONE,
    "error_docs.errors_page": _ANYONE,
    "error_docs.errors_document": _ANYONE,
    "static": _ANYONE,
}


class AccessMatrixError(RuntimeError):
    """The app and the matrix disagree: an endpoint is missing, or the matrix names one
    that does not exist."""


def _check_matrix() -> None:
    for endpoint, allowed in ACCESS.items():
        if not allowed or not allowed <= set(PRINCIPALS) or (PUBLIC in allowed and len(allowed) > 1):
            raise AccessMatrixError(
                f"{endpoint}: {sorted(allowed)} is not public alone or a set of principals"
            )


_check_matrix()


def allowed_for(endpoint: str | None) -> frozenset[str]:
    """Who may call `endpoint`; an endpoint missing from the matrix admits nobody."""
    return ACCESS.get(endpoint or "", frozenset())


def require_allowed(principal: str) -> None:
    """403 `forbidden` unless the matrix lets `principal` (a role, `device` or `driver`)
    call this request's endpoint. Call it after the token is known to be valid."""
    if principal not in allowed_for(request.endpoint):
        raise ApiError(
            403, "forbidden", Message(N_("the %(role)s role may not do this"), {"role": principal})
        )


def unlisted_endpoints(app: Flask) -> tuple[list[str], list[str]]:
    """(endpoints of the app missing from the matrix, matrix entries the app lacks)."""
    endpoints = set(app.view_functions)
    return sorted(endpoints - ACCESS.keys()), sorted(ACCESS.keys() - endpoints)


def check_app(app: Flask) -> None:
    missing, stale = unlisted_endpoints(app)
    if missing or stale:
        raise AccessMatrixError(
            f"access matrix out of date: missing {', '.join(missing) or 'none'}; "
            f"not in the app {', '.join(stale) or 'none'} (api/access.py)"
        )


def shown(allowed: frozenset[str]) -> str:
    """The principals in matrix order, e.g. `admin, bureau, city`."""
    return ", ".join(p for p in PRINCIPALS if p in allowed)


def matrix_table(app: Flask) -> str:
    """The matrix as a Markdown table, one row per route and method, sorted by route."""
    rows = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            rows.append((rule.rule, method, rule.endpoint, shown(allowed_for(rule.endpoint)) or "nobody"))
    lines = ["| route | method | endpoint | who may call |", "|---|---|---|---|"]
    lines += [
        f"| `{route}` | {method} | `{endpoint}` | {who} |" for route, method, endpoint, who in sorted(rows)
    ]
    return "\n".join(lines) + "\n"
