"""Field work over HTTP (issue 15): fines as versioned data, the citation lifecycle after
issue, the police and city management closing what is routed to them, and street-order
reports that reach city management and never the police."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from billing.models import Payment
from billing.tariffs import price_ended_stays
from enforcement.models import Citation, Task
from enforcement.street_reports import sweep_stake_street_reports
from fixtures.builders import cds_event
from parking.models import Stay
from tests.api.test_warden_api import API, PLATE, Town, add_task, park, png, register, resolve
from tests.api.test_warden_api import town as town  # noqa: F401  (the fixture)
from tests.support.http import assert_problem as problem

# --- fines


def test_an_admin_publishes_a_new_fine_version_and_citations_after_its_date_use_it(
    client: FlaskClient, db: Session, town: Town
) -> None:
    later = (town.now + timedelta(days=1)).isoformat()
    body = {"rule": "overstay", "amount": 30_000, "effective_from": later}
    made = client.post(f"{API}/fines", json=body, headers=town.auth("admin"))
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["in_force"] is False and made.get_json()["created_by"] == "admin one"

    listed = client.get(f"{API}/fines").get_json()["fines"]
    assert [(f["amount"], f["in_force"], f["currency"]) for f in listed] == [
        (20_000, True, "CNY"),
        (30_000, False, "CNY"),
    ]
    task = add_task(db, town, "T1-2", timedelta(minutes=40))
    assert client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth()).status_code == 200
    cited = resolve(client, town, task, "citation_issued", png()).get_json()["citation"]
    assert db.scalar(select(Citation.amount).where(Citation.uuid == cited)) == 20_000


def test_only_an_admin_sets_fines_and_a_bad_fine_is_refused_with_every_field(
    client: FlaskClient, town: Town
) -> None:
    problem(
        client.post(f"{API}/fines", json={"rule": "overstay", "amount": 1}, headers=town.auth()),
        403,
        "forbidden",
    )
    bad = client.post(f"{API}/fines", json={"rule": "speeding", "amount": -1}, headers=town.auth("admin"))
    assert bad.status_code == 400 and {"rule", "amount"} <= {
        e.split(":")[0] for e in bad.get_json()["errors"]
    }
    arrears = client.post(
        f"{API}/fines", json={"rule": "arrears", "amount": 10_000}, headers=town.auth("admin")
    )
    assert arrears.status_code == 201 and arrears.get_json()["in_force"] is True


# --- the citation lifecycle


def _cite(client: FlaskClient, db: Session, town: Town, bay: str = "T1-2") -> str:
    task = add_task(db, town, bay, timedelta(minutes=40))
    client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth())
    reply = resolve(client, town, task, "citation_issued", png())
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return str(reply.get_json()["citation"])


def test_a_citation_is_appealed_by_anyone_with_its_id_and_the_bureau_decides_with_a_reason(
    client: FlaskClient, db: Session, town: Town
) -> None:
    cited = _cite(client, db, town)
    appealed = client.post(f"{API}/citations/{cited}/appeal", json={"reason": "the sign was covered"})
    assert appealed.status_code == 200 and appealed.get_json()["status"] == "appealed"
    problem(
        client.post(f"{API}/citations/{cited}/appeal", json={"reason": "again"}), 409, "citation_transition"
    )
    decision = {"outcome": "upheld", "reason": "the sign is visible in the photo"}
    problem(
        client.post(f"{API}/citations/{cited}/decision", json=decision, headers=town.auth()), 403, "forbidden"
    )
    decided = client.post(f"{API}/citations/{cited}/decision", json=decision, headers=town.auth("bureau"))

    body = decided.get_json()
    assert body["status"] == "upheld" and body["rule"] == "overstay" and body["amount"] == 20_000
    assert [(h["to_status"], h["changed_by"], h["reason"]) for h in body["history"]] == [
        ("issued", "warden one", None),
        ("appealed", "appellant", "the sign was covered"),
        ("upheld", "bureau one", "the sign is visible in the photo"),
    ]


def test_a_citation_is_voided_with_a_reason_and_only_an_appealed_one_is_decided(
    client: FlaskClient, db: Session, town: Town
) -> None:
    cited = _cite(client, db, town)
    decision = {"outcome": "voided", "reason": "no appeal"}
    problem(
        client.post(f"{API}/citations/{cited}/decision", json=decision, headers=town.auth("bureau")),
        409,
        "citation_transition",
    )
    problem(
        client.post(f"{API}/citations/{cited}/void", json={}, headers=town.auth("bureau")),
        400,
        "invalid_parameters",
    )
    voided = client.post(f"{API}/citations/{cited}/void", json={"reason": "wrong plate"}, headers=town.auth())
    assert voided.status_code == 200 and voided.get_json()["status"] == "voided"
    problem(
        client.post(f"{API}/citations/{cited}/void", json={"reason": "x"}, headers=town.auth()),
        409,
        "citation_transition",
    )
    problem(client.get(f"{API}/citations/{cited}"), 401, "unauthorized")
    assert (
        client.get(f"{API}/citations/{cited}", headers=town.auth("police")).get_json()["status"] == "voided"
    )


def test_a_disputed_citation_is_appealed_and_a_cancelled_decision_voids_it_and_is_counted(
    client: FlaskClient, db: Session, town: Town
) -> None:
    cited = _cite(client, db, town)
    opened = client.post(
        f"{API}/plates/{PLATE}/disputes", json={"citation": cited, "reason": "I was loading"}
    )
    assert opened.status_code == 201, opened.get_json()
    assert client.get(f"{API}/citations/{cited}", headers=town.auth()).get_json()["status"] == "appealed"
    bad = {"outcome": "adjusted", "amount": 25_000, "reason": "more"}
    problem(
        client.post(
            f"{API}/disputes/{opened.get_json()['id']}/decision", json=bad, headers=town.auth("admin")
        ),
        400,
        "invalid_dispute",
    )
    decision = {"outcome": "cancelled", "reason": "loading is allowed there"}
    decided = client.post(
        f"{API}/disputes/{opened.get_json()['id']}/decision", json=decision, headers=town.auth("admin")
    )

    assert decided.get_json()["outcome"] == "cancelled"
    assert client.get(f"{API}/citations/{cited}", headers=town.auth()).get_json()["status"] == "voided"
    listed = client.get(f"{API}/disputes", headers=town.auth("bureau")).get_json()
    assert listed["counts"]["cancelled"] == 1 and listed["disputes"][0]["citation"] == cited


def test_an_adjusted_citation_dispute_lowers_the_fine_that_then_stands(
    client: FlaskClient, db: Session, town: Town
) -> None:
    cited = _cite(client, db, town)
    opened = client.post(
        f"{API}/plates/{PLATE}/disputes", json={"citation": cited, "reason": "first time"}
    ).get_json()
    decision = {"outcome": "adjusted", "amount": 10_000, "reason": "first offence"}
    client.post(f"{API}/disputes/{opened['id']}/decision", json=decision, headers=town.auth("bureau"))

    owed = client.get(f"{API}/plates/{PLATE}/unpaid").get_json()
    assert [(c["citation"], c["amount"], c["status"]) for c in owed["citations"]] == [
        (cited, 10_000, "upheld")
    ]
    problem(
        client.post(f"{API}/plates/{PLATE}/disputes", json={"citation": cited, "reason": "again"}),
        409,
        "not_disputable",
    )


# --- police and city management act


def test_a_police_officer_takes_an_escalated_case_and_closes_it_with_a_police_outcome(
    client: FlaskClient, db: Session, town: Town
) -> None:
    escalated = add_task(db, town, "T1-2", timedelta(hours=1), status="escalated")
    fresh = add_task(db, town, "T1-3", timedelta(minutes=5))
    queue = client.get(f"{API}/tasks", headers=town.auth("police")).get_json()["tasks"]
    assert [t["id"] for t in queue] == [escalated.uuid]
    problem(client.post(f"{API}/tasks/{fresh.uuid}/take", headers=town.auth("police")), 403, "not_your_team")

    assert client.post(f"{API}/tasks/{escalated.uuid}/take", headers=town.auth("police")).status_code == 200
    problem(
        resolve(client, town, escalated, "citation_issued", png(), who="police"), 400, "outcome_not_for_team"
    )
    closed = resolve(client, town, escalated, "towed", who="police")

    assert closed.status_code == 200, closed.get_data(as_text=True)
    assert (closed.get_json()["status"], closed.get_json()["outcome"]) == ("resolved", "towed")
    assert closed.get_json()["note"] == "seen at the curb"


def test_a_warden_may_not_close_with_a_city_outcome(client: FlaskClient, db: Session, town: Town) -> None:
    task = add_task(db, town, "T1-2", timedelta(minutes=40))
    client.post(f"{API}/tasks/{task.uuid}/take", headers=town.auth())
    problem(resolve(client, town, task, "stall_removed"), 400, "outcome_not_for_team")


# --- street reports


def test_a_warden_reports_a_vending_stall_that_city_management_sees_and_the_police_never_do(
    client: FlaskClient, db: Session, town: Town
) -> None:
    bay = town.small.bay("T1-2")
    body = {"kind": "vending", "lat": bay.lat, "lng": bay.lng, "note": "fruit stall on the pavement"}
    made = client.post(f"{API}/street-reports", json=body, headers=town.auth())
    assert made.status_code == 201, made.get_data(as_text=True)
    report = made.get_json()
    assert (report["kind"], report["status"], report["road"], report["reported_by"]) == (
        "vending",
        "open",
        bay.road.name,
        "warden one",
    )
    city = client.get(f"{API}/tasks", headers=town.auth("city")).get_json()["tasks"]
    assert [(t["id"], t["kind"], t["details"]["report"]) for t in city] == [
        (report["task"], "street_report", "vending")
    ]
    assert client.get(f"{API}/tasks", headers=town.auth("police")).get_json()["tasks"] == []
    assert client.get(f"{API}/police/feed", headers=town.auth("police")).get_json()["items"] == []
    problem(
        client.post(f"{API}/tasks/{report['task']}/take", headers=town.auth("police")), 403, "not_your_team"
    )


def test_city_management_closes_a_street_report_with_a_photo_sent_as_multipart(
    client: FlaskClient, db: Session, town: Town
) -> None:
    bay = town.small.bay("T2-1")
    data = {
        "kind": "goods_on_road",
        "lat": str(bay.lat),
        "lng": str(bay.lng),
        "photo": FileStorage(io.BytesIO(png()), "p.png"),
    }
    boundary, encoded = encode_multipart(MultiDict(data))
    made = client.post(
        f"{API}/street-reports",
        data=encoded,
        headers=town.auth("city"),
        content_type=f"multipart/form-data; boundary={boundary}",
    ).get_json()
    assert made["photo_url"] and client.get(made["photo_url"], headers=town.auth("city")).data == png()
    assert client.post(f"{API}/tasks/{made['task']}/take", headers=town.auth("city")).status_code == 200
    closed = resolve(
        client,
        town,
        db.scalars(select(Task).where(Task.uuid == made["task"])).one(),
        "goods_cleared",
        who="city",
    )
    assert closed.get_json()["outcome"] == "goods_cleared"

    listed = client.get(f"{API}/street-reports", headers=town.auth("bureau")).get_json()
    assert [(r["kind"], r["status"], r["outcome"]) for r in listed["reports"]] == [
        ("goods_on_road", "resolved", "goods_cleared")
    ]
    [row] = listed["by_road_and_hour"]
    assert (row["road"], row["total"], row["kinds"]) == (bay.road.name, 1, {"goods_on_road": 1})


def test_a_street_report_of_an_unknown_kind_or_place_is_refused_and_an_attendant_cannot_report(
    client: FlaskClient, town: Town
) -> None:
    bad = client.post(f"{API}/street-reports", json={"kind": "parade", "lat": 91}, headers=town.auth())
    assert bad.status_code == 400 and {"kind", "lat", "lng"} <= {
        e.split(":")[0] for e in bad.get_json()["errors"]
    }
    problem(client.post(f"{API}/street-reports", data="x", headers=town.auth()), 400, "invalid_json")
    body = {"kind": "other", "lat": 26.6, "lng": 106.6}
    problem(client.post(f"{API}/street-reports", json=body, headers=town.auth("attendant")), 403, "forbidden")
    problem(client.get(f"{API}/street-reports", headers=town.auth()), 403, "forbidden")


def test_a_stake_reports_vending_with_a_custom_attribute_and_the_sweep_opens_one_city_task(
    client: FlaskClient, db: Session, town: Town
) -> None:
    s = town.small
    event = cds_event(s.stake_a, s.bay("T1-3"), "scheduled_report", town.now - timedelta(minutes=1))
    event["custom_attributes"] = {"street_report": "vending"}
    pushed = client.post(
        "/cds/testville/events/event", json=[event], headers={"Authorization": f"Bearer {s.stake_a.token}"}
    )
    assert pushed.status_code == 200, pushed.get_data(as_text=True)

    since = town.now - timedelta(hours=1)
    assert sweep_stake_street_reports(db, s.district, since, town.now + timedelta(minutes=1)) == 1
    assert sweep_stake_street_reports(db, s.district, since, town.now + timedelta(minutes=2)) == 0
    [task] = db.scalars(select(Task).where(Task.kind == "street_report")).all()
    assert (task.team, task.details["source"], task.details["report"]) == ("city", "stake", "vending")
    assert (task.lat, task.lng) == (s.bay("T1-3").lat, s.bay("T1-3").lng)


# --- evidence


def test_the_evidence_of_a_stay_shows_each_event_its_device_plate_read_and_the_fee_breakdown(
    client: FlaskClient, db: Session, town: Town
) -> None:
    park(client, town, "T1-1", town.now - timedelta(hours=2), town.now - timedelta(minutes=50))
    price_ended_stays(db, town.small.district, town.now)
    db.commit()
    stay = db.scalars(select(Stay)).one()

    body = client.get(f"{API}/stays/{stay.uuid}/evidence").get_json()

    assert [(e["kind"], e["device"], e["device_kind"], e["plate"]) for e in body["events"]] == [
        ("park_start", "STAKE-A", "video_stake", PLATE),
        ("park_end", "STAKE-A", "video_stake", None),
    ]
    assert body["fee"]["amount"] == 900 and body["fee"]["breakdown"]
    assert (body["tariff"]["code"], body["tariff"]["version"]) == ("standard", 1)
    problem(client.get(f"{API}/stays/{'0' * 36}/evidence"), 404, "unknown_stay")


def test_the_evidence_of_a_citation_shows_its_photo_and_audit_trail_to_whoever_holds_its_id(
    client: FlaskClient, db: Session, town: Town
) -> None:
    cited = _cite(client, db, town)

    body = client.get(f"{API}/citations/{cited}/evidence").get_json()

    assert (body["rule"], body["amount"], body["issued_by"]) == ("overstay", 20_000, "warden one")
    assert [step["status"] for step in body["history"]] == ["issued"]
    [url] = body["photo_urls"]
    assert client.get(url).data == png()
    problem(client.get(f"{API}/citations/{cited}/photos/{'0' * 36}"), 404, "no_photo")


# --- escalation timings


def test_case_timings_report_per_team_how_long_escalation_taking_and_closing_took(
    client: FlaskClient, db: Session, town: Town
) -> None:
    escalated = add_task(db, town, "T1-2", timedelta(hours=2), status="escalated")  # escalated after 30 min
    add_task(db, town, "T1-3", timedelta(minutes=20))
    client.post(f"{API}/tasks/{escalated.uuid}/take", headers=town.auth("police"))
    resolve(client, town, escalated, "moved_on", who="police")

    body = client.get(f"{API}/cases/timings", headers=town.auth("bureau")).get_json()

    [warden] = body["teams"]
    assert (warden["team"], warden["opened"], warden["escalated"], warden["taken"], warden["resolved"]) == (
        "warden",
        2,
        1,
        1,
        1,
    )
    assert warden["minutes_to_escalation"] == {"median": 30, "p90": 30}
    assert warden["minutes_to_close"] == {"median": 120, "p90": 120}
    assert warden["outcomes"] == {"moved_on": 1}
    problem(client.get(f"{API}/cases/timings", headers=town.auth()), 403, "forbidden")


def test_the_bureau_road_map_marks_the_days_street_reports(client: FlaskClient, town: Town) -> None:
    bay = town.small.bay("T1-2")
    body = {"kind": "vending", "lat": bay.lat, "lng": bay.lng}
    assert client.post(f"{API}/street-reports", json=body, headers=town.auth()).status_code == 201

    day = town.now.astimezone(ZoneInfo(town.small.district.time_zone)).date().isoformat()
    svg = client.get(f"{API}/reports/charts/road-map.svg?period=day&start={day}", headers=town.auth("bureau"))

    assert svg.status_code == 200, svg.get_data(as_text=True)[:300]
    assert 'id="street-vending"' in svg.get_data(as_text=True)


# --- cash or QR taken at the curb, through the same intake


def test_an_attendant_records_cash_taken_at_the_curb_once_however_often_it_is_uploaded(
    client: FlaskClient, db: Session, town: Town
) -> None:
    register(client, town, "attendant", plate="贵C55555")
    payment = {
        "kind": "payment",
        "amount": 600,
        "method": "cash",
        "client_id": str(uuid.UUID(int=43)),
        "plate": "贵C55555",
    }
    first = register(client, town, "attendant", **payment)
    again = register(client, town, "attendant", **payment)

    assert (first.status_code, again.status_code) == (201, 200), first.get_json()
    [paid] = db.scalars(select(Payment)).all()
    assert (paid.channel, paid.method, paid.amount, paid.plate) == ("pos", "cash", 300, "贵C55555")
    refused = register(client, town, "attendant", kind="payment", client_id=str(uuid.UUID(int=44)))
    problem(refused, 400, "payment_required")
