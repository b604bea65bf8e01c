"""A4 PDFs (fpdf2) in TrueType fonts that print Chinese road names: receipts, monthly reports.

Droid Sans Fallback (Debian `fonts-droid-fallback`) carries the CJK glyphs but no Latin ones,
so the text is set in DejaVu Sans (Debian `fonts-dejavu-core`) and fpdf2 falls back to Droid
for every glyph DejaVu lacks. fpdf2 embeds only the glyphs used, with a ToUnicode map so the
text can be searched and copied.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

CJK_FONT = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FAMILY = "dejavu"
CJK_FAMILY = "droid"
WIDTH = 180  # mm between the margins of A4


class FontMissingError(RuntimeError):
    """A font the PDF needs is not installed on this machine."""

    code = "font_missing"

    def __init__(self, path: Path, package: str) -> None:
        super().__init__(
            f"the font {path} is missing: install the Debian package {package} (apt-get install {package})"
        )


class NumberedPDF(FPDF):
    """A4 with "Page N/M" (in the document's language) at the foot of every page."""

    page_word = "Page"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.cell(0, 5, f"{self.page_word} {self.page_no()}/{{nb}}", align="C")


def new_pdf(
    created_at: datetime, cjk_font: Path = CJK_FONT, latin_font: Path = LATIN_FONT, page: str = "Page"
) -> NumberedPDF:
    """An empty document with the fonts registered; the same `created_at` gives the same bytes.
    `FontMissingError` names the package when a font file is absent."""
    for path, package in ((cjk_font, "fonts-droid-fallback"), (latin_font, "fonts-dejavu-core")):
        if not path.is_file():
            raise FontMissingError(path, package)
    pdf = NumberedPDF(format="A4")
    pdf.page_word = page
    pdf.set_creation_date(created_at)
    pdf.add_font(FAMILY, fname=str(latin_font))
    pdf.add_font(CJK_FAMILY, fname=str(cjk_font))
    pdf.set_fallback_fonts([CJK_FAMILY], exact_match=False)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    return pdf


def paragraph(pdf: FPDF, text: str, size: float = 10, height: float = 5.5) -> None:
    """One paragraph across the page."""
    pdf.set_font(FAMILY, size=size)
    pdf.multi_cell(WIDTH, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
