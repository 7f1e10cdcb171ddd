"""Sweeps: a Cartesian product of config values, split into programs and their grids.

A sweep maps dotted config paths to lists of values. Paths whose values are numbers or
booleans and that a program can take as traced arrays (``seed``, ``model.l2`` and the
optimizer's numeric hyperparameters) form the *grid*: one compiled program runs all of
them by ``vmap``. Every other path (``optimizer.name``, ``model.name``, ``model.dropout``,
``optimizer.schedule``, and the options an optimizer takes as Python values, such as
optax's ``nesterov``) is *structural*: one program per combination.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from adam_jax import _extras

try:
  from flax import traverse_util
except ModuleNotFoundError as error:  # the 'experiments' extra
  _extras.require(__name__, error.name or 'flax')
  raise


# Paths under optimizer. that select code rather than numbers: never vmapped.
STRUCTURAL_OPTIMIZER_KEYS = frozenset({'name', 'schedule'})


def is_vmappable(path: str, values: Sequence[Any], static: Collection[str] = ()) -> bool:
  """Whether a swept path can vary inside one compiled program.

  Args:
    path: A dotted config path, e.g. ``'optimizer.b2'``.
    values: Its swept values.
    static: Further paths that must stay Python values (an optimizer option that selects
      code, such as optax's ``nesterov``).

  Returns:
    True for numbers and booleans of ``seed``, ``model.l2`` and the optimizer's
    hyperparameters, unless ``path`` is in ``static``.
  """
  numeric = all(isinstance(v, bool | int | float) for v in values)
  if not numeric or path in static:
    return False
  if path in ('seed', 'model.l2'):
    return True
  section, _, key = path.partition('.')
  return section == 'optimizer' and key not in STRUCTURAL_OPTIMIZER_KEYS


@dataclasses.dataclass(frozen=True)
class Program:
  """One structural point of a sweep and the grid of numeric points it runs by vmap."""

  index: int
  structural: dict[str, Any]  # path -> value, the same for every point of this program
  points: list[dict[str, Any]]  # per grid point: path -> value of the vmapped paths
  first_grid_index: int  # global index of points[0] across all programs

  @property
  def label(self) -> str:
    """For display only: 'optimizer.name=adam, model.dropout=True' (or 'run')."""
    return label(self.structural)

  @property
  def swept(self) -> tuple[str, ...]:
    """The vmapped paths of this program's grid."""
    return tuple(self.points[0]) if self.points else ()

  @property
  def grid_indices(self) -> range:
    """Global grid indices of this program's points."""
    return range(self.first_grid_index, self.first_grid_index + len(self.points))


def label(values: Mapping[str, Any]) -> str:
  """A display label of a point's values: 'optimizer.name=adam, model.dropout=True'."""
  return ', '.join(f'{k}={v}' for k, v in values.items()) or 'run'


def expand(sweep: Mapping[str, Sequence[Any]], static: Collection[str] = ()) -> list[Program]:
  """Splits the Cartesian product of ``sweep`` into programs (structural) × grid (vmapped).

  Examples:
    >>> programs = expand({'optimizer.name': ['adam', 'adamax'],
    ...                    'optimizer.learning_rate': [1e-3, 1e-2]})
    >>> [(p.label, p.points) for p in programs]  # doctest: +NORMALIZE_WHITESPACE
    [('optimizer.name=adam', [{'optimizer.learning_rate': 0.001},
                               {'optimizer.learning_rate': 0.01}]),
     ('optimizer.name=adamax', [{'optimizer.learning_rate': 0.001},
                                 {'optimizer.learning_rate': 0.01}])]

  Args:
    sweep: Dotted path -> list of values (an empty mapping is a single run).
    static: Paths that are structural whatever their values (see :func:`is_vmappable`).

  Returns:
    The programs, in order; grid indices count across them.
  """
  return expand_axes([[{k: v} for v in values] for k, values in sweep.items()], static)


def expand_axes(
  axes: Sequence[Sequence[Mapping[str, Any]]], static: Collection[str] = ()
) -> list[Program]:
  """Splits the Cartesian product of ``axes`` into programs (structural) × grid (vmapped).

  Each axis is a list of partial points: a swept path's values (``[{path: v1}, {path:
  v2}]``), or points that vary several paths together (a search's drawn points). A point
  of the product merges one entry of each axis, the last axis varying fastest. Programs
  come in the order of their first point; a program's grid keeps the product's order.

  Examples:
    >>> drawn = [{'optimizer.learning_rate': 0.01, 'optimizer.name': 'adam'},
    ...          {'optimizer.learning_rate': 0.1, 'optimizer.name': 'sgd'},
    ...          {'optimizer.learning_rate': 0.3, 'optimizer.name': 'adam'}]
    >>> programs = expand_axes([drawn, [{'seed': 0}, {'seed': 1}]])
    >>> [(p.label, len(p.points), p.first_grid_index) for p in programs]
    [('optimizer.name=adam', 4, 0), ('optimizer.name=sgd', 2, 4)]

  Args:
    axes: The axes of the product (none: a single run).
    static: Paths that are structural whatever their values (see :func:`is_vmappable`).

  Returns:
    The programs, in order; grid indices count across them.
  """
  values: dict[str, list[Any]] = {}
  for axis in axes:
    for entry in axis:
      for k, v in entry.items():
        values.setdefault(k, []).append(v)
  vmapped = {k for k, v in values.items() if is_vmappable(k, v, static)}
  grids: dict[tuple, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
  for combo in itertools.product(*axes):
    point = {k: v for entry in combo for k, v in entry.items()}
    structural = {k: v for k, v in point.items() if k not in vmapped}
    key = tuple((k, repr(v)) for k, v in structural.items())
    grids.setdefault(key, (structural, []))[1].append(
      {k: v for k, v in point.items() if k in vmapped}
    )
  programs, first = [], 0
  for i, (structural, grid) in enumerate(grids.values()):
    programs.append(Program(i, structural, grid, first))
    first += len(grid)
  return programs


def set_path(node: Any, path: str, value: Any) -> None:
  """``node.<path> = value`` on a ``ConfigDict``, creating missing sections (unlocked)."""
  import ml_collections  # noqa: PLC0415

  *parents, leaf = path.split('.')
  with node.unlocked() if hasattr(node, 'unlocked') else contextlib.nullcontext():
    for p in parents:
      if p not in node:
        node[p] = ml_collections.ConfigDict()
      node = node[p]
    node[leaf] = value


def unset_path(node: Any, path: str) -> bool:
  """Deletes ``node.<path>`` from a ``ConfigDict`` if it is there; returns whether it was."""
  *parents, leaf = path.split('.')
  for p in parents:
    if not hasattr(node, 'keys') or p not in node:
      return False
    node = node[p]
  if not hasattr(node, 'keys') or leaf not in node:
    return False
  with node.unlocked() if hasattr(node, 'unlocked') else contextlib.nullcontext():
    del node[leaf]
  return True


def flatten(tree: Mapping[str, Any]) -> dict[str, Any]:
  """Nested mappings (e.g. ``ConfigDict.to_dict()``) to ``{'a.b': value}``.

  Empty sections are dropped (``{'sweep': {}}`` flattens to ``{}``).
  """
  return traverse_util.flatten_dict(dict(tree), sep='.')
