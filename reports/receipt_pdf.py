"""A receipt as a PDF (A4, fpdf2): see billing/pdf.py for the fonts. Its words, money and
times are the `Wording`'s (the request's language; plain English by default)."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from billing.pdf import CJK_FONT, LATIN_FONT, FontMissingError, new_pdf, paragraph
from billing.wording import Wording
from parking.errors import N_
from reports.receipts import Receipt, ReceiptCitation, ReceiptStay

ReceiptFontMissingError = FontMissingError


def receipt_pdf(
    receipt: Receipt, cjk_font: Path = CJK_FONT, latin_font: Path = LATIN_FONT, words: Wording | None = None
) -> bytes:
    """The receipt as PDF bytes; `FontMissingError` when a font file is absent."""
    words = words or Wording()
    # The same receipt gives the same bytes.
    pdf = new_pdf(receipt.paid_at, cjk_font, latin_font, page=words(N_("Page")))
    pdf.set_title(words(N_("Receipt %(payment)s"), payment=receipt.payment_id))
    pdf.add_page()
    _header(pdf, receipt, words)
    for number, stay in enumerate(receipt.stays, start=1):
        _stay(pdf, receipt, number, stay, words)
    for number, citation in enumerate(receipt.citations, start=1):
        _citation(pdf, receipt, number, citation, words)
    return bytes(pdf.output())


def _header(pdf: FPDF, receipt: Receipt, words: Wording) -> None:
    def money(amount: int) -> str:
        return words.money(amount, receipt.currency)

    paragraph(pdf, words(N_("%(district)s — parking receipt"), district=receipt.district), size=16, height=9)
    paragraph(pdf, words(N_("Payment %(payment)s"), payment=receipt.payment_id), size=9)
    paragraph(
        pdf,
        words(N_("Paid at %(time)s (%(zone)s)"), time=words.moment(receipt.paid_at), zone=receipt.time_zone),
    )
    paragraph(
        pdf,
        words(
            N_("Channel %(channel)s · method %(method)s · status %(status)s"),
            channel=words(receipt.channel),
            method=words(receipt.method),
            status=words(receipt.status),
        ),
    )
    if receipt.plate:
        paragraph(pdf, words(N_("Plate %(plate)s"), plate=receipt.plate))
    if receipt.pos_device or receipt.attendant:
        paragraph(
            pdf,
            words(
                N_("POS terminal %(device)s · attendant %(attendant)s"),
                device=receipt.pos_device or "-",
                attendant=receipt.attendant or "-",
            ),
        )
    paragraph(pdf, words(N_("Amount %(amount)s"), amount=money(receipt.amount)), size=13, height=8)
    if receipt.refunded:
        paragraph(
            pdf,
            words(
                N_("Refunded %(refunded)s · net %(net)s"),
                refunded=money(receipt.refunded),
                net=money(receipt.net),
            ),
        )
    pdf.ln(3)


def _stay(pdf: FPDF, receipt: Receipt, number: int, stay: ReceiptStay, words: Wording) -> None:
    def money(amount: int) -> str:
        return words.money(amount, receipt.currency)

    allocated = words(N_("Allocated %(amount)s"), amount=money(stay.allocated))
    if not stay.exists:
        gone = words(N_("Stay %(number)d: no longer exists (re-derived by a late event)"), number=number)
        paragraph(pdf, gone, size=11, height=7)
        paragraph(pdf, allocated)
        pdf.ln(2)
        return
    heading = words(N_("Stay %(number)d: bay %(bay)s, %(road)s"), number=number, bay=stay.bay, road=stay.road)
    paragraph(pdf, heading, size=11, height=7)
    entered = words.moment(stay.entered_at) if stay.entered_at else "-"
    exited = words.moment(stay.exited_at) if stay.exited_at else "-"
    paragraph(
        pdf,
        words(
            N_("Entry %(entry)s · exit %(exit)s · duration %(duration)s"),
            entry=entered,
            exit=exited,
            duration=words.duration(stay.duration),
        ),
    )
    if stay.fee is not None:
        paragraph(
            pdf,
            words(
                N_("Tariff %(tariff)s v%(version)s · fee %(fee)s"),
                tariff=stay.tariff,
                version=stay.tariff_version,
                fee=money(stay.fee),
            ),
        )
    for line in stay.lines:
        paragraph(
            pdf,
            "  "
            + words(
                N_(
                    "%(date)s %(band)s tier %(tier)s: %(increments)s × %(minutes)s min × %(unit)s = %(amount)s"
                ),
                date=line.local_date,
                band=line.band,
                tier=line.tier,
                increments=line.increments,
                minutes=line.increment_minutes,
                unit=money(line.unit_amount),
                amount=money(line.amount),
            ),
            size=9,
        )
    for cap in stay.day_caps:
        capped = words(
            N_("day cap %(date)s: %(charged)s capped to %(capped)s"),
            date=cap.local_date,
            charged=money(cap.charged),
            capped=money(cap.capped_to),
        )
        paragraph(pdf, "  " + capped, 9)
    if stay.stay_cap_applied:
        paragraph(pdf, "  " + words(N_("stay cap applied")), size=9)
    if stay.vehicle_class:
        vehicle = words(
            N_("vehicle class %(class)s (%(percent)s%%)"),
            **{"class": words(stay.vehicle_class), "percent": stay.percent},
        )
        paragraph(pdf, "  " + vehicle, size=9)
    paragraph(pdf, allocated)
    paragraph(pdf, words(N_("Events %(events)s"), events=", ".join(stay.event_ids)), size=7, height=4)
    pdf.ln(2)


def _citation(pdf: FPDF, receipt: Receipt, number: int, citation: ReceiptCitation, words: Wording) -> None:
    heading = words(N_("Citation %(number)d: %(rule)s"), number=number, rule=words(citation.rule))
    paragraph(pdf, heading, size=11, height=7)
    paragraph(pdf, words(N_("Citation %(citation)s"), citation=citation.citation_id), size=9)
    paragraph(
        pdf,
        words(
            N_("Issued %(time)s · fine %(amount)s"),
            time=words.moment(citation.issued_at),
            amount=words.money(citation.amount, receipt.currency),
        ),
    )
    pdf.ln(2)
