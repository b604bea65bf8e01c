"""A driver's notifications in the reader's language. A notification is stored once, worded in
English, with its facts in `data`; the app reads it again in the language of the request,
worded from those facts (docs/I18N.md). One it cannot reword keeps its stored message."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_time

from api.i18n import locale_name, wording
from billing.notification_models import ARREARS_NOTICE, MAX_STAY_REMINDER, STAY_CHARGED
from parking.errors import N_


def worded(notification: Any) -> dict[str, Any]:
    """The notification's fields for the answer, its message in the request's language."""
    data = dict(notification.data or {})
    return {
        "id": notification.id,
        "kind": notification.kind,
        "created_at": notification.created_at,
        "message": _message(notification.kind, data) or notification.message,
        "data": data,
    }


def _message(kind: str, data: dict[str, Any]) -> str | None:
    words = wording()
    where = {"bay": data.get("bay"), "road": data.get("road")}
    if kind == STAY_CHARGED and "amount" in data:
        amount = words.money(int(data["amount"]), str(data["currency"]).upper())
        return words(
            N_("Your stay in bay %(bay)s on %(road)s was paid with your saved card: %(amount)s."),
            **where,
            amount=amount,
        )
    if kind == ARREARS_NOTICE and "owed" in data:
        owed = words.money(int(data["owed"]), str(data["currency"]).upper())
        return words(
            N_(
                "Your stay in bay %(bay)s on %(road)s is unpaid and now in arrears: %(amount)s. Pay it in the app or by plate."
            ),
            **where,
            amount=owed,
        )
    if kind == MAX_STAY_REMINDER and "time_zone" in data:
        ends_at = datetime.fromisoformat(str(data["max_stay_ends_at"]).replace("Z", "+00:00"))
        local = format_time(ends_at.astimezone(ZoneInfo(data["time_zone"])), "HH:mm", locale=locale_name())
        return words(
            N_("Your stay in bay %(bay)s on %(road)s reaches its maximum stay at %(time)s."),
            **where,
            time=local,
        )
    return None
