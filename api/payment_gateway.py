"""The payment gateway of this app, chosen by configuration: the one the config hands in
(`GATEWAY`, as tests inject their fake), else Stripe with `STRIPE_API_KEY`, else the local
Stripe-compatible server at `STRIPE_API_BASE` with `STRIPE_LOCAL_API_KEY`. Built on first use."""

from __future__ import annotations

from flask import current_app

from billing.gateway import PaymentGateway, StripeGateway


def get_gateway() -> PaymentGateway:
    gateway: PaymentGateway | None = current_app.extensions.get("parking.gateway")
    if gateway is None:
        config = current_app.config
        gateway = config.get("GATEWAY")
        if gateway is None:
            key = config["STRIPE_API_KEY"]
            gateway = StripeGateway(  # no key: the local server; a key: Stripe itself
                api_key=key or config["STRIPE_LOCAL_API_KEY"],
                api_base=None if key else config["STRIPE_API_BASE"],
                webhook_secret=config["STRIPE_WEBHOOK_SECRET"],
            )
        current_app.extensions["parking.gateway"] = gateway
    return gateway
