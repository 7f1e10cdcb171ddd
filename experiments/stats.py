"""Seeds as replicates: configurations, their mean ± spread, and comparisons between them.

A *configuration* is a grid point's choices without its seed; the points that differ only
in ``seed`` are its replicates. It is compared and chosen by the mean over its seeds of
the selection metric (:mod:`experiments.select` takes a :class:`Configuration` as it
takes a point), never by its luckiest seed. A seed whose training loss or final
evaluation loss became non-finite is counted in ``diverged`` and left out of the statistics; a
configuration with a diverged seed is never chosen in tuning (averaging the survivors
would favour unstable settings).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from experiments.point import METRICS, SPLITS, Choices, Point


def _scipy_stats():  # imported when first needed: it is a large share of a run's start-up
  from scipy import stats  # noqa: PLC0415

  return stats


CONFIDENCE = 0.95
CLAIMS = ('less', 'greater')


def _finite(values: Sequence[float | None]) -> np.ndarray:
  """The finite values, as a float array (None and NaN dropped)."""
  return np.asarray([v for v in values if v is not None and math.isfinite(v)], float)


def _t(dof: float) -> float:
  """The two-sided :data:`CONFIDENCE` quantile of Student's t with ``dof`` degrees of freedom."""
  return float(_scipy_stats().t.ppf(0.5 + CONFIDENCE / 2, dof))


def _check_claim(claim: str) -> None:
  if claim not in CLAIMS:
    raise ValueError(f"claim must be 'less' or 'greater', got {claim!r}")


def _signed(p: float, difference: float, claim: str, alpha: float) -> str:
  """'holds' (p < alpha in the claimed direction), 'does not hold' (against), or 'not resolved'."""
  if p >= alpha:
    return 'not resolved'
  sign = -1 if claim == 'less' else 1
  return 'holds' if difference * sign > 0 else 'does not hold'


def describe(values: Sequence[float]) -> dict[str, Any]:
  """``{mean, std, ci95}`` of replicate values (NaNs dropped).

  ``std`` uses ddof=1; ``ci95`` is ``[low, high]``, the Student t interval of the mean,
  mean ± t(0.975, n−1)·std/√n. With one value, ``std`` and ``ci95`` are None; with none,
  everything is None.
  """
  x = _finite(values)
  if len(x) < 2:
    return {'mean': float(x[0]) if len(x) else None, 'std': None, 'ci95': None}
  mean, std = float(np.mean(x)), float(np.std(x, ddof=1))
  half = _t(len(x) - 1) * std / math.sqrt(len(x))
  return {'mean': mean, 'std': std, 'ci95': [mean - half, mean + half]}


@dataclasses.dataclass
class Configuration(Choices):
  """One configuration of a grid and the statistics of its seeds.

  Attributes:
    index: Its position in ``summary.json``'s ``configurations``.
    program: Index of its program.
    structural: The program's choices by dotted path.
    hparams: Its vmapped choices by dotted path, without ``seed``.
    seeds: The seeds it was trained with.
    grid_indices: The grid index of each seed's point, in the order of ``seeds``.
    n: Seeds that did not diverge (those the statistics are over).
    diverged: Seeds whose training loss or final evaluation loss became non-finite.
    diverged_step: The earliest step at which one of its seeds diverged, or None.
    final: ``{split: {metric: {mean, std, ci95}}}`` over the ``n`` seeds.
  """

  index: int
  program: int
  structural: dict[str, Any]
  hparams: dict[str, Any]
  seeds: list[int]
  grid_indices: list[int]
  n: int
  diverged: int
  diverged_step: int | None
  final: dict[str, dict[str, dict[str, Any]]]

  def metric(self, split: str, metric: str) -> float:
    """The mean over seeds of the final ``metric`` on ``split`` (NaN when not measured).

    What :mod:`experiments.select` compares, so that configurations are chosen by it.
    """
    mean = self.final.get(split, {}).get(metric, {}).get('mean')
    return math.nan if mean is None else mean

  @property
  def failed(self) -> bool:
    """Whether one of its seeds diverged."""
    return self.diverged > 0

  def spread(self, split: str, metric: str) -> dict[str, Any]:
    """``{mean, std, ci95}`` of the final ``metric`` on ``split``."""
    return self.final.get(split, {}).get(metric, describe([]))

  @property
  def first_grid_index(self) -> int:
    """The grid index of its first seed's point (the one that stands for it in old fields)."""
    return self.grid_indices[0]

  def to_json(self) -> dict[str, Any]:
    """The configuration as ``summary.json`` holds it."""
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, obj: dict[str, Any]) -> Configuration:
    """The inverse of :meth:`to_json`."""
    return cls(**{f.name: obj[f.name] for f in dataclasses.fields(cls)})


def configuration_key(point: Point) -> tuple:
  """What identifies a point's configuration: its program and choices other than the seed."""
  choices = {k: v for k, v in point.hparams.items() if k != 'seed'}
  return point.program, tuple(sorted((k, repr(v)) for k, v in choices.items()))


def configurations(points: Sequence[Point], default_seed: int = 0) -> list[Configuration]:
  """Groups ``points`` into configurations (in order of first appearance) with statistics.

  Args:
    points: Every point of a run (each seed of a configuration is one point).
    default_seed: The seed of points whose ``hparams`` have none (the config's ``seed``).
  """
  groups: dict[tuple, list[Point]] = {}
  for p in points:
    groups.setdefault(configuration_key(p), []).append(p)
  out = []
  for index, members in enumerate(groups.values()):
    alive = [p for p in members if not p.failed]
    steps = [p.diverged_step for p in members if p.diverged_step is not None]
    final = {}
    for split in SPLITS:
      metrics = {
        m: describe([p.metric(split, m) for p in alive])
        for m in METRICS
        if any(m in p.final.get(split, {}) for p in members)
      }
      if metrics:
        final[split] = metrics
    first = members[0]
    out.append(
      Configuration(
        index=index,
        program=first.program,
        structural=dict(first.structural),
        hparams={k: v for k, v in first.hparams.items() if k != 'seed'},
        seeds=[int(p.hparams.get('seed', default_seed)) for p in members],
        grid_indices=[p.grid_index for p in members],
        n=len(alive),
        diverged=len(members) - len(alive),
        diverged_step=min(steps) if steps else None,
        final=final,
      )
    )
  return out


@dataclasses.dataclass(frozen=True)
class Comparison:
  """The outcome of comparing two sets of replicates (:func:`compare`).

  Attributes:
    verdict: 'holds' (the claim is supported at the 5% level), 'does not hold' (the
      opposite difference is significant), or 'not resolved' (neither is, at n seeds).
    difference: mean(a) − mean(b).
    p_value: Two-sided p value of Welch's t test (NaN when it cannot be computed).
    test: The test used, for the report.
    n: (replicates of a, replicates of b).
    interval: The 95% interval of the difference, where the test gives one.
  """

  verdict: str
  difference: float
  p_value: float
  test: str
  n: tuple[int, int]
  interval: tuple[float, float] | None = None


def compare(
  a: Sequence[float], b: Sequence[float], claim: str = 'less', alpha: float = 0.05
) -> Comparison:
  """Tests the claim "a < b" (``claim='less'``) or "a > b" (``'greater'``) over replicates.

  Welch's two-sample t test (unequal variances), two-sided at level ``alpha``: the claim
  holds when the difference has the claimed sign and is significant, does not hold when
  the opposite difference is significant, and is not resolved otherwise (including when
  either side has fewer than two replicates, or neither has any spread: then the seeds
  changed nothing and there are no replicates to test).
  """
  _check_claim(claim)
  x, y = _finite(a), _finite(b)
  test = "Welch's t test, two-sided, 5%"
  n = (len(x), len(y))
  diff = float(np.mean(x) - np.mean(y)) if min(n) else math.nan
  if min(n) < 2:
    return Comparison('not resolved', diff, math.nan, test, n)
  if np.std(x) == 0 and np.std(y) == 0:  # the seeds changed nothing: no replicates
    return Comparison('not resolved', diff, math.nan, test + ' (no spread)', n)
  p = float(_scipy_stats().ttest_ind(x, y, equal_var=False).pvalue)
  return Comparison(_signed(p, diff, claim, alpha), diff, p, test, n)


def compare_counts(
  k_a: int, n_a: int, k_b: int, n_b: int, claim: str = 'greater', alpha: float = 0.05
) -> Comparison:
  """Tests "a happens more often than b" (``'greater'``) or less (``'less'``) from counts.

  ``k_a`` of ``n_a`` trials against ``k_b`` of ``n_b`` (e.g. diverged runs of a grid):
  Fisher's exact test, two-sided at ``alpha``; verdicts as :func:`compare`, on the rates.
  """
  _check_claim(claim)
  test = "Fisher's exact test, two-sided, 5%"
  if not n_a or not n_b:
    return Comparison('not resolved', math.nan, math.nan, test, (n_a, n_b))
  diff = k_a / n_a - k_b / n_b
  p = float(_scipy_stats().fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)
  return Comparison(_signed(p, diff, claim, alpha), diff, p, test, (n_a, n_b))


def prediction_interval(values: Sequence[float]) -> tuple[float, float] | None:
  """Where 95% of single new runs fall: mean ± t(0.975, n−1)·std·√(1 + 1/n) (n ≥ 2)."""
  if len(x := _finite(values)) < 2:
    return None
  half = _t(len(x) - 1) * np.std(x, ddof=1) * math.sqrt(1 + 1 / len(x))
  return float(np.mean(x) - half), float(np.mean(x) + half)


def _interval_test(a, b, test: str, decide) -> Comparison:
  """A verdict ``decide(low, high)`` from the 95% Welch interval of mean(a) − mean(b)."""
  x, y = _finite(a), _finite(b)
  n = (len(x), len(y))
  diff = float(np.mean(x) - np.mean(y)) if min(n) else math.nan
  if min(n) < 2:
    return Comparison('not resolved', diff, math.nan, test, n)
  if np.var(x) == 0 and np.var(y) == 0:  # no spread: the difference is exact
    low = high = diff
  else:  # scipy's Welch interval (Welch–Satterthwaite degrees of freedom)
    ci = _scipy_stats().ttest_ind(x, y, equal_var=False).confidence_interval(CONFIDENCE)
    low, high = float(ci.low), float(ci.high)
  return Comparison(decide(low, high), diff, math.nan, test, n, (low, high))


def within(a: Sequence[float], b: Sequence[float], margin: float) -> Comparison:
  """Tests "|mean(a) − mean(b)| ≤ margin" by the 95% Welch interval of the difference.

  'holds' when the whole interval lies inside ±margin, 'does not hold' when it lies wholly
  outside, 'not resolved' otherwise (or with fewer than two replicates on a side).
  """

  def decide(low, high):
    if -margin <= low and high <= margin:
      return 'holds'
    return 'does not hold' if low > margin or high < -margin else 'not resolved'

  return _interval_test(a, b, f'95% Welch interval of the difference against ±{margin:.3g}', decide)


def non_inferior(a: Sequence[float], b: Sequence[float], margin: float) -> Comparison:
  """Tests "mean(a) ≥ mean(b) − margin" (a non-inferiority margin) by the 95% Welch interval.

  'holds' when the interval of mean(a) − mean(b) lies above −margin, 'does not hold' when
  it lies wholly below, 'not resolved' otherwise (or with fewer than two replicates).
  """

  def decide(low, high):
    return 'holds' if low >= -margin else 'does not hold' if high < -margin else 'not resolved'

  return _interval_test(a, b, f'95% Welch interval of the difference against −{margin:.3g}', decide)


def format_spread(stats: dict[str, Any], scale: float = 1.0, digits: int = 4) -> str:
  """'0.2712 ± 0.0031' (mean ± std), '0.2712' for one seed, '-' for none."""
  mean, std = stats.get('mean'), stats.get('std')
  if mean is None:
    return '-'
  if std is None:
    return f'{scale * mean:.{digits}g}'
  return f'{scale * mean:.{digits}g} ± {scale * std:.2g}'
