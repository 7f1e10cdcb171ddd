"""Quasi-random search: ``search.points`` points drawn from the config's ``search.space``.

The space mirrors the config with tuples as leaves, one per searched path::

  config.search.points = 16
  config.search.space.optimizer.learning_rate = ('log_uniform', 1e-5, 1.0)
  config.search.space.optimizer.b1 = ('one_minus_log_uniform', 1e-2, 0.5)  # 1−β1
  config.search.space.model.dropout = ('choice', True, False)

The points are a scrambled Halton (or Sobol) sequence over the unit cube, one dimension
per distribution, mapped to each path's distribution, as AlgoPerf's baselines are tuned.
A ``('list', v1, ..., vN)`` leaf gives the N points' values of its path in order (the
points given explicitly: N must be ``search.points``). The drawn points are a list of
grid points, like a sweep's: numeric values of a program's traced paths are vmapped in one
program, structural values (``optimizer.name``, ``model.dropout``) give one program each.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
from absl import logging

from adam_jax import sweep as sweep_lib

# Distribution -> what its arguments are, for the error messages.
DISTRIBUTIONS = {
  'log_uniform': '(low, high), 0 < low < high: log(value) uniform',
  'uniform': '(low, high), low < high',
  'one_minus_log_uniform': '(low, high), 0 < low < high <= 1: log(1 - value) uniform (for β)',
  'choice': '(v1, v2, ...): one of the values, each as likely',
  'list': '(v1, ..., vN), N = search.points: point i takes vi (the points given explicitly)',
}
SEQUENCES = ('halton', 'sobol')


@dataclasses.dataclass(frozen=True)
class Dimension:
  """One searched path and its distribution.

  Attributes:
    path: The dotted config path, e.g. ``'optimizer.learning_rate'``.
    kind: A key of :data:`DISTRIBUTIONS`.
    args: Its arguments: ``(low, high)``, or the values of a choice or a list.
  """

  path: str
  kind: str
  args: tuple[Any, ...]

  @property
  def random(self) -> bool:
    """Whether it takes a dimension of the quasi-random sequence (a list does not)."""
    return self.kind != 'list'

  @property
  def support(self) -> tuple[Any, ...]:
    """Values that show its range: the ends of an interval, every value of a choice or list."""
    if self.kind == 'one_minus_log_uniform':
      return tuple(1.0 - a for a in self.args)
    return self.args

  def value(self, u: float, index: int) -> Any:
    """The value at ``u`` in [0, 1) of the sequence (or the ``index``-th value of a list)."""
    if self.kind == 'list':
      return self.args[index]
    if self.kind == 'choice':
      return self.args[min(int(u * len(self.args)), len(self.args) - 1)]
    low, high = (float(a) for a in self.args)
    if self.kind == 'uniform':
      return min(max(low + u * (high - low), low), high)
    x = min(max(math.exp(math.log(low) + u * (math.log(high) - math.log(low))), low), high)
    return 1.0 - x if self.kind == 'one_minus_log_uniform' else x


def _real(v: Any) -> bool:
  return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def parse(path: str, spec: Any, points: int) -> Dimension:
  """The :class:`Dimension` of ``search.space.<path> = spec``.

  Raises:
    ValueError: One line naming the leaf, what is wrong and what is allowed.
  """
  where = f'config.search.space.{path} = {spec!r}'
  if not isinstance(spec, tuple | list) or not spec or spec[0] not in DISTRIBUTIONS:
    raise ValueError(
      f'{where}: must be a tuple (KIND, ...), KIND one of {", ".join(DISTRIBUTIONS)}'
    )
  kind, args = spec[0], tuple(spec[1:])
  if kind in ('choice', 'list'):
    if not args:
      raise ValueError(f'{where}: {kind} needs values: {DISTRIBUTIONS[kind]}')
    if kind == 'list' and len(args) != points:
      raise ValueError(f'{where}: {len(args)} values for search.points = {points}')
    return Dimension(path, kind, args)
  if len(args) != 2 or not all(_real(a) for a in args):
    raise ValueError(f'{where}: {kind} takes two finite numbers {DISTRIBUTIONS[kind]}')
  low, high = args
  ok = low < high
  if kind == 'log_uniform':
    ok = ok and low > 0
  elif kind == 'one_minus_log_uniform':
    ok = ok and low > 0 and high <= 1
  if not ok:
    raise ValueError(f'{where}: bounds must be {DISTRIBUTIONS[kind]}')
  return Dimension(path, kind, (float(low), float(high)))


def num_points(config) -> int:
  """``search.points``: 0 (no search) when the config has no ``search`` section."""
  search = config.get('search')
  return search.points if search is not None else 0


def space(config) -> dict[str, Any]:
  """``config.search.space`` as ``{dotted path: leaf}`` ({} when the config has none)."""
  search = config.get('search')
  return sweep_lib.flatten(search.space.to_dict()) if search is not None else {}


def dimensions(config) -> list[Dimension]:
  """The parsed space, in sorted path order (the order its sequence dimensions take).

  Raises:
    ValueError: For a leaf that is not a valid distribution (see :func:`parse`).
  """
  points = num_points(config)
  return [parse(path, spec, points) for path, spec in sorted(space(config).items())]


def check(
  config, swept: Collection[str], check_values: Callable[[str, tuple[Any, ...]], None]
) -> dict[str, tuple[Any, ...]]:
  """Checks ``config.search``; returns each searched path's :attr:`Dimension.support`.

  Args:
    config: The config.
    swept: The paths its sweep varies (a path is swept or searched, not both).
    check_values: Checks that a path may vary and takes the given values (raises).

  Raises:
    ValueError: One line naming what is wrong.
  """
  dims, points = dimensions(config), num_points(config)
  if bool(dims) != bool(points):
    raise ValueError(
      f'config.search.points = {points} with {len(dims)} path(s) in config.search.space: a '
      'search needs both (points = 0 and no space: the sweep is a Cartesian grid)'
    )
  for dim in dims:
    if dim.path == 'seed':
      raise ValueError('config.search.space.seed: a seed is a replicate, not a choice: use seeds')
    if dim.path in swept:
      raise ValueError(f'config.search.space.{dim.path}: also in config.sweep; give it one way')
    check_values(dim.path, dim.support)
  return {dim.path: dim.support for dim in dims}


def unit_points(n: int, dims: int, sequence: str = 'halton', seed: int = 0) -> np.ndarray:
  """``n`` points of a scrambled quasi-random sequence in [0, 1)^dims, shape (n, dims).

  ``scipy.stats.qmc``'s Halton or Sobol sequence, scrambled with ``seed`` (the same seed
  gives the same points). Sobol's balance wants n a power of 2; other n are allowed.
  """
  from scipy.stats import qmc  # noqa: PLC0415 (a large import, only for a search)

  if dims == 0:
    return np.zeros((n, 0))
  engines = {'halton': qmc.Halton, 'sobol': qmc.Sobol}
  if sequence not in engines:
    raise ValueError(f'search.sequence = {sequence!r}: must be one of {SEQUENCES}')
  engine = engines[sequence](dims, scramble=True, seed=seed)
  with warnings.catch_warnings():  # said once in the log instead
    warnings.filterwarnings('ignore', message='.*balance properties')
    return engine.random(n)


def draw(config) -> list[dict[str, Any]]:
  """The ``search.points`` points of ``config``'s space: ``[{path: value}]``, paths sorted."""
  dims = dimensions(config)
  n, sequence, seed = config.search.points, config.search.sequence, config.search.seed
  if sequence == 'sobol' and n & (n - 1):
    logging.info('search.points = %d is not a power of 2: Sobol points are less balanced', n)
  u = unit_points(n, sum(d.random for d in dims), sequence, seed)
  points = []
  for i in range(n):
    columns = iter(u[i])
    points.append({d.path: d.value(next(columns) if d.random else 0.0, i) for d in dims})
  return points


def summary(config) -> dict[str, Any]:
  """``{'search': ...}`` for ``summary.json``: the search's settings, space and drawn points.

  ({} without a search.)
  """
  if not num_points(config):
    return {}
  return {
    'search': {
      'points': config.search.points,
      'sequence': config.search.sequence,
      'seed': config.search.seed,
      'space': {d.path: [d.kind, *d.args] for d in dimensions(config)},
      'drawn': draw(config),
    }
  }


def replace(config, path: str, given: str) -> str | None:
  """Takes ``path`` out of the search space: a value or sweep of it was given instead.

  With nothing left to search, ``search.points`` becomes 0 (no search).

  Args:
    config: The config.
    path: A dotted path.
    given: What was given instead, for the note (``'--config.optimizer.b1=0.9'``).

  Returns:
    A note for the log when ``path`` was searched, else None.
  """
  if path not in space(config):
    return None
  sweep_lib.unset_path(config.search.space, path)
  note = f'{given} replaces the search over {path}'
  if not space(config):  # nothing left to search: a single point
    config.search.points = 0
    note += ' (nothing else was searched: a single run)'
  return note
