"""`flask --app api set-district-tiles`: the map tiles a district's driver page draws on."""

from __future__ import annotations

import click

from api.cli import _domain_errors, _unit_of_work
from parking.inventory import get_district
from parking.map_tiles import clear_district_tiles, set_district_tiles, tile_source


@click.command("set-district-tiles")
@click.option("--district", required=True)
@click.option("--url", help="An http(s) XYZ template such as https://{s}.tiles.example/{z}/{x}/{y}.png")
@click.option(
    "--crs", default="wgs84", show_default=True, help="The tiles' datum: wgs84, or gcj02 (Chinese providers)."
)
@click.option(
    "--attribution", default="", help="The provider's credit, shown on the map (required with --url)."
)
@click.option("--clear", is_flag=True, help="No tiles: the roads on a plain background, usable offline.")
@_domain_errors
def set_district_tiles_command(
    district: str, url: str | None, crs: str, attribution: str, clear: bool
) -> None:
    """Set (or --clear) a district's map tiles. Positions stay WGS84: with gcj02 tiles the
    page shifts what it draws, for display only (docs/OPERATIONS.md)."""
    if clear == (url is not None):
        raise click.UsageError("give either --url (with --attribution) or --clear")
    with _unit_of_work() as db:
        place = get_district(db, district)
        if url is None:
            clear_district_tiles(place)
        else:
            set_district_tiles(place, url, crs, attribution)
        source = tile_source(place)
        slug = place.slug
    if source is None:
        click.echo(f"{slug}: no tiles (roads on a plain background)")
    else:
        click.echo(f"{slug}: tiles {source.url} ({source.crs}), attribution {source.attribution!r}")
