"""The one rule for choosing grid points: the paper's protocol.

Each program's point is chosen on the validation split (the training split when there is
none) by ``eval.select_metric``, and reported on the test split. A diverged point, or one
whose metric is not finite, is never chosen in tuning (a rerun's configuration is a
result: it is reported with its diverged seeds counted). Ties (accuracy is a count of
examples, so equal values are common) go to the point with the lower loss on the same
split, then to the earlier grid point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from experiments import stats
from experiments.point import Point


def selection_split(points: Iterable[Point]) -> str:
  """'validation' when the points were evaluated on a validation split, else 'train'."""
  return 'validation' if any('validation' in p.final for p in points) else 'train'


def _key(point: Point, split: str, metric: str) -> tuple[float, float]:
  value = point.metric(split, metric)
  primary = -value if metric == 'accuracy' else value
  tie = point.metric(split, 'loss') if metric == 'accuracy' else -point.metric(split, 'accuracy')
  return primary, tie if math.isfinite(tie) else math.inf


def best(
  points: Sequence[Point], metric: str = 'loss', split: str | None = None, diverged: bool = False
) -> Point | None:
  """The point with the best final ``metric`` on ``split`` (default: :func:`selection_split`).

  Args:
    points: The candidates: points, or :class:`experiments.stats.Configuration` (compared
      by their mean over seeds).
    metric: 'loss' (lowest wins) or 'accuracy' (highest wins).
    split: The split to compare on.
    diverged: Whether a candidate that diverged (a configuration with a diverged seed) may
      be chosen: for the configurations a rerun trained, which are results, not choices.

  Returns:
    The chosen point, or None when no candidate has a finite value (and did not diverge).
  """
  split = split or selection_split(points)
  candidates = [
    p for p in points if (diverged or not p.failed) and math.isfinite(p.metric(split, metric))
  ]
  if not candidates:
    return None
  return min(candidates, key=lambda p: _key(p, split, metric))


def best_per_program(
  points: Sequence[Point],
  metric: str = 'loss',
  split: str | None = None,
  diverged: bool = False,
  extends: Mapping[int, int] | None = None,
) -> dict[int, Point]:
  """:func:`best` within each program: ``{program index: point}`` (programs with a choice).

  ``extends`` maps an extension program (:mod:`experiments.extend`) to the program whose
  grid it extends: its points are chosen among with that program's.
  """
  split = split or selection_split(points)
  extends = extends or {}
  chosen = {}
  for program in dict.fromkeys(extends.get(p.program, p.program) for p in points):
    mine = [p for p in points if extends.get(p.program, p.program) == program]
    point = best(mine, metric, split, diverged)
    if point is not None:
      chosen[program] = point
  return chosen


def summarize(
  points: Sequence[Point],
  num_epochs: int,
  metric: str,
  wall_time: float,
  train_wall_time: float = 0.0,
  default_seed: int = 0,
  reruns: Sequence[int] = (),
  extends: Mapping[int, int] | None = None,
) -> dict:
  """summary.json's content: every point's final metrics, the configurations, the choices.

  Configurations (a point's choices without its seed: :mod:`experiments.stats`) are
  chosen by the mean over their seeds; with one seed that is choosing points.
  ``best_grid_index`` and ``best_per_program`` name the first seed's point of each chosen
  configuration.

  Args:
    points: Every grid point of the run, in grid order.
    num_epochs: Epochs of the run.
    metric: ``eval.select_metric``.
    wall_time: Seconds of this process.
    train_wall_time: Seconds of every process that trained the run (resumed runs).
    default_seed: The config's ``seed`` (of points whose ``hparams`` have none).
    reruns: The programs that rerun a tuning program's choice with more seeds
      (``rerun_seeds``): the overall choice is made among them alone.
    extends: Extension program -> the tuning program whose α grid it extends
      (:mod:`experiments.extend`); ``best_per_program`` has no entry of its own for one.

  Returns:
    The summary (see the README's "What a run leaves in its workdir").
  """
  split = selection_split(points)
  configs = stats.configurations(points, default_seed)
  extends = dict(extends or {})
  tuned = [c for c in configs if c.program not in reruns]
  per_program = best_per_program(tuned, metric, split, extends=extends)
  # A rerun's configuration stays in the report when a fresh seed diverges: it is counted.
  rerun_configs = [c for c in configs if c.program in reruns]
  per_program |= best_per_program(rerun_configs, metric, split, diverged=True)
  programs = list(dict.fromkeys(p.program for p in points if p.program not in extends))
  chosen = best([c for c in configs if not reruns or c.program in reruns], metric, split)
  chosen_per_program = [per_program.get(i) for i in programs]
  return {
    'num_epochs': num_epochs,
    'wall_time_s': round(wall_time, 2),
    'train_wall_time_s': round(max(train_wall_time, wall_time), 2),
    'selected_by': f'{split} {metric}',
    'seeds': sorted({s for c in configs for s in c.seeds}),
    'rerun_programs': list(reruns),
    'best_grid_index': None if chosen is None else chosen.first_grid_index,
    'best_per_program': [None if c is None else c.first_grid_index for c in chosen_per_program],
    'best_configuration': None if chosen is None else chosen.index,
    'best_configuration_per_program': [None if c is None else c.index for c in chosen_per_program],
    'configurations': [c.to_json() for c in configs],
    'points': [p.to_json() for p in points],
  }


def chosen_learning_rate(points: Sequence[Point], optimizer: str) -> float:
  """The α of ``optimizer``'s point with the best validation accuracy (ties: lower loss).

  Give a run's configurations (``Run.configurations``) to choose by the mean over seeds.

  How a later step takes its α from a screening run (the accuracy goals' protocol).

  Raises:
    RuntimeError: When ``optimizer`` has no finite, evaluated point to choose from.
  """
  candidates = [p for p in points if p.get('optimizer.name') == optimizer]
  point = best(candidates, 'accuracy', 'validation')
  if point is None:
    raise RuntimeError(f'no finite point of {optimizer} to choose α from')
  return point.get('optimizer.learning_rate')
