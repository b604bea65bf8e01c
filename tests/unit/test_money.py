"""The one money formatter (billing/money.py): every way an amount of minor units is
written, as receipts, pages, notices and one-line tariffs wrote it before there was one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.money import CURRENCIES, exponent, format_money, to_major


def test_money_is_formatted_from_minor_units_by_the_currency_exponent() -> None:
    assert format_money(1250, "CNY") == "12.50 CNY"
    assert format_money(5, "usd") == "0.05 USD"
    assert format_money(123456, "JPY") == "123,456 JPY"
    assert format_money(-100, "EUR") == "-1.00 EUR"


@pytest.mark.parametrize(
    ("amount", "currency", "english", "chinese"),
    [
        (1200, "CNY", "CN¥12.00", "¥12.00"),
        (1250, "CNY", "CN¥12.50", "¥12.50"),
        (123456, "JPY", "¥123,456", "JP¥123,456"),
        (5, "USD", "$0.05", "US$0.05"),
        (-100, "EUR", "-€1.00", "-€1.00"),
    ],
)
def test_each_locale_writes_money_its_own_way(amount: int, currency: str, english: str, chinese: str) -> None:
    assert format_money(amount, currency, "en") == english
    assert format_money(amount, currency, "zh_Hans_CN") == chinese


def test_a_tariff_line_writes_the_symbol_and_trims_only_what_it_is_asked_to() -> None:
    assert format_money(150, "CNY", symbol=True) == "¥1.50"
    assert format_money(600, "CNY", symbol=True) == "¥6.00"
    assert format_money(6000, "CNY", symbol=True, trim=True) == "¥60"
    assert format_money(6050, "CNY", symbol=True, trim=True) == "¥60.50"
    assert format_money(500, "JPY", symbol=True) == "¥500"
    assert format_money(150, "AUD", symbol=True, trim=True) == "A$1.50"
    assert format_money(150, "XYZ", symbol=True) == "XYZ 1.50"


def test_the_one_currency_table_agrees_with_the_iso_exponents_and_converts_exactly() -> None:
    assert {code: c.exponent for code, c in CURRENCIES.items() if c.exponent == 0} == {"JPY": 0, "KRW": 0}
    assert exponent("cny") == 2 and exponent("BHD") == 3  # outside the table: the CLDR's digits
    assert to_major(1250, "CNY") == Decimal("12.50") and to_major(500, "JPY") == Decimal(500)
