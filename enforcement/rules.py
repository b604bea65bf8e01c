"""The enforcement rules themselves, without the database: when a stay breaks a rule, which
team deals with it, and how a citation's status may move."""

from __future__ import annotations

from datetime import datetime, timedelta

from billing.tariff import Tariff
from billing.tariff_parts import Restriction
from enforcement.models import (
    APPEALED,
    ISSUED,
    OBSTRUCTION,
    OVERSTAY,
    PAID,
    RESTRICTION,
    UNREGISTERED,
    UPHELD,
    VOIDED,
)
from parking.errors import N_, ConflictError, Message

# A video stake that sees something in a bay that is not a vehicle (a market stall, a barrier,
# building material) sends a normal `park_start` with this custom attribute (and, ideally,
# `vehicle_type: "other"`). CDS has no field for a non-vehicle occupant; custom attributes are
# its place for implementation-specific data (string values).
OBSTRUCTION_ATTRIBUTE = ("occupant", "object")

TEAM_FOR_RULE = {OVERSTAY: "warden", UNREGISTERED: "attendant", OBSTRUCTION: "city"}
TASK_KIND_FOR_RULE = {
    OVERSTAY: "check_overstay",
    RESTRICTION: "clear_restriction",
    UNREGISTERED: "register_plate",
    OBSTRUCTION: "clear_obstruction",
}


# How a task ends, by the team that closes it. The police and city management close what is
# routed to them (the police also every escalated task) with their own outcome codes.
WARDEN_OUTCOMES = ("citation_issued", "warned", "vehicle_gone", "false_alarm")
POLICE_OUTCOMES = ("ticketed", "towed", "moved_on", "no_offence", "vehicle_gone", "false_alarm")
CITY_OUTCOMES = ("stall_removed", "goods_cleared", "site_regularised", "warned", "referred", "no_action")
OUTCOMES_BY_TEAM = {"police": POLICE_OUTCOMES, "city": CITY_OUTCOMES}
ALL_OUTCOMES = tuple(dict.fromkeys((*WARDEN_OUTCOMES, *POLICE_OUTCOMES, *CITY_OUTCOMES)))


def outcomes_for(team: str | None) -> tuple[str, ...]:
    """The outcome codes a member of `team` may close a task with (None, an administrator:
    any of them)."""
    if team is None:
        return ALL_OUTCOMES
    return OUTCOMES_BY_TEAM.get(team, WARDEN_OUTCOMES)


def overstay_limit(tariff: Tariff) -> timedelta | None:
    """How long a stay may last before it overstays: the maximum stay plus the grace.
    None when the tariff sets no maximum."""
    if tariff.max_stay_minutes is None:
        return None
    return timedelta(minutes=tariff.max_stay_minutes + tariff.grace_minutes)


def overstays(started_at: datetime, limit: timedelta, now: datetime) -> bool:
    """A stay overstays once it has lasted longer than the limit: not at the limit itself."""
    return now - started_at > limit


def unregistered(started_at: datetime, plate: str | None, after: timedelta, now: datetime) -> bool:
    """A stay is unregistered when it has had no plate for longer than `after`."""
    return plate is None and now - started_at > after


def team_for_restriction(restriction: Restriction) -> str:
    """Stopping in a clearway is a traffic offence (police); parking where it is not allowed
    at that hour is a parking offence (wardens)."""
    return "police" if restriction.activity == "no stopping" else "warden"


def restriction_started_at(tariff: Tariff, now: datetime) -> datetime | None:
    """When the restriction window in force at `now` began (UTC), or None when none is."""
    restriction = tariff.restriction_at(now)
    if restriction is None:
        return None
    local = now.astimezone(tariff.zone)
    minute = local.hour * 60 + local.minute
    start = max(a for a, b in restriction.windows if a <= minute < b)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + timedelta(minutes=start)).astimezone(now.tzinfo)


# -- citations ----------------------------------------------------------------------------

CITATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ISSUED: frozenset({PAID, APPEALED, VOIDED}),
    APPEALED: frozenset({UPHELD, VOIDED}),
    UPHELD: frozenset({PAID}),
    PAID: frozenset(),
    VOIDED: frozenset(),
}


class CitationTransitionError(ConflictError):
    code = "citation_transition"


def next_citation_status(current: str, wanted: str) -> str:
    """The new status if a citation may move from `current` to `wanted`; raises otherwise."""
    if wanted not in CITATION_TRANSITIONS.get(current, frozenset()):
        allowed = sorted(CITATION_TRANSITIONS.get(current, frozenset()))
        if allowed:
            only = Message(
                N_("a citation that is %(current)s cannot become %(wanted)s (only %(allowed)s)"),
                {"current": current, "wanted": wanted, "allowed": ", ".join(allowed)},
            )
            raise CitationTransitionError(only, ["status"])
        final = Message(
            N_("a citation that is %(current)s cannot become %(wanted)s (it is final)"),
            {"current": current, "wanted": wanted},
        )
        raise CitationTransitionError(final, ["status"])
    return wanted
