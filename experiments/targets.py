"""Time to a target and performance profiles: how the benchmark compares speed.

AlgoPerf (Dahl et al., *Benchmarking Neural Network Training Algorithms*, 2023, §4) scores
a training algorithm by the time it takes to reach a validation target on each workload,
and summarises the workloads with a performance profile: for each algorithm s, the
fraction of problems p on which its time is within a factor τ of the fastest algorithm's,

  ρ_s(τ) = |{p : t_{p,s} ≤ τ · min_s' t_{p,s'}}| / |P|,

where a target never reached is an infinite time. The benchmark measures time in
optimizer steps (comparable across machines) and in seconds of training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def mean_curve(curves: Sequence[Mapping[int, float]]) -> tuple[np.ndarray, np.ndarray]:
  """``(steps, mean)`` over seeds of per-seed curves ``{step: value}``.

  A step is kept where every curve has a finite value (a seed that diverged is left out
  by the caller, as in the configurations' statistics).

  Examples:
    >>> mean_curve([{1: 3.0, 2: 1.0}, {1: 1.0, 2: 2.0, 3: 0.5}])
    (array([1, 2]), array([2. , 1.5]))
  """
  if not curves:
    return np.zeros(0, int), np.zeros(0)
  steps = sorted(set.intersection(*(set(c) for c in curves)))
  values = np.array([[c[s] for s in steps] for c in curves], float).reshape(len(curves), -1)
  keep = np.all(np.isfinite(values), axis=0)
  return np.asarray(steps, int)[keep], values.mean(axis=0)[keep]


def steps_to_target(steps: Sequence[int], values: Sequence[float], target: float) -> int | None:
  """The first step at which ``values`` (a loss) is at or below ``target``; None: never.

  Examples:
    >>> steps_to_target([100, 200, 300], [0.9, 0.5, 0.4], 0.5)
    200
    >>> steps_to_target([100, 200], [0.9, 0.6], 0.5) is None
    True
  """
  for step, value in zip(steps, values, strict=True):
    if math.isfinite(value) and value <= target:
      return int(step)
  return None


def performance_profile(
  times: Mapping[str, Mapping[str, float | None]], taus: Sequence[float]
) -> dict[str, np.ndarray]:
  """ρ_s(τ) for each solver s at each τ (see the module's docstring).

  Args:
    times: ``{solver: {problem: time}}``; a problem missing for a solver, or a time that
      is None or infinite, is a target it did not reach.
    taus: The ratios τ ≥ 1 to evaluate at.

  Returns:
    ``{solver: array of ρ_s(τ) for each τ}``. A problem that no solver solved counts
    against every solver.

  Examples:
    >>> times = {'a': {'p': 10, 'q': 40}, 'b': {'p': 20, 'q': 20}}
    >>> {s: r.tolist() for s, r in performance_profile(times, [1, 2, 3]).items()}
    {'a': [0.5, 1.0, 1.0], 'b': [0.5, 1.0, 1.0]}
  """
  problems = sorted({p for by_problem in times.values() for p in by_problem})
  t = {
    s: np.array([_time(by_problem.get(p)) for p in problems], float)
    for s, by_problem in times.items()
  }
  best = np.min(np.stack(list(t.values())), axis=0) if t else np.zeros(0)
  taus = np.asarray(taus, float)
  out = {}
  for solver, mine in t.items():
    with np.errstate(invalid='ignore', divide='ignore'):
      ratio = np.where(np.isfinite(mine), mine / best, np.inf)
    out[solver] = (ratio[None, :] <= taus[:, None]).sum(axis=1) / max(len(problems), 1)
  return out


def profile_score(profile: Sequence[float], taus: Sequence[float]) -> float:
  """The area under a profile over [τ_0, τ_max], over its width: 1 = fastest everywhere.

  AlgoPerf's benchmark score (its τ_max is 4). Trapezoids over the given ``taus``.

  Examples:
    >>> profile_score([0.5, 1.0, 1.0], [1, 2, 3])
    0.875
  """
  taus = np.asarray(taus, float)
  rho = np.asarray(profile, float)
  return float(np.sum((rho[1:] + rho[:-1]) / 2 * np.diff(taus)) / (taus[-1] - taus[0]))


def _time(value: float | None) -> float:
  return math.inf if value is None or not math.isfinite(value) else float(value)
