"""A receipt as a PDF (A4, fpdf2), in TrueType fonts that print Chinese road names.

Droid Sans Fallback (Debian `fonts-droid-fallback`) carries the CJK glyphs but no Latin ones,
so the text is set in DejaVu Sans (Debian `fonts-dejavu-core`) and fpdf2 falls back to Droid
for every glyph DejaVu lacks. fpdf2 embeds only the glyphs used, with a ToUnicode map so the
text can be searched and copied.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from billing.receipts import Receipt, ReceiptStay

CJK_FONT = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_FAMILY = "dejavu"
_CJK_FAMILY = "droid"
_WIDTH = 180  # mm between the margins of A4


class ReceiptFontMissingError(RuntimeError):
    """The CJK font the PDF needs is not installed on this machine."""

    code = "receipt_font_missing"

    def __init__(self, path: Path, package: str) -> None:
        super().__init__(
            f"the receipt font {path} is missing: install the Debian package {package} "
            f"(apt-get install {package})"
        )


def receipt_pdf(receipt: Receipt, cjk_font: Path = CJK_FONT, latin_font: Path = LATIN_FONT) -> bytes:
    """The receipt as PDF bytes; `ReceiptFontMissingError` when a font file is absent."""
    for path, package in ((cjk_font, "fonts-droid-fallback"), (latin_font, "fonts-dejavu-core")):
        if not path.is_file():
            raise ReceiptFontMissingError(path, package)
    pdf = _ReceiptPDF(format="A4")
    pdf.set_creation_date(receipt.paid_at)  # the same receipt gives the same bytes
    pdf.set_title(f"Receipt {receipt.payment_id}")
    pdf.add_font(_FAMILY, fname=str(latin_font))
    pdf.add_font(_CJK_FAMILY, fname=str(cjk_font))
    pdf.set_fallback_fonts([_CJK_FAMILY], exact_match=False)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    _header(pdf, receipt)
    for number, stay in enumerate(receipt.stays, start=1):
        _stay(pdf, receipt, number, stay)
    return bytes(pdf.output())


class _ReceiptPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FAMILY, size=8)
        self.cell(0, 5, f"Page {self.page_no()}/{{nb}}", align="C")


def _line(pdf: FPDF, text: str, size: float = 10, height: float = 5.5) -> None:
    pdf.set_font(_FAMILY, size=size)
    pdf.multi_cell(_WIDTH, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: FPDF, receipt: Receipt) -> None:
    money = receipt.money
    _line(pdf, f"{receipt.district} — parking receipt", size=16, height=9)
    _line(pdf, f"Payment {receipt.payment_id}", size=9)
    _line(pdf, f"Paid at {receipt.paid_at:%Y-%m-%d %H:%M} ({receipt.time_zone})")
    _line(pdf, f"Channel {receipt.channel} · method {receipt.method} · status {receipt.status}")
    if receipt.plate:
        _line(pdf, f"Plate {receipt.plate}")
    if receipt.pos_device or receipt.attendant:
        _line(pdf, f"POS terminal {receipt.pos_device or '-'} · attendant {receipt.attendant or '-'}")
    _line(pdf, f"Amount {money(receipt.amount)}", size=13, height=8)
    if receipt.refunded:
        _line(pdf, f"Refunded {money(receipt.refunded)} · net {money(receipt.net)}")
    pdf.ln(3)


def _stay(pdf: FPDF, receipt: Receipt, number: int, stay: ReceiptStay) -> None:
    money = receipt.money
    if not stay.exists:
        _line(pdf, f"Stay {number}: no longer exists (re-derived by a late event)", size=11, height=7)
        _line(pdf, f"Allocated {money(stay.allocated)}")
        pdf.ln(2)
        return
    _line(pdf, f"Stay {number}: bay {stay.bay}, {stay.road}", size=11, height=7)
    exited = f"{stay.exited_at:%Y-%m-%d %H:%M}" if stay.exited_at else "-"
    _line(pdf, f"Entry {stay.entered_at:%Y-%m-%d %H:%M} · exit {exited} · duration {stay.duration_text}")
    if stay.fee is not None:
        _line(pdf, f"Tariff {stay.tariff} v{stay.tariff_version} · fee {money(stay.fee)}")
    for line in stay.lines:
        _line(
            pdf,
            f"  {line.local_date} {line.band} tier {line.tier}: {line.increments} × "
            f"{line.increment_minutes} min × {money(line.unit_amount)} = {money(line.amount)}",
            size=9,
        )
    for cap in stay.day_caps:
        _line(pdf, f"  day cap {cap.local_date}: {money(cap.charged)} capped to {money(cap.capped_to)}", 9)
    if stay.stay_cap_applied:
        _line(pdf, "  stay cap applied", size=9)
    if stay.vehicle_class:
        _line(pdf, f"  vehicle class {stay.vehicle_class} ({stay.percent}%)", size=9)
    _line(pdf, f"Allocated {money(stay.allocated)}")
    _line(pdf, "Events " + ", ".join(stay.event_ids), size=7, height=4)
    pdf.ln(2)
