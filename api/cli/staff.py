"""Staff account commands under `flask --app api`.

The command-line shell of `create-staff`: each command parses, calls the domain, reports."""

from __future__ import annotations

import sys

import click

from api.cli import _domain_errors, _names, _now, _unit_of_work
from identity.models import STAFF_ROLES
from parking.inventory import get_district


@click.command("create-staff")
@click.option("--district", required=True)
@click.option("--username", required=True, help="2 to 64 lower-case letters, digits, '.', '_' or '-'.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--name", help="The name shown to others (default: the username).")
@click.option("--beat", help="Comma-separated roads (names or CDS zone ids) a warden or attendant works.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input's first line.")
@_domain_errors
def create_staff(
    district: str, username: str, role: str, name: str | None, beat: str | None, password_stdin: bool
) -> None:
    """Create a staff account that signs in with a password (at least 10 characters), asked
    for twice unless it comes on standard input."""
    from identity.passwords import hash_password
    from identity.staff import create_account

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _unit_of_work() as db:
        place = get_district(db, district)
        account = create_account(
            db,
            place,
            username,
            password,
            name or username,
            role,
            _now(),
            beat=_names(beat),
            hash_password=hash_password,
        )
        created = f"staff account {account.username!r} ({account.role}) created in {place.slug}"
        roads = len(account.beat or [])
    click.echo(created + (f", beat of {roads} roads" if roads else ", district-wide"))
