"""How the report states a comparison: the verdict of a test, and speed as epochs to a target.

Every test of the report enters its family (:meth:`Report.test`) and is printed through
:func:`verdict` (:mod:`experiments.significance` does the statistics), so each says
"holds", "does not hold" or "not resolved at n seeds" with the test, its raw p and its
Holm-adjusted p.
"""

from __future__ import annotations

import math

from experiments.report.common import Choice, Report, configuration, spread
from experiments.results import Run
from experiments.significance import Comparison


def interval_text(low: float, high: float, signed: bool = True) -> str:
  """'[+0.949, +2.490]' (a difference; unsigned for values): to the half-width's 3rd digit."""
  half = (high - low) / 2
  places = max(0, 2 - math.floor(math.log10(half))) if half > 0 and math.isfinite(half) else 3
  sign = '+' if signed else ''
  return f'[{low:{sign}.{places}f}, {high:{sign}.{places}f}]'


def p_text(comparison: Comparison) -> str:
  """'p = 0.0031, Holm p = 0.041': the raw p and, in the family, the adjusted one."""
  text = f'p = {comparison.p_value:.2g}'
  if comparison.p_adjusted is not None:
    text += f', Holm p = {comparison.p_adjusted:.2g}'
  return text


def verdict(comparison: Comparison, unit: str = 'seed', words: dict[str, str] | None = None) -> str:
  """'**holds** (test 3: Welch's t test, two-sided: p = 0.003, Holm p = 0.04; 5 seeds each)'.

  ``unit`` names what was counted ('seed'; 'grid point' for a test of counts); ``words``
  renames the verdicts (a goal is 'met' or 'missed').
  """
  n = comparison.n
  word = (words or {}).get(comparison.verdict, comparison.verdict)

  def count(k: int) -> str:
    return f'{k} {unit}{"s" * (k != 1)}'

  if n[1] == 1:  # against a target, or a single value
    seeds, fewest = count(n[0]), n[0]
  else:
    seeds, fewest = f'{count(n[0])} each' if n[0] == n[1] else f'{n[0]} and {count(n[1])}', min(n)
  if not comparison.tested:
    if fewest < 2:
      return f'**{word} at {count(fewest)}** (a test needs two or more)'
    return f'**{word}** ({comparison.test}: no spread, the seeds changed nothing)'
  evidence = comparison.test
  if comparison.interval is not None:
    evidence += ': ' + interval_text(*comparison.interval, signed=n[1] != 1)
  evidence += f', {p_text(comparison)}'
  if comparison.number is not None:
    evidence = f'test {comparison.number}, {evidence}'
  if comparison.verdict == 'not resolved':
    return f'**{word} at {seeds}** ({evidence})'
  return f'**{word}** ({evidence}; {seeds})'


def all_of(*comparisons: Comparison) -> str:
  """A claim made of several tests: 'holds' when every part holds.

  'does not hold' when one part does not, else 'not resolved' (each part is in the family
  on its own).
  """
  outcomes = {c.verdict for c in comparisons}
  if 'does not hold' in outcomes:
    return 'does not hold'
  return 'holds' if outcomes == {'holds'} else 'not resolved'


def parts(comparisons: list[Comparison], words: dict[str, str] | None = None) -> str:
  """'test 3 holds (p = 0.001, Holm p = 0.01); test 4 …': the parts of a combined claim."""
  numbered = [c for c in comparisons if c.number is not None]
  if not numbered:
    return 'no part could be tested'
  items = [
    f'test {c.number} {(words or {}).get(c.verdict, c.verdict)} ({p_text(c)})' for c in numbered
  ]
  return '; '.join(items)


def tested_finding(
  r: Report, experiment: str, claim: str, comparison: Comparison, unit: str = 'seed'
) -> Comparison:
  """Enters one test into the family and lists it as a finding; returns its family verdict."""
  comparison = r.test(experiment, claim, comparison)
  r.finding(experiment, claim, comparison.verdict, verdict(comparison, unit), [comparison])
  return comparison


# A published value tested as a new draw of ours (:func:`experiments.significance.new_draw`)
# can only be shown to lie elsewhere: the words for its two verdicts.
PUBLISHED = {'does not hold': 'lies elsewhere', 'not resolved': 'not shown to lie elsewhere'}


def published_finding(r: Report, experiment: str, claim: str, tests: list[Comparison]) -> bool:
  """Lists whether published values lie where our single runs do; returns whether all do.

  A test of agreement: it can show a value lies elsewhere, never prove that it does not.
  'consistent' when no value is shown to lie elsewhere after the Holm correction.
  """
  outside = [t for t in tests if t.verdict == 'does not hold']
  outcome = 'inconsistent' if outside else 'consistent'
  r.finding(
    experiment,
    claim,
    outcome,
    f'**{outcome}** ({len(outside)} of {len(tests)} values shown to lie elsewhere after the '
    'Holm correction; ' + parts(tests, PUBLISHED) + ')',
    tests,
  )
  return not outside


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
