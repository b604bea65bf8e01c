"""Receipt pages: `/receipts/<payment>` (HTML) and `/receipts/<payment>.pdf`.

Public by design, like a payment provider's receipt link: the payment's uuid is the secret.
Anything but a succeeded payment answers 404 `no_receipt`.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for
from flask_babel import force_locale

from api.database import get_db
from api.errors import error_response
from api.i18n import chosen_locale, wording
from reports.receipt_pdf import ReceiptFontMissingError, receipt_pdf
from reports.receipts import receipt_for

bp = Blueprint("receipts", __name__, url_prefix="/receipts")


@bp.get("/<payment>")
def receipt_page(payment: str) -> Response:
    """The receipt as a printable, mobile-friendly page."""
    receipt = receipt_for(get_db(), payment)
    with force_locale(chosen_locale() or receipt.default_locale):
        html = render_template(
            "receipt.html",
            receipt=receipt,
            words=wording(),
            pdf_url=url_for("receipts.receipt_document", payment=payment),
        )
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link itself is the secret
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


@bp.get("/<payment>.pdf")
def receipt_document(payment: str) -> Response:
    """The receipt as an A4 PDF."""
    receipt = receipt_for(get_db(), payment)
    try:
        with force_locale(chosen_locale() or receipt.default_locale):
            document = receipt_pdf(receipt, words=wording())
    except ReceiptFontMissingError as error:
        return error_response(500, error.code, str(error))
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="receipt-{receipt.payment_id}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
