"""Daily reconciliation for the bureau: `GET /api/v1/<district>/reconciliation?date=YYYY-MM-DD`.

JSON by default; `?format=csv` answers `text/csv`, one section per table of the JSON, in this
order: `summary`, `stays`, `payments`, `terminals`, `provider_mismatches`, `internal_mismatches`,
`overpayments`.
Each section is a title row holding only the section's name, a header row, its data rows, then
an empty row. Money is integer minor units of the summary's currency throughout.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, fields, validate

from api.auth import clock_now, require_staff
from api.csv_cells import csv_cell
from api.database import get_db
from api.openapi import documented
from api.schemas import CALENDAR_DAYS, QuerySchema
from billing.reconciliation import Reconciliation, reconcile
from parking.inventory import get_district
from sensors.devices import device_names

bp = Blueprint("reconciliation", __name__, url_prefix="/api/v1/<district>")


class ReconciliationQuery(QuerySchema):
    date = fields.Date(required=True, format="%Y-%m-%d", validate=CALENDAR_DAYS)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class StayTotalsOut(Schema):
    status = fields.String()
    count = fields.Integer()
    billed = fields.Integer()
    paid = fields.Integer()
    outstanding = fields.Integer()


class PaymentTotalsOut(Schema):
    channel = fields.String()
    method = fields.String()
    status = fields.String()
    count = fields.Integer()
    amount = fields.Integer()
    refunded = fields.Integer()


class TerminalTotalsOut(Schema):
    device = fields.String(allow_none=True)
    attendant = fields.String(allow_none=True)
    method = fields.String()
    count = fields.Integer()
    amount = fields.Integer()
    refunded = fields.Integer()


class ProviderMismatchOut(Schema):
    payment = fields.String()
    field = fields.String()
    database = fields.Raw(allow_none=True)
    provider = fields.Raw(allow_none=True)


class InternalMismatchOut(Schema):
    kind = fields.String()
    payment = fields.String(allow_none=True)
    stay = fields.String(allow_none=True)
    expected = fields.Integer(allow_none=True)
    actual = fields.Integer(allow_none=True)


class OverpaymentOut(Schema):
    overpayment = fields.String()
    payment = fields.String()
    stay = fields.String(allow_none=True)
    reason = fields.String()
    status = fields.String()
    amount = fields.Integer()
    created_at = fields.DateTime()


class ProviderCheckOut(Schema):
    checked = fields.Integer()
    unchecked = fields.Integer()
    error = fields.String(allow_none=True)
    synced_at = fields.AwareDateTime(allow_none=True)


class ReconciliationOut(Schema):
    district = fields.String()
    date = fields.Date(attribute="local_date")
    time_zone = fields.String()
    currency = fields.String()
    stays_total = fields.Nested(StayTotalsOut)
    collected = fields.Integer()
    refunded = fields.Integer()
    stays = fields.List(fields.Nested(StayTotalsOut))
    payments = fields.List(fields.Nested(PaymentTotalsOut))
    terminals = fields.List(fields.Nested(TerminalTotalsOut))
    provider = fields.Nested(ProviderCheckOut)
    provider_mismatches = fields.List(fields.Nested(ProviderMismatchOut))
    internal_mismatches = fields.List(fields.Nested(InternalMismatchOut))
    overpayments = fields.List(fields.Nested(OverpaymentOut))


@bp.get("/reconciliation")
@documented(
    "Reconcile one local day: stays billed, payments taken, and every mismatch with the provider's "
    "charges as the sync-provider job last copied them",
    ReconciliationOut,
    query=ReconciliationQuery,
    errors=(400, 401, 403, 404),
    media=("application/json", "text/csv"),
)
def daily_reconciliation(district: str) -> Response:
    """One local day of the district (JSON, or CSV with `format=csv`; see the module docstring)."""
    db = get_db()
    place = get_district(db, district)
    require_staff(db, place)
    args = ReconciliationQuery().load(request.args)
    result = reconcile(db, place, args["date"], now=clock_now(), device_names=device_names)
    if args["format"] == "csv":
        response = Response(as_csv(result), mimetype="text/csv")
        filename = f"reconciliation-{result.district}-{result.local_date.isoformat()}.csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return jsonify(ReconciliationOut().dump(result))


def as_csv(result: Reconciliation) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    total = result.stays_total
    summary = {
        "district": result.district,
        "date": result.local_date.isoformat(),
        "time_zone": result.time_zone,
        "currency": result.currency,
        "stays": total.count,
        "billed": total.billed,
        "paid": total.paid,
        "outstanding": total.outstanding,
        "collected": result.collected,
        "refunded": result.refunded,
        "provider_checked": result.provider.checked,
        "provider_unchecked": result.provider.unchecked,
        "provider_error": result.provider.error or "",
        "provider_synced_at": result.provider.synced_at.isoformat() if result.provider.synced_at else "",
    }
    _section(writer, "summary", list(summary), [summary])
    _section(writer, "stays", list(StayTotalsOut().fields), [asdict(s) for s in result.stays])
    _section(writer, "payments", list(PaymentTotalsOut().fields), [asdict(p) for p in result.payments])
    _section(writer, "terminals", list(TerminalTotalsOut().fields), [asdict(t) for t in result.terminals])
    _section(
        writer,
        "provider_mismatches",
        list(ProviderMismatchOut().fields),
        [asdict(m) for m in result.provider_mismatches],
    )
    _section(
        writer,
        "internal_mismatches",
        list(InternalMismatchOut().fields),
        [asdict(m) for m in result.internal_mismatches],
    )
    _section(
        writer,
        "overpayments",
        list(OverpaymentOut().fields),
        [{**asdict(o), "created_at": o.created_at.isoformat()} for o in result.overpayments],
    )
    return out.getvalue()


def _section(writer: Any, name: str, header: list[str], rows: list[dict[str, Any]]) -> None:
    writer.writerow([name])
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(row[key]) for key in header])
    writer.writerow([])
