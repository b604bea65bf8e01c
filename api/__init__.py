"""The Flask application: `create_app()` builds everything; nothing lives at module level."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from api import bodies, cli, config, database, errors, i18n
from api.clock import SystemClock
from parking.plates import use_plate_hash_key


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Settings: defaults, then `PARKING_*` environment variables, then
    `test_config`. A `CLOCK` entry injects the clock (tests pass a FixedClock)."""
    app = Flask(__name__, template_folder="pages/templates", static_folder="pages/static")
    app.config.from_mapping(config.defaults())
    app.config.from_prefixed_env("PARKING")
    if test_config:
        app.config.update(test_config)
    app.extensions["parking.clock"] = app.config.get("CLOCK") or SystemClock()
    use_plate_hash_key(str(app.config["PLATE_HASH_KEY"]))
    config.check_payment_settings(app.config)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"))

    database.init_app(app)
    errors.init_app(app)
    bodies.init_app(app)
    i18n.init_app(app)
    from api import error_docs, openapi
    from api.cds import curbs as cds_curbs
    from api.cds import events as cds_events
    from api.cds import metrics as cds_metrics
    from api.pages import bureau as pages_bureau
    from api.pages import driver as pages_driver
    from api.pages import handheld as pages
    from api.pages import open_data as pages_open_data
    from api.v1 import open_data
    from api.v1.bureau import pricing, reconciliation, reports
    from api.v1.bureau import report_documents as reports_pdf
    from api.v1.devices import patrol
    from api.v1.devices import tokens as devices
    from api.v1.drivers import accounts as drivers
    from api.v1.drivers import card_payments, citation_payments, evidence, payments, receipts, vacancy
    from api.v1.drivers import sign_in as driver_auth
    from api.v1.drivers import tariffs as billing
    from api.v1.staff import citations, disputes, plate_claims, police, street_reports, warden
    from api.v1.staff import sign_in as staff_auth
    from api.v1.staff import stays as staff

    for blueprint in (
        cds_events.bp,
        cds_curbs.bp,
        cds_metrics.bp,
        staff.bp,
        staff_auth.bp,
        devices.bp,
        billing.bp,
        payments.bp,
        driver_auth.bp,
        drivers.bp,
        citation_payments.bp,
        plate_claims.bp,
        receipts.bp,
        reconciliation.bp,
        reports.bp,
        reports_pdf.bp,
        warden.bp,
        patrol.bp,
        citations.bp,
        street_reports.bp,
        disputes.bp,
        evidence.bp,
        police.bp,
        vacancy.bp,
        openapi.bp,
        error_docs.bp,
        pages.bp,
        pages_driver.bp,
        pages_bureau.bp,
        pages_open_data.bp,
        card_payments.bp,
        pricing.bp,
        open_data.bp,
        i18n.bp,
    ):
        app.register_blueprint(blueprint)
    cli.init_app(app)
    hops = int(app.config["PROXY_HOPS"])
    if hops:  # behind nginx (deploy/nginx.conf): the client's address is the proxy's header
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app
