"""Who works which task: the pure team rules the handheld's take and resolve go through."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from enforcement.models import OPEN, TAKEN, Task
from enforcement.teams import (
    NotYourTaskError,
    NotYourTeamError,
    OutcomeNotForTeamError,
    check_resolver,
    check_team,
    team_of,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _task(team: str, *, escalated: bool = False, taken_by: str | None = None) -> Task:
    task = Task(team=team, status=TAKEN if taken_by else OPEN, taken_by=taken_by)
    task.escalated_at = NOW if escalated else None
    return task


def test_an_admin_belongs_to_no_team_and_works_every_task() -> None:
    assert team_of("admin") is None
    check_team("admin", _task("city"))


def test_a_warden_may_not_take_an_attendants_task() -> None:
    with pytest.raises(NotYourTeamError) as raised:
        check_team("warden", _task("attendant"))
    assert str(raised.value) == "the task is for the attendants"


def test_the_police_take_any_escalated_task_but_no_other_teams_open_one() -> None:
    check_team("police", _task("warden", escalated=True))
    with pytest.raises(NotYourTeamError):
        check_team("police", _task("warden"))


def test_a_member_closes_a_task_only_with_an_outcome_of_their_team() -> None:
    with pytest.raises(OutcomeNotForTeamError) as raised:
        check_resolver("warden", "ana", _task("warden", taken_by="ana"), "no_such_outcome")
    assert raised.value.details == ["outcome"]
    check_resolver("warden", "ana", _task("warden", taken_by="ana"), "warned")


def test_a_task_taken_by_someone_else_is_theirs_to_resolve_unless_you_are_an_admin() -> None:
    with pytest.raises(NotYourTaskError) as raised:
        check_resolver("warden", "ana", _task("warden", taken_by="bo"), "warned")
    assert str(raised.value) == "the task is taken by bo"
    check_resolver("admin", "root", _task("warden", taken_by="bo"), "warned")
