"""The tests behind the report's verdicts, and Holm's correction across all of them.

Every test returns a :class:`Comparison`: the raw two-sided p value of the test, the
verdict that p supports at :data:`LEVEL`, and the verdict a significant result would give
(``if_significant``: the sign of the effect decides it). The report gathers every
comparison that is a test into one family and replaces each p by its Holm-adjusted p
(:func:`holm`, :meth:`Comparison.adjusted`): the verdicts it prints are the adjusted ones.

A test that cannot be made (a side with fewer than two replicates, or no spread at all:
the seeds changed nothing) has ``p_value`` NaN, says 'not resolved', and is no member of
the family. Interval tests (:func:`within`, :func:`non_inferior`) are decided by the 95%
Welch interval of the difference; their p is the one whose ``p < 0.05`` is exactly that
interval's decision, so that they join the same family.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from experiments.stats import CONFIDENCE, finite, scipy_stats

LEVEL = 1 - CONFIDENCE  # 5%: the family-wise error rate the report keeps
CLAIMS = ('less', 'greater')


@dataclasses.dataclass(frozen=True)
class Comparison:
  """The outcome of one test.

  Attributes:
    verdict: 'holds' (the claim is supported), 'does not hold' (its opposite is), or 'not
      resolved' (neither, at these replicates), at :data:`LEVEL`: on the raw p, or on the
      Holm-adjusted one after :meth:`adjusted`.
    difference: The effect the test is about: mean(a) − mean(b) (a rate difference for
      counts, mean − target for a goal, value − mean for a new draw).
    p_value: The raw two-sided p value of the test (NaN: no test could be made).
    test: The test, for the report.
    n: Replicates of the two sides (the second is 1 for a target or a single value).
    interval: The 95% interval the test is decided by, where it has one.
    if_significant: The verdict a significant p gives ('holds' or 'does not hold').
    p_adjusted: Holm's adjusted p within the report's family (None until adjusted).
    number: The test's number in the report's list of tests (None until adjusted).
  """

  verdict: str
  difference: float
  p_value: float
  test: str
  n: tuple[int, int]
  interval: tuple[float, float] | None = None
  if_significant: str = 'not resolved'
  p_adjusted: float | None = None
  number: int | None = None

  @property
  def tested(self) -> bool:
    """Whether a test was made (a p value exists): only then is it in the family."""
    return math.isfinite(self.p_value)

  def adjusted(self, p_adjusted: float, number: int | None = None) -> Comparison:
    """The comparison with its verdict read from ``p_adjusted`` (Holm's, for the family)."""
    verdict = self.if_significant if p_adjusted < LEVEL else 'not resolved'
    return dataclasses.replace(self, verdict=verdict, p_adjusted=p_adjusted, number=number)


def holm(p_values: Sequence[float]) -> list[float]:
  """Holm's step-down adjusted p values (Holm 1979), in the order given.

  With the m p values sorted, p_(1) ≤ … ≤ p_(m), the adjusted p_(i) is
  max over j ≤ i of min(1, (m − j + 1)·p_(j)); rejecting where it is below 5% keeps the
  chance of any false rejection in the family at 5%, whatever their dependence. Written
  out here because scipy.stats has no Holm (only Benjamini–Hochberg's false discovery
  rate) and statsmodels, which has it, is not a dependency for eight lines.
  """
  m = len(p_values)
  out = [math.nan] * m
  running = 0.0
  for rank, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
    running = max(running, min(1.0, (m - rank) * p_values[i]))
    out[i] = running
  return out


def _decided(p: float, effect: float) -> tuple[str, str]:
  """(verdict at :data:`LEVEL`, verdict if significant) of a two-sided p and the effect's sign."""
  if_significant = 'holds' if effect > 0 else 'does not hold'
  return (if_significant if p < LEVEL else 'not resolved'), if_significant


def _untested(test: str, n: tuple[int, int], difference: float, interval=None) -> Comparison:
  return Comparison('not resolved', difference, math.nan, test, n, interval)


def _sign(claim: str) -> int:
  if claim not in CLAIMS:
    raise ValueError(f"claim must be 'less' or 'greater', got {claim!r}")
  return -1 if claim == 'less' else 1


def _welch(x: np.ndarray, y: np.ndarray, shift: float = 0.0, alternative: str = 'two-sided'):
  """Welch's test (scipy's) of mean(x) − mean(y) against −``shift`` (x moved by ``shift``)."""
  return scipy_stats().ttest_ind(x + shift, y, equal_var=False, alternative=alternative)


def _replicates(a, b) -> tuple[np.ndarray, np.ndarray, tuple[int, int], float, bool]:
  """(x, y, n, mean(x) − mean(y), whether a Welch test can be made)."""
  x, y = finite(a), finite(b)
  n = (len(x), len(y))
  diff = float(np.mean(x) - np.mean(y)) if min(n) else math.nan
  testable = min(n) >= 2 and not (np.std(x) == 0 and np.std(y) == 0)
  return x, y, n, diff, testable


def compare(a: Sequence[float], b: Sequence[float], claim: str = 'less') -> Comparison:
  """Tests the claim "a < b" (``claim='less'``) or "a > b" (``'greater'``) over replicates.

  Welch's two-sample t test (unequal variances), two-sided: the claim holds when the
  difference has the claimed sign and is significant, does not hold when the opposite
  difference is significant, and is not resolved otherwise.
  """
  sign = _sign(claim)
  x, y, n, diff, testable = _replicates(a, b)
  test = "Welch's t test, two-sided"
  if not testable:
    return _untested(test + (' (no spread)' if min(n) >= 2 else ''), n, diff)
  p = float(_welch(x, y).pvalue)
  verdict, if_significant = _decided(p, sign * diff)
  return Comparison(verdict, diff, p, test, n, None, if_significant)


def compare_counts(k_a: int, n_a: int, k_b: int, n_b: int, claim: str = 'greater') -> Comparison:
  """Tests "a happens more often than b" (``'greater'``) or less (``'less'``) from counts.

  ``k_a`` of ``n_a`` trials against ``k_b`` of ``n_b`` (e.g. diverged runs of a grid):
  Fisher's exact test, two-sided; verdicts as :func:`compare`, on the rates.
  """
  sign = _sign(claim)
  test = "Fisher's exact test, two-sided"
  if not n_a or not n_b:
    return _untested(test, (n_a, n_b), math.nan)
  diff = k_a / n_a - k_b / n_b
  p = float(scipy_stats().fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)
  verdict, if_significant = _decided(p, sign * diff)
  return Comparison(verdict, diff, p, test, (n_a, n_b), None, if_significant)


def _interval(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
  ci = _welch(x, y).confidence_interval(CONFIDENCE)
  return float(ci.low), float(ci.high)


def within(a: Sequence[float], b: Sequence[float], margin: float) -> Comparison:
  """Tests "|mean(a) − mean(b)| ≤ margin" (equivalence) by the 95% Welch interval.

  'holds' when the whole interval lies inside ±margin, 'does not hold' when it lies
  wholly outside, 'not resolved' otherwise. The p is twice the larger of the two one-sided
  p values that put the difference above −margin and below +margin (two one-sided tests,
  each at 2.5%: below 5% exactly when the interval is inside), or, where the difference
  points outside, twice the smaller of the opposite two (below 5% exactly when the
  interval is wholly outside).
  """
  x, y, n, diff, testable = _replicates(a, b)
  test = f'Welch 95% interval of the difference inside ±{margin:.3g}'
  if not testable:
    return _untested(test, n, diff)
  above = float(_welch(x, y, margin, 'greater').pvalue)  # difference > −margin
  below = float(_welch(x, y, -margin, 'less').pvalue)  # difference < +margin
  inside, outside = min(1.0, 2 * max(above, below)), min(1.0, 2 * min(1 - above, 1 - below))
  p, if_significant = (inside, 'holds') if inside <= outside else (outside, 'does not hold')
  verdict = if_significant if p < LEVEL else 'not resolved'
  return Comparison(verdict, diff, p, test, n, _interval(x, y), if_significant)


def non_inferior(a: Sequence[float], b: Sequence[float], margin: float) -> Comparison:
  """Tests "mean(a) ≥ mean(b) − margin": a no more than ``margin`` worse than b.

  Non-inferiority by the 95% Welch interval of mean(a) − mean(b): 'holds' when its lower
  end is above −margin, 'does not hold' when its upper end is below, 'not resolved'
  otherwise. The p is Welch's two-sided test of "difference = −margin" (below 5% exactly
  when −margin is outside the interval).
  """
  x, y, n, diff, testable = _replicates(a, b)
  test = f'Welch 95% interval of the difference above −{margin:.3g}'
  if not testable:
    return _untested(test, n, diff)
  p = float(_welch(x, y, margin).pvalue)
  verdict, if_significant = _decided(p, diff + margin)
  return Comparison(verdict, diff, p, test, n, _interval(x, y), if_significant)


def reaches(values: Sequence[float], target: float) -> Comparison:
  """Tests a goal "mean ≥ target" over replicates: the 95% t interval of the mean.

  'holds' (met) when the interval lies above the target, 'does not hold' (missed) when it
  lies below, 'not resolved' when it contains the target. The p is the one-sample t
  test's, two-sided, of "mean = target".
  """
  x = finite(values)
  n = (len(x), 1)
  diff = float(np.mean(x) - target) if len(x) else math.nan
  test = 'one-sample t test against the target, 95% interval of the mean'
  if len(x) < 2 or np.std(x) == 0:
    return _untested(test, n, diff)
  result = scipy_stats().ttest_1samp(x, target)
  ci = result.confidence_interval(CONFIDENCE)
  verdict, if_significant = _decided(float(result.pvalue), diff)
  return Comparison(
    verdict, diff, float(result.pvalue), test, n, (float(ci.low), float(ci.high)), if_significant
  )


def prediction_interval(values: Sequence[float]) -> tuple[float, float] | None:
  """Where 95% of single new runs fall: mean ± t(0.975, n−1)·std·√(1 + 1/n) (n ≥ 2)."""
  if len(x := finite(values)) < 2:
    return None
  half = scipy_stats().t.ppf(0.5 + CONFIDENCE / 2, len(x) - 1) * np.std(x, ddof=1)
  half *= math.sqrt(1 + 1 / len(x))
  return float(np.mean(x) - half), float(np.mean(x) + half)


def new_draw(values: Sequence[float], value: float) -> Comparison:
  """Tests whether ``value`` lies where single new runs like ``values`` would.

  The t statistic of a new draw, (value − mean)/(std·√(1 + 1/n)) with n − 1 degrees of
  freedom, two-sided: significant exactly when ``value`` is outside
  :func:`prediction_interval`. Only 'does not hold' (it lies elsewhere) can be shown;
  otherwise the value is not resolved from our runs.
  """
  x = finite(values)
  n = (len(x), 1)
  diff = float(value - np.mean(x)) if len(x) else math.nan
  test = 't test of a new draw (95% prediction interval of our single runs)'
  if len(x) < 2 or np.std(x) == 0:
    return _untested(test, n, diff)
  t = diff / (np.std(x, ddof=1) * math.sqrt(1 + 1 / len(x)))
  p = float(2 * scipy_stats().t.sf(abs(t), len(x) - 1))
  verdict = 'does not hold' if p < LEVEL else 'not resolved'
  return Comparison(verdict, diff, p, test, n, prediction_interval(x), 'does not hold')
