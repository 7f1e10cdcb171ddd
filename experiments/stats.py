"""Seeds as replicates: configurations, their mean ± spread, and how to print it.

A *configuration* is a grid point's choices without its seed; the points that differ only
in ``seed`` are its replicates. It is compared and chosen by the mean over its seeds of
the selection metric (:mod:`experiments.select` takes a :class:`Configuration` as it
takes a point), never by its luckiest seed. A seed whose training loss or final
evaluation loss became non-finite is counted in ``diverged`` and left out of the statistics; a
configuration with a diverged seed is never chosen in tuning (averaging the survivors
would favour unstable settings). The tests that compare configurations are in
:mod:`experiments.significance`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from experiments.point import METRICS, SPLITS, Choices, Point


def scipy_stats():
  """scipy.stats, imported when first needed: it is a large share of a run's start-up."""
  from scipy import stats  # noqa: PLC0415

  return stats


CONFIDENCE = 0.95


def finite(values: Sequence[float | None]) -> np.ndarray:
  """The finite values, as a float array (None and NaN dropped)."""
  return np.asarray([v for v in values if v is not None and math.isfinite(v)], float)


def _t(dof: float) -> float:
  """The two-sided :data:`CONFIDENCE` quantile of Student's t with ``dof`` degrees of freedom."""
  return float(scipy_stats().t.ppf(0.5 + CONFIDENCE / 2, dof))


def describe(values: Sequence[float]) -> dict[str, Any]:
  """``{mean, std, ci95}`` of replicate values (NaNs dropped).

  ``std`` uses ddof=1; ``ci95`` is ``[low, high]``, the Student t interval of the mean,
  mean ± t(0.975, n−1)·std/√n. With one value, ``std`` and ``ci95`` are None; with none,
  everything is None.
  """
  x = finite(values)
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


def decimals(std: float | None, n: int) -> int | None:
  """Decimals that give two significant digits of the standard error std/√n (None: unknown).

  Enough to recompute a test from the printed means: a mean printed as 126.5 where its
  standard error is 0.11 leaves p anywhere in a wide range; 126.53 does not.
  """
  if std is None or n < 2 or not std > 0 or not math.isfinite(std):
    return None
  return max(0, 1 - math.floor(math.log10(std / math.sqrt(n))))


def format_spread(stats: dict[str, Any], scale: float = 1.0, n: int | None = None) -> str:
  """'126.53 ± 0.24': mean ± std, '0.2712' for one seed, '-' for none.

  To two significant digits of the standard error over ``n`` seeds (:func:`decimals`);
  without ``n``, four significant digits and a two-digit std.
  """
  mean, std = stats.get('mean'), stats.get('std')
  if mean is None:
    return '-'
  if std is None:
    return f'{scale * mean:.4g}'
  places = decimals(scale * std, n or 0)
  if places is None:
    return f'{scale * mean:.4g} ± {scale * std:.2g}'
  return f'{scale * mean:.{places}f} ± {scale * std:.{places}f}'
