"""The short-horizon forecast: the road's state now, carried forward to the arrival time.

Who occupies the road at the arrival `t + h` is (a) the cars there now that are still there
then, and (b) the cars that arrive in between and are still there then. The road is full if
they are `bays` or more. With arrivals steady over the horizon (an M/G/infinity queue, the
textbook model of curb parking):
- an occupied bay whose stay is `a` old is still taken with probability S(a + h) / S(a), S
  the road's dwell survival curve (`parking.dwell`): a car that has just parked tends to
  stay, a long stay on a road of short ones is about to end;
- a bay whose state is unknown is taken now with the road's mean occupied share at that
  load, `E[min(Poisson(load), bays)] / bays`, and, if it is, still taken with the
  probability of a stay of unknown age, `1 - E(h)`;
- the cars that arrive and are still there are Poisson with mean `load x E(h)`, `E(h)` the
  share of a mean stay that fits in h (`parking.dwell.equilibrium_share`);
- `load` (the mean number of cars that would be there with unlimited bays) is chosen so that
  the same model with no knowledge of now, `P(Poisson(load) < bays)`, equals the historical
  probability of the arrival slot. So as h grows the survivors die out, E(h) tends to 1 and
  the answer tends to the history; the weight of the current state decays by itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from parking.dwell import Curve, equilibrium_share, stays_on

# Past this horizon the answer is the history's alone (and `at=` answers always are).
CURRENT_HORIZON = timedelta(hours=2)
_TAIL = 1e-12


@dataclass(frozen=True)
class RoadNow:
    """A road as it is seen now: its bays, the age of the stay in each occupied bay (None
    when the stay is not known) and how many bays are of unknown state; the rest are free."""

    bays: int
    occupied_ages: Sequence[timedelta | None]
    unknown: int

    @property
    def free(self) -> int:
        return self.bays - len(self.occupied_ages) - self.unknown

    @property
    def known(self) -> bool:
        return self.unknown < self.bays


def poisson_cdf(mean: float, k: int) -> float:
    """P(N <= k) for N Poisson with `mean` (in logs: means of thousands do not underflow)."""
    if k < 0:
        return 0.0
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    return min(1.0, sum(math.exp(j * log_mean - mean - math.lgamma(j + 1)) for j in range(k + 1)))


def poisson_pmf(mean: float, k: int) -> float:
    if mean <= 0:
        return 1.0 if k == 0 else 0.0
    return math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))


@lru_cache(maxsize=4096)
def offered_load(p_free: float, bays: int) -> float:
    """The Poisson mean `load` with P(Poisson(load) <= bays - 1) = p_free (bisection in logs)."""
    p = min(max(p_free, 1e-9), 1 - 1e-9)
    low, high = math.log(1e-9), math.log(max(4.0 * bays, 10.0))
    while poisson_cdf(math.exp(high), bays - 1) > p:
        high += math.log(2)
    for _ in range(40):
        middle = (low + high) / 2
        if poisson_cdf(math.exp(middle), bays - 1) > p:
            low = middle
        else:
            high = middle
    return math.exp((low + high) / 2)


def probability_free(now: RoadNow, p_history: float, curve: Curve, horizon: timedelta) -> float:
    """P(at least one bay free at now + horizon | the road now), see the module docstring."""
    if now.bays <= 0:
        return p_history
    load = offered_load(p_history, now.bays)
    share = equilibrium_share(curve, horizon)
    unknown_age = 1 - share
    stay = [unknown_age if age is None else stays_on(curve, age, horizon) for age in now.occupied_ages]
    stay += [occupied_share(load, now.bays) * unknown_age] * now.unknown
    return 1 - probability_full(now.free, stay, load * share)


def occupied_share(load: float, bays: int) -> float:
    """E[min(Poisson(load), bays)] / bays: how full the road is on average at this load."""
    below, total = 0.0, 0.0
    for k in range(bays):
        below += poisson_pmf(load, k)
        total += max(0.0, 1 - below)  # P(demand > k)
    return total / bays


def probability_full(free: int, stay: Sequence[float], newcomers: float) -> float:
    """P(newcomers >= free + departures): the taken bays each still taken with its own
    probability, the newcomers Poisson. The departures' distribution is kept only as far as
    the newcomers could outnumber them (their tail beyond is below 1e-12)."""
    reach = newcomers + 12 * math.sqrt(newcomers) + 12
    cap = min(len(stay), max(0, math.ceil(reach) - free))
    if free > reach:
        return 0.0
    departures = [1.0] + [0.0] * cap  # departures[cap] holds "cap or more"
    for p in stay:
        leave = 1 - p
        for d in range(cap, 0, -1):
            if d == cap:
                departures[d] += departures[d - 1] * leave
            else:
                departures[d] = departures[d] * p + departures[d - 1] * leave
        departures[0] *= p
    below = poisson_cdf(newcomers, free - 1)  # P(newcomers < free + d), d = 0, 1, ...
    full = 0.0
    for d, mass in enumerate(departures):
        full += mass * max(0.0, 1 - below)
        below += poisson_pmf(newcomers, free + d)
    return min(1.0, max(0.0, full))
