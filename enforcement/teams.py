"""Who works which task: the team of a staff role, the tasks a member may take, and the
outcomes a team may close a task with (pure rules, no database)."""

from __future__ import annotations

from enforcement.models import TAKEN, Task
from enforcement.rules import outcomes_for
from parking.errors import N_, DomainError, InvalidInputError, Message

TEAM_OF_ROLE = {"warden": "warden", "attendant": "attendant", "city": "city", "police": "police"}
TEAM_NAMES = {
    "warden": N_("the wardens"),
    "attendant": N_("the attendants"),
    "police": N_("the traffic police"),
    "city": N_("city management"),
}


class NotYourTeamError(DomainError):
    code = "not_your_team"
    status = 403


class NotYourTaskError(DomainError):
    code = "not_your_task"
    status = 403


class OutcomeNotForTeamError(InvalidInputError):
    code = "outcome_not_for_team"


def team_of(role: str) -> str | None:
    """The team a role works in; None for an admin, who works every team's tasks."""
    return TEAM_OF_ROLE.get(role)


def check_team(role: str, task: Task) -> None:
    """A member works their own team's tasks; the police also every escalated task."""
    team = team_of(role)
    if team == "police" and task.escalated_at is not None:
        return
    if team is not None and task.team != team:
        theirs = Message(TEAM_NAMES[task.team]) if task.team in TEAM_NAMES else task.team
        raise NotYourTeamError(Message(N_("the task is for %(team)s"), {"team": theirs}), ["task"])


def check_resolver(role: str, name: str, task: Task, outcome: str) -> None:
    """The outcome must be one of the member's team, and a task taken by someone else is
    theirs to resolve (an admin may resolve any)."""
    allowed = outcomes_for(team_of(role))
    if outcome not in allowed:
        only = Message(N_("close it with one of %(outcomes)s"), {"outcomes": ", ".join(allowed)})
        raise OutcomeNotForTeamError(only, ["outcome"])
    if task.status == TAKEN and task.taken_by != name and role != "admin":
        raise NotYourTaskError(
            Message(N_("the task is taken by %(name)s"), {"name": task.taken_by}), ["task"]
        )
