"""The City of Melbourne's bay restrictions (fixtures/data/melbourne), imported as tariffs:
every bay's policy, as the CDS API publishes it (valid by the project's CDS check, named by
the bay's space and its zone), states its row's windows and limits; and the overstay sweep
over the replayed Saturday agrees with the council's own flags better than the plain
reading of the signs (docs/FIDELITY.md)."""

from __future__ import annotations

import csv
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, select

from fixtures import fidelity
from fixtures.cds_check import envelope_errors
from fixtures.replay import MELBOURNE_IMPORT_OPTIONS
from parking.models import Bay, District, Stay

pytestmark = pytest.mark.slow

SLUG = "melbourne"
WEEK_FROM_SUNDAY = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
CDS = {"Accept": "application/vnd.cds+json;version=1.1"}


def import_bays_and_signs(app: Flask) -> str:
    runner = app.test_cli_runner()
    bays = runner.invoke(
        args=["import-bays", str(fidelity.BAY_LOCATIONS), "--district", SLUG, *MELBOURNE_IMPORT_OPTIONS]
    )
    assert bays.exit_code == 0, bays.output
    signs = runner.invoke(
        args=[
            "import-restrictions",
            str(fidelity.RESTRICTIONS),
            "--district",
            SLUG,
            "--effective-from",
            "2014-01-01T00:00:00+11:00",
        ]
    )
    assert signs.exit_code == 0, signs.output
    return signs.output


def table_rows() -> dict[str, list[dict[str, str]]]:
    """By bay, its restrictions as the table states them (raw cells)."""
    with fidelity.RESTRICTIONS.open(newline="", encoding="utf-8-sig") as handle:
        return {
            row["BayID"]: [
                {
                    k: row[f"{k}{n}"]
                    for k in ("Description", "Duration", "FromDay", "ToDay", "StartTime", "EndTime")
                }
                for n in range(1, 7)
                if row[f"Description{n}"].strip()
            ]
            for row in csv.DictReader(handle)
        }


def row_limits(cells: dict[str, str]) -> tuple[str, frozenset[str], int | None, str, str]:
    """(sign, weekdays, minutes or None for no parking, start, end) as the table says."""
    first, last = int(cells["FromDay"]), int(cells["ToDay"])
    span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
    start, end = cells["StartTime"][:-3].zfill(5), cells["EndTime"][:-3].zfill(5)
    minutes = int(cells["Duration"]) or None
    return (
        " ".join(cells["Description"].split()),
        frozenset(WEEK_FROM_SUNDAY[d] for d in span),
        minutes,
        start,
        end,
    )


def published_limits(policy: dict[str, Any]) -> tuple[str, frozenset[str], int | None, str, str]:
    spans = policy["time_spans"]
    days = frozenset(d for span in spans for d in span.get("days_of_week", []))
    windows = sorted({(s["time_of_day_start"], s["time_of_day_end"]) for s in spans})
    # one window, or a sign running past midnight as two: (00:00, its end) and (its start, 24:00)
    start, end = windows[-1][0], windows[0][1]
    minutes = policy["rules"][-1].get("max_stay")  # the general rule comes last
    return policy["name"].split(": ", 1)[-1], days, minutes, start, end


def same_clock(published: str, table: str) -> bool:
    """The table ends a day at 23:59 or 0:00; the policies at 24:00."""
    return published == table or (published == "24:00" and table in ("23:59", "00:00"))


def all_pages(client: FlaskClient, path: str, key: str) -> list[dict[str, Any]]:
    found, page = [], 1
    while True:
        reply = client.get(f"{path}?page={page}&page_size=1000", headers=CDS)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        items = reply.get_json()["data"][key]
        found.extend(items)
        if len(items) < 1000:
            return found
        page += 1


def test_every_bays_published_policies_state_the_windows_and_limits_of_its_row_in_the_table(
    app: Flask, client: FlaskClient, connection: Connection
) -> None:
    output = import_bays_and_signs(app)
    unknown = set(re.findall(r"^unknown sign at bay (\S+): '(.*)': ", output, re.MULTILINE))
    assert ("4838", "#VALUE!") in unknown or any(text == "#VALUE!" for _, text in unknown)
    reply = client.get(f"/cds/{SLUG}/curbs/policies", headers=CDS)  # not paged: every policy
    assert envelope_errors(reply.get_json()) == []
    policies = {p["curb_policy_id"]: p for p in reply.get_json()["data"]["policies"]}
    spaces = {s["name"]: s for s in all_pages(client, f"/cds/{SLUG}/curbs/spaces", "spaces")}
    zones = all_pages(client, f"/cds/{SLUG}/curbs/zones", "zones")
    assert envelope_errors({"data": {"zones": zones, "spaces": list(spaces.values())}}) == []
    zone_policies = {z["curb_zone_id"]: set(z["curb_policy_ids"]) for z in zones}
    rows = table_rows()
    walked = 0
    for bay, cells in rows.items():
        if bay not in spaces:
            continue  # a 2018 bay that the 2014 locations do not have
        ids = spaces[bay]["custom_attributes"]["curb_policy_ids"].split(",")
        assert set(ids) <= zone_policies[spaces[bay]["curb_zone_id"]]  # its zone references them
        signs = [policies[i] for i in ids if not any("rate" in rule for rule in policies[i]["rules"])]
        stated = sorted(published_limits(policy) for policy in signs)
        expected = sorted(
            row_limits(c) for c in cells if (bay, " ".join(c["Description"].split())) not in unknown
        )
        assert len(stated) == len(expected), (bay, stated, expected)
        for (name, days, minutes, start, end), row in zip(stated, expected, strict=True):
            assert (name, days, minutes, start) == row[:4], (bay, name, row)
            assert same_clock(end, row[4]), (bay, end, row)
        walked += 1
    assert walked > 3_000


def test_the_saturdays_overstay_flags_agree_with_the_councils_better_than_the_plain_reading(
    app: Flask, connection: Connection
) -> None:
    result = app.test_cli_runner().invoke(args=["melbourne-compliance", "--district", SLUG])
    assert result.exit_code == 0, result.output
    district_id = connection.scalar(select(District.id).where(District.slug == SLUG))
    names = dict(connection.execute(select(Bay.id, Bay.name).where(Bay.district_id == district_id)).all())
    from enforcement.models import Violation

    flagged = {
        (names[bay_id], started_at)
        for bay_id, started_at in connection.execute(
            select(Stay.bay_id, Stay.started_at)
            .join(Violation, Violation.stay_id == Stay.id)
            .where(Violation.district_id == district_id, Violation.rule == "overstay")
        )
    }
    signs = fidelity.read_signs()
    compared = fidelity.compare(fidelity.council_stays(signs), flagged, signs)
    ours, plain = compared.project, compared.plain
    assert ours.stays == plain.stays == 15_822
    assert (plain.both, plain.only_ours, plain.only_council) == (1_310, 300, 632)
    assert ours.agreement > plain.agreement
    assert ours.recall > plain.recall
    assert ours.precision >= plain.precision
    assert f"agreement {ours.agreement:.4f}" in result.output
