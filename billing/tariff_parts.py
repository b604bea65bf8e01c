"""The parts of a tariff: bands and their tiers, vehicle classes, restrictions and stay
limits, as billing/tariff_document.py reads them from a document and billing/tariff.py
prices stays by them; and the errors of a document that does not hold together."""

from __future__ import annotations

from dataclasses import dataclass

from parking.errors import N_, InvalidInputError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_TYPES = (*WEEKDAYS, "holiday")
RESTRICTION_ACTIVITIES = ("no parking", "no stopping")
# What a person reads for each activity, through the catalogue of the reader's language.
RESTRICTION_WORDS = {"no parking": N_("No parking"), "no stopping": N_("No stopping")}
MINUTE_MS = 60_000
DAY_MINUTES = 24 * 60


class InvalidTariffError(InvalidInputError):
    code = "invalid_tariff"


class TariffGapError(InvalidTariffError):
    code = "tariff_gap"


class TariffOverlapError(InvalidTariffError):
    code = "tariff_overlap"


@dataclass(frozen=True)
class Tier:
    until_ms: int | None  # elapsed time since arrival at which the next tier takes over
    increment_ms: int
    amount: int  # per increment

    @property
    def increment_minutes(self) -> int:
        return self.increment_ms // MINUTE_MS


@dataclass(frozen=True)
class Band:
    name: str
    days: frozenset[str]
    windows: tuple[tuple[int, int], ...]  # local minutes of the day, [start, end)
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class VehicleClass:
    percent: int
    free_ms: int | None


@dataclass(frozen=True)
class Restriction:
    name: str
    activity: str
    days: frozenset[str]
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class StayLimit:
    name: str
    days: frozenset[str]
    windows: tuple[tuple[int, int], ...]
    max_stay_minutes: int
    metered: bool = False
    loading_zone: bool = False
    disabled_only: bool = False
    disability_extension_minutes: int | None = None
    sign: str | None = None
