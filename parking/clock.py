"""Clocks. Domain code takes `now` as an argument; only the shell reads the wall clock
(`api.clock.SystemClock`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta) -> None:
        self._at += by

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


def from_ms(ms: int) -> datetime:
    """CDS wire time (integer milliseconds since the epoch) to aware UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def to_ms(at: datetime) -> int:
    """Aware datetime to CDS wire time, integer milliseconds."""
    return int(at.timestamp() * 1000)
