"""How a document people read speaks: its words through a catalogue, its money, dates and
durations formatted for its locale (Babel), in the district's local time. The web layer makes
one per request from the request's locale (api/i18n.py); `Wording()` is plain English."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from babel.dates import format_date, format_time

from billing.money import format_money
from parking.errors import N_


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Wording:
    locale: str = "en"
    translate: Callable[[str], str] = field(default=_same)

    def __call__(self, template: str, **params: object) -> str:
        """The template in this locale, with its %(name)s parameters filled in."""
        text = self.translate(template)
        return text % params if params else text

    def money(self, amount: int, currency: str) -> str:
        """Minor units as the locale writes money: ¥12.00 in Chinese, CN¥12.00 in English."""
        return format_money(amount, currency, self.locale)

    def moment(self, at: datetime) -> str:
        """A local date and time: 2026年12月6日 14:05, December 6, 2026 14:05."""
        return f"{format_date(at, 'long', locale=self.locale)} {format_time(at, 'HH:mm', locale=self.locale)}"

    def duration(self, length: timedelta | None) -> str:
        """2 h 05 min (2小时05分钟); `-` for none."""
        if length is None:
            return "-"
        minutes = int(length.total_seconds()) // 60
        return self(N_("%(hours)d h %(minutes)02d min"), hours=minutes // 60, minutes=minutes % 60)


# Words stored as data that documents show (payment channel, method and status, vehicle
# class), listed here so the catalogues carry them.
STORED_WORDS = (
    N_("auto"),
    N_("plate"),
    N_("pos"),
    N_("account"),
    N_("card"),
    N_("cash"),
    N_("qr"),
    N_("credit_card"),
    N_("digital_wallet"),
    N_("smart_card"),
    N_("membership_card"),
    N_("billing"),
    N_("permit"),
    N_("voucher"),
    N_("courtesy"),
    N_("test"),
    N_("other"),
    N_("succeeded"),
    N_("electric"),
    # the rules a citation on a receipt was issued for
    N_("overstay"),
    N_("restriction"),
    N_("unregistered"),
    N_("obstruction"),
    N_("arrears"),
)
