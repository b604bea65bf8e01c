"""`demo-cards` at every start of `make run`: the local payment server keeps no state, so a
restart forgets every saved card; the command saves them again and keeps cards still known."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api import create_app
from fixtures.demo import seed_demo
from fixtures.localstripe import running_localstripe
from identity.models import DriverAccount
from parking.clock import FixedClock


def cards(db: Session) -> dict[str, tuple[str | None, str | None]]:
    db.expire_all()
    rows = db.scalars(select(DriverAccount).where(DriverAccount.email.like("%@demo.baiyun.example")))
    return {a.email: (a.customer_id, a.payment_method_id) for a in rows}


def run_demo_cards(connection: Connection, clock: FixedClock, localstripe: str) -> str:
    app = create_app(
        {"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "STRIPE_API_BASE": localstripe}
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo-cards"])
    assert result.exit_code == 0, result.output
    return result.output


def test_after_a_restart_of_the_payment_server_the_demo_cards_are_saved_again_and_known(
    connection: Connection, db: Session, clock: FixedClock
) -> None:
    seed_demo(db, clock.now())
    db.commit()
    with running_localstripe() as first_server:
        first = run_demo_cards(connection, clock, first_server)
        again = run_demo_cards(connection, clock, first_server)
    saved = cards(db)
    with running_localstripe() as restarted:  # a new server: it knows none of them
        after_restart = run_demo_cards(connection, clock, restarted)
        renewed = cards(db)
        app = create_app(
            {"TESTING": True, "DATABASE_BIND": connection, "CLOCK": clock, "STRIPE_API_BASE": restarted}
        )
        with app.app_context():
            from api.payment_gateway import get_gateway

            gateway = get_gateway()
            knows = [gateway.has_payment_method(c, p) for c, p in renewed.values() if c and p]

    assert first.strip() == "demo cards: 60 saved, 0 saved again (the provider had forgotten them), 0 kept"
    assert again.strip() == "demo cards: 0 saved, 0 saved again (the provider had forgotten them), 60 kept"
    assert (
        after_restart.strip()
        == "demo cards: 0 saved, 60 saved again (the provider had forgotten them), 0 kept"
    )
    assert all(c and p for c, p in saved.values())
    assert all(renewed[email] != saved[email] for email in saved)
    assert knows == [True] * 60
