"""How long a stay lasts on a road: its survival curve, learned from the road's own stays.

`S(t)` is the probability that a stay lasts longer than `t`, on a grid of `DWELL_STEP` up to
`DWELL_SPAN`. It is an actuarial (life-table) estimate: a stay still open at the end of the
window, or cut by it, is censored, not ended. A road's curve is a mixture of its own curve and
the district's, the district's worth `DWELL_PRIOR_STAYS` stays, so a road with few stays
borrows the district's shape; the district's leans the same way on an exponential of mean
`DWELL_PRIOR_MEAN`, so no curve is ever zero on the grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import timedelta

DWELL_STEP = timedelta(minutes=5)
DWELL_SPAN = timedelta(hours=24)
DWELL_STEPS = int(DWELL_SPAN / DWELL_STEP)
DWELL_PRIOR_STAYS = 20.0
DWELL_PRIOR_MEAN = timedelta(hours=2)

Curve = Sequence[float]  # S at 0, 1, ... DWELL_STEPS steps; S[0] == 1


def life_table(durations: Iterable[tuple[timedelta, bool]]) -> tuple[list[float], int]:
    """The survival curve of (duration, ended) stays, and how many stays it saw. A stay that
    did not end (`ended` False) counts as at risk up to its duration, then half a step."""
    ended = [0] * (DWELL_STEPS + 1)
    censored = [0] * (DWELL_STEPS + 1)
    step = DWELL_STEP.total_seconds()
    n = 0
    for duration, did_end in durations:
        n += 1
        i = min(int(max(duration.total_seconds(), 0.0) // step), DWELL_STEPS)
        (ended if did_end else censored)[i] += 1
    curve = [1.0]
    at_risk = float(n)
    for i in range(DWELL_STEPS):
        exposed = at_risk - censored[i] / 2
        curve.append(curve[-1] * (1 - ended[i] / exposed) if exposed > 0 else curve[-1])
        at_risk -= ended[i] + censored[i]
    return curve, n


def exponential_curve(mean: timedelta) -> list[float]:
    rate = DWELL_STEP / mean
    return [math.exp(-rate * i) for i in range(DWELL_STEPS + 1)]


def blend(own: Curve, seen: int, prior: Curve, prior_stays: float = DWELL_PRIOR_STAYS) -> list[float]:
    """The mixture of a curve learned from `seen` stays with a prior worth `prior_stays`."""
    w = seen / (seen + prior_stays)
    return [w * a + (1 - w) * b for a, b in zip(own, prior, strict=True)]


def survival(curve: Curve, t: timedelta) -> float:
    """S(t), linear between grid points; past the grid, the last step's hazard goes on."""
    x = max(t / DWELL_STEP, 0.0)
    if x >= DWELL_STEPS:
        last, before = curve[DWELL_STEPS], curve[DWELL_STEPS - 1]
        return last * (last / before) ** (x - DWELL_STEPS) if before > 0 else 0.0
    i = int(x)
    return curve[i] + (curve[i + 1] - curve[i]) * (x - i)


def stays_on(curve: Curve, age: timedelta, horizon: timedelta) -> float:
    """P(a stay already `age` old is still there `horizon` later) = S(age + h) / S(age)."""
    now = survival(curve, age)
    return survival(curve, age + horizon) / now if now > 0 else 1.0


def equilibrium_share(curve: Curve, horizon: timedelta) -> float:
    """The integral of S over [0, h] as a share of the mean stay: the share of the stays
    present at a random moment that arrived within the last `h` (or, the same, that leave
    within the next `h`) when arrivals are steady."""
    step = DWELL_STEP.total_seconds()
    areas = [(a + b) / 2 * step for a, b in zip(curve, curve[1:], strict=False)]
    last, before = curve[DWELL_STEPS], curve[DWELL_STEPS - 1]
    tail_rate = -math.log(last / before) / step if 0 < last < before else 0.0
    tail = last / tail_rate if tail_rate > 0 else 0.0
    mean = sum(areas) + tail
    if mean <= 0:
        return 1.0
    x = max(horizon / DWELL_STEP, 0.0)
    if x >= DWELL_STEPS:
        return min(1.0, (mean - survival(curve, horizon) / tail_rate) / mean) if tail_rate > 0 else 1.0
    i = int(x)
    partial = (curve[i] + survival(curve, horizon)) / 2 * (x - i) * step
    return (sum(areas[:i]) + partial) / mean
