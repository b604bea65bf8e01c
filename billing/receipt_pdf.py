"""A receipt as a PDF (A4, fpdf2): see billing/pdf.py for the fonts."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from billing.pdf import CJK_FONT, LATIN_FONT, FontMissingError, new_pdf, paragraph
from billing.receipts import Receipt, ReceiptStay

ReceiptFontMissingError = FontMissingError


def receipt_pdf(receipt: Receipt, cjk_font: Path = CJK_FONT, latin_font: Path = LATIN_FONT) -> bytes:
    """The receipt as PDF bytes; `FontMissingError` when a font file is absent."""
    pdf = new_pdf(receipt.paid_at, cjk_font, latin_font)  # the same receipt gives the same bytes
    pdf.set_title(f"Receipt {receipt.payment_id}")
    pdf.add_page()
    _header(pdf, receipt)
    for number, stay in enumerate(receipt.stays, start=1):
        _stay(pdf, receipt, number, stay)
    return bytes(pdf.output())


def _header(pdf: FPDF, receipt: Receipt) -> None:
    money = receipt.money
    paragraph(pdf, f"{receipt.district} — parking receipt", size=16, height=9)
    paragraph(pdf, f"Payment {receipt.payment_id}", size=9)
    paragraph(pdf, f"Paid at {receipt.paid_at:%Y-%m-%d %H:%M} ({receipt.time_zone})")
    paragraph(pdf, f"Channel {receipt.channel} · method {receipt.method} · status {receipt.status}")
    if receipt.plate:
        paragraph(pdf, f"Plate {receipt.plate}")
    if receipt.pos_device or receipt.attendant:
        paragraph(pdf, f"POS terminal {receipt.pos_device or '-'} · attendant {receipt.attendant or '-'}")
    paragraph(pdf, f"Amount {money(receipt.amount)}", size=13, height=8)
    if receipt.refunded:
        paragraph(pdf, f"Refunded {money(receipt.refunded)} · net {money(receipt.net)}")
    pdf.ln(3)


def _stay(pdf: FPDF, receipt: Receipt, number: int, stay: ReceiptStay) -> None:
    money = receipt.money
    if not stay.exists:
        paragraph(pdf, f"Stay {number}: no longer exists (re-derived by a late event)", size=11, height=7)
        paragraph(pdf, f"Allocated {money(stay.allocated)}")
        pdf.ln(2)
        return
    paragraph(pdf, f"Stay {number}: bay {stay.bay}, {stay.road}", size=11, height=7)
    exited = f"{stay.exited_at:%Y-%m-%d %H:%M}" if stay.exited_at else "-"
    paragraph(pdf, f"Entry {stay.entered_at:%Y-%m-%d %H:%M} · exit {exited} · duration {stay.duration_text}")
    if stay.fee is not None:
        paragraph(pdf, f"Tariff {stay.tariff} v{stay.tariff_version} · fee {money(stay.fee)}")
    for line in stay.lines:
        paragraph(
            pdf,
            f"  {line.local_date} {line.band} tier {line.tier}: {line.increments} × "
            f"{line.increment_minutes} min × {money(line.unit_amount)} = {money(line.amount)}",
            size=9,
        )
    for cap in stay.day_caps:
        paragraph(
            pdf, f"  day cap {cap.local_date}: {money(cap.charged)} capped to {money(cap.capped_to)}", 9
        )
    if stay.stay_cap_applied:
        paragraph(pdf, "  stay cap applied", size=9)
    if stay.vehicle_class:
        paragraph(pdf, f"  vehicle class {stay.vehicle_class} ({stay.percent}%)", size=9)
    paragraph(pdf, f"Allocated {money(stay.allocated)}")
    paragraph(pdf, "Events " + ", ".join(stay.event_ids), size=7, height=4)
    pdf.ln(2)
