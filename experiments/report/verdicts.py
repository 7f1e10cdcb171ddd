"""How the report states a comparison: the verdict of a test, and speed as epochs to a target.

Every finding of the report goes through :func:`verdict` (``experiments.stats`` does the
statistics), so each says "holds", "does not hold" or "not resolved at n seeds" with the
test named.
"""

from __future__ import annotations

import math

from experiments import stats
from experiments.report.common import Choice, configuration, spread
from experiments.results import Run


def verdict(comparison: stats.Comparison, unit: str = 'seed') -> str:
  """'**holds** (Welch's t test, two-sided, 5%: p = 0.003, 5 seeds each)', or not resolved.

  ``unit`` names what was counted ('seed'; 'grid point' for a test of counts).
  """
  n = comparison.n

  def count(k: int) -> str:
    return f'{k} {unit}{"s" * (k != 1)}'

  seeds = f'{n[0]} and {count(n[1])}' if n[0] != n[1] else f'{count(n[0])} each'
  if comparison.verdict == 'not resolved' and min(n) < 2:
    return f'**not resolved at {count(min(n))}** (a test needs two or more)'
  if comparison.interval is not None:
    low, high = comparison.interval
    evidence = f'{comparison.test}: [{low:+.3g}, {high:+.3g}]'
  else:
    evidence = f'{comparison.test}: p = {comparison.p_value:.2g}'
  if comparison.verdict == 'not resolved':
    return f'**not resolved at {seeds}** ({evidence})'
  return f'**{comparison.verdict}** ({evidence}, {seeds})'


def is_(outcome: str) -> str:
  """'**holds**', '**does not hold**', 'is **not resolved**': a verdict as a predicate."""
  return f'is **{outcome}**' if outcome == 'not resolved' else f'**{outcome}**'


def epochs_to_reach(run: Run, choice: Choice, target: float) -> list[float]:
  """Per seed, the first epoch whose mean training cost is at most ``target`` (inf: never)."""
  x, values = run.seed_curves(configuration(run, choice), 'train', 'loss')
  out = []
  for row in values:
    reached = [int(e) for e, v in zip(x, row, strict=True) if v <= target]
    out.append(float(reached[0]) if reached else math.inf)
  return out


def speed_sentence(run: Run, chosen: dict[str, Choice], target: float, what: str) -> str:
  """'Converges faster' as numbers: epochs each choice needs to reach ``target``, per seed."""
  parts = []
  for name, c in chosen.items():
    epochs = epochs_to_reach(run, c, target)
    reached = [e for e in epochs if math.isfinite(e)]
    text = spread(reached) if reached else 'never'
    if 0 < len(reached) < len(epochs):
      text += f' ({len(reached)} of {len(epochs)} seeds reach it)'
    parts.append(f'{name} {text}')
  per_epoch = run.train_wall_time_s / (run.num_epochs * len(run.points))
  return (
    f'Epochs to reach a training cost of {target:.4g} ({what}), mean ± std over seeds: '
    f'{"; ".join(parts)} (an epoch of one grid point took {per_epoch:.2f} s of wall time here).'
  )
