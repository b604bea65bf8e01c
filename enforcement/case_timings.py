"""How fast cases are worked, per team: how many were opened, escalated, taken and closed
in a window, the median and 90th-percentile minutes from opening to escalation, to being
taken and to being closed, and how they ended (outcome codes)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import ESCALATED, Task
from parking.models import District


@dataclass
class TeamTimings:
    team: str
    opened: int = 0
    escalated: int = 0
    taken: int = 0
    resolved: int = 0
    to_escalation: list[float] = field(default_factory=list)
    to_take: list[float] = field(default_factory=list)
    to_close: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, object]:
        return {
            "team": self.team,
            "opened": self.opened,
            "escalated": self.escalated,
            "taken": self.taken,
            "resolved": self.resolved,
            "minutes_to_escalation": _spread(self.to_escalation),
            "minutes_to_take": _spread(self.to_take),
            "minutes_to_close": _spread(self.to_close),
            "outcomes": dict(sorted(self.outcomes.items())),
        }


def _spread(minutes: list[float]) -> dict[str, float | None]:
    """Median and 90th percentile (nearest rank), in whole minutes; None without cases."""
    if not minutes:
        return {"median": None, "p90": None}
    ordered = sorted(minutes)
    rank = max(0, -(-9 * len(ordered) // 10) - 1)
    return {"median": round(ordered[(len(ordered) - 1) // 2]), "p90": round(ordered[rank])}


def case_timings(
    db: Session, district: District, since: datetime, until: datetime
) -> list[dict[str, object]]:
    """Timings of the tasks opened in [since, until), per team (escalated tasks count under
    the team they were opened for, and their escalation under `escalated`)."""
    teams: dict[str, TeamTimings] = defaultdict(lambda: TeamTimings(""))
    rows = db.scalars(
        select(Task).where(Task.district_id == district.id, Task.created_at >= since, Task.created_at < until)
    )
    for task in rows:
        timing = teams[task.team]
        timing.team = task.team
        timing.opened += 1
        if task.escalated_at is not None or task.status == ESCALATED:
            timing.escalated += 1
            if task.escalated_at is not None:
                timing.to_escalation.append(_minutes(task.escalated_at - task.created_at))
        if task.taken_at is not None:
            timing.taken += 1
            timing.to_take.append(_minutes(task.taken_at - task.created_at))
        if task.resolved_at is not None:
            timing.resolved += 1
            timing.to_close.append(_minutes(task.resolved_at - task.created_at))
            timing.outcomes[task.outcome or "none"] += 1
    return [teams[name].summary() for name in sorted(teams)]


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60
