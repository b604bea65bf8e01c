"""Money as people read it: the one table of the currencies a district may bill in, and the
one formatter of an amount of minor units.

Amounts are integers of minor units everywhere (fen, cents, yen); nothing here rounds, as
rounding happens in the tariff alone (billing/tariff.py). Three ways to write an amount,
each kept as it always read:
- plain, for receipts' text and logs: `1250, "CNY"` -> `12.50 CNY`, `123456, "JPY"` ->
  `123,456 JPY`;
- as a locale writes it, for pages, PDFs and notices: `¥12.50` in Chinese, `CN¥12.50` in
  English (Babel's CLDR data);
- by symbol, for a tariff in one line: `¥1.50`, `¥6.00`, and trimmed `¥60` for a cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


@dataclass(frozen=True)
class Currency:
    exponent: int  # ISO 4217 minor-unit digits
    symbol: str  # as a one-line tariff writes it


CURRENCIES = {
    "CNY": Currency(2, "¥"),
    "JPY": Currency(0, "¥"),
    "KRW": Currency(0, "₩"),
    "AUD": Currency(2, "A$"),
    "USD": Currency(2, "$"),
    "EUR": Currency(2, "€"),
    "GBP": Currency(2, "£"),
    "HKD": Currency(2, "HK$"),
}


def exponent(currency: str) -> int:
    """The minor-unit digits of a currency: the table's, else the CLDR's (2 for most)."""
    known = CURRENCIES.get(currency.upper())
    return known.exponent if known is not None else int(get_currency_precision(currency.upper()))


def to_major(amount_minor: int, currency: str) -> Decimal:
    """1250 fen -> Decimal('12.50'): exact, for charts and locale formatting."""
    return Decimal(amount_minor).scaleb(-exponent(currency))


def format_money(
    amount_minor: int, currency: str, locale: str | None = None, *, symbol: bool = False, trim: bool = False
) -> str:
    """An amount of minor units as text: plain (`12.50 CNY`) without a locale, as `locale`
    writes it with one (`¥12.50` zh, `CN¥12.50` en), or by `symbol` (`¥1.50`; with `trim`,
    a whole amount loses its decimals: `¥60`)."""
    code = currency.upper()
    if symbol:
        return _by_symbol(amount_minor, code, trim)
    if locale is not None:
        return str(format_currency(to_major(amount_minor, code), code, locale=locale))
    digits = exponent(code)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**digits)
    text = f"{whole:,}" + (f".{fraction:0{digits}d}" if digits else "")
    return f"{sign}{text} {code}"


def _by_symbol(amount_minor: int, code: str, trim: bool) -> str:
    known = CURRENCIES.get(code)
    sign = known.symbol if known is not None else f"{code} "
    digits = exponent(code)
    if digits == 0:
        return f"{sign}{amount_minor}"
    whole, fraction = divmod(amount_minor, 10**digits)
    return f"{sign}{whole}" if trim and not fraction else f"{sign}{whole}.{fraction:0{digits}d}"
