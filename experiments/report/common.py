"""What every section of the report shares.

The :class:`Report` it writes into (:mod:`.document`, imported from here by every
section), the ε a run ran with, and small helpers for tables and curves (the reference
numbers and the data in words are in :mod:`.references`).

Runs are read only through :class:`experiments.results.Run`; every choice of a "best" point
goes through :func:`experiments.select.best`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import adam_jax
from experiments import stats
from experiments import sweep as sweep_lib
from experiments.console import duration
from experiments.plots import mean_of
from experiments.point import Point
from experiments.report.document import Finding, Report
from experiments.results import Run
from experiments.stats import Configuration

__all__ = ['Finding', 'Report']  # and the helpers below


def epsilon(run: Run, choice: Choice) -> float | None:
  """The ε the choice ran with: set by the config or swept, else its optimizer's own default."""
  value = choice.get('optimizer.eps', run.config.get('optimizer', {}).get('eps'))
  if value is not None:
    return value
  return adam_jax.describe(optimizer_name(choice, run)).defaults.get('eps')


def epsilons(run: Run) -> str:
  """The ε the run's chosen configurations ran with, as a sentence ('' when none has one)."""
  eps = run.config.get('optimizer', {}).get('eps')
  if eps is not None:
    return f'Every optimizer that has an ε runs at ε = {eps:g}, set by the config.'
  own = {optimizer_name(c, run): epsilon(run, c) for c in run.best_configurations()}
  said = [f'{name} {value:g}' for name, value in sorted(own.items()) if value is not None]
  if not said:
    return ''
  return (
    "Each optimizer runs at its own ε (its authors' or its library's default): "
    + ', '.join(said)
    + (
      f' ({", ".join(sorted(n for n, v in own.items() if v is None))}: none)'
      if None in own.values()
      else ''
    )
    + '.'
  )


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
  """A Markdown table (floats to 4 significant digits, NaN as '–'), then a blank line."""

  def cell(v: Any) -> str:
    if isinstance(v, float):
      return '–' if math.isnan(v) else f'{v:.4g}'
    return str(v)

  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  lines += ['| ' + ' | '.join(cell(v) for v in row) + ' |' for row in rows]
  return [*lines, '']


def acc(point: Point | Configuration, split: str = 'test') -> float:
  """Final accuracy on ``split`` in percent (NaN when not measured; with seeds, the mean)."""
  return 100 * point.metric(split, 'accuracy')


def optimizer_name(point: Choice, run: Run | None = None) -> str:
  """The point's optimizer ('' when not swept and no run is given)."""
  default = run.config.get('optimizer', {}).get('name', '') if run is not None else ''
  return str(point.get('optimizer.name', default))


def model_name(point: Choice, run: Run) -> str:
  """The point's model (swept, or the run's)."""
  return str(point.get('model.name', run.config.get('model', {}).get('name', '')))


def learning_rate(point: Choice) -> float:
  """The point's α (NaN when not swept)."""
  return point.get('optimizer.learning_rate', math.nan)


def dropout(point: Choice) -> bool:
  """Whether the point's model has dropout."""
  return bool(point.get('model.dropout', False))


def choice_name(point: Choice) -> str:
  """'adam without dropout', 'sgd nesterov=True': the optimizer, then the program's choices."""
  words = [optimizer_name(point)]
  for key, value in point.structural.items():
    if key == 'model.dropout':
      words.append('with dropout' if value else 'without dropout')
    elif key != 'optimizer.name':
      words.append(f'{key.rsplit(".", 1)[-1]}={value}')
  return ' '.join(w for w in words if w)


def program_name(point: Choice) -> str:
  """The optimizer, else the program's choices: what a row or a curve is called."""
  return optimizer_name(point) or sweep_lib.label(point.structural)


def variant(point: Choice, with_dropout: bool = True) -> str:
  """'α=0.01, dropout': the choices a point was made with (the dropout part optional)."""
  return f'α={learning_rate(point):g}' + (', dropout' if with_dropout and dropout(point) else '')


def _seed_list(seeds: Sequence[int]) -> str:
  seeds = sorted(seeds)
  if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
    return f'{seeds[0]}–{seeds[-1]}'
  return ', '.join(map(str, seeds))


def protocol(run: Run) -> str:
  """How the run's choices were made and tested, for a sentence: 'α chosen on seed 0, …'."""
  reruns = set(run.summary.get('rerun_programs') or [])
  tuning = {s for c in run.configurations if c.program not in reruns for s in c.seeds}
  if not reruns:
    n = len(tuning)
    return f'each choice made and reported on the same {n} seeds' if n > 1 else 'one seed (no test)'
  fresh = {s for c in run.configurations if c.program in reruns for s in c.seeds}
  word = 'seed' + 's' * (len(tuning) != 1)
  return (
    f'each choice made on {word} {_seed_list(tuning)}, then trained again with seeds '
    f'{_seed_list(fresh)}, which are reported and tested (a choice is never tested on the '
    "seeds it was made on: DeepOBS's protocol)"
  )


def grid(run: Run) -> str:
  """'{0.001, 0.01}': the run's α grid."""
  values = sorted({learning_rate(p) for p in run.points})
  return '{' + ', '.join(f'{v:g}' for v in values) + '}'


Choice = Point | Configuration  # what a row or a curve stands for: with seeds, a configuration


def configuration(run: Run, choice: Choice) -> Configuration:
  """The configuration a point is a seed of (a configuration is its own)."""
  return choice if isinstance(choice, Configuration) else run.configuration_of(choice)


def seed_values(
  run: Run, choice: Choice, split: str, metric: str, epoch: int | None = None
) -> list[float]:
  """The value of each seed that did not diverge: final, or after ``epoch``."""
  x, values = run.seed_curves(configuration(run, choice), split, metric)
  epochs = [int(e) for e in x]
  if not epochs or (epoch is not None and epoch not in epochs):
    return []
  column = epochs.index(epoch) if epoch is not None else len(epochs) - 1
  return [float(v) for v in values[:, column] if math.isfinite(v)]


def series(run: Run, choice: Choice, split: str, metric: str) -> dict[int, float]:
  """``{epoch: mean over seeds}`` of ``metric`` on ``split``."""
  x, values = run.seed_curves(configuration(run, choice), split, metric)
  return {int(e): float(v) for e, v in zip(x, mean_of(values), strict=True)}


def curve(run: Run, choice: Choice, split: str, metric: str, scale: float = 1.0):
  """(epochs, mean, std or None) over seeds, for :func:`experiments.plots.plot_panels`."""
  x, values = run.seed_curves(configuration(run, choice), split, metric)
  std = scale * np.nanstd(values, axis=0, ddof=1) if values.shape[0] > 1 else None
  return x, scale * mean_of(values), std


def spread(values: Sequence[float], scale: float = 1.0) -> str:
  """'91.23 ± 0.15' (mean ± std over seeds, to two digits of the standard error), '–' for none."""
  return stats.format_spread(stats.describe(values), scale, len(stats.finite(values)))


def acc_cell(choice: Choice, split: str = 'test') -> str:
  """Final accuracy in percent, mean ± std over the seeds."""
  if isinstance(choice, Configuration):
    return stats.format_spread(choice.spread(split, 'accuracy'), 100, choice.n)
  return f'{acc(choice, split):.2f}'


def best_curves(run: Run, split: str, metric: str, scale: float = 1.0) -> dict[str, tuple]:
  """{'adam (α=0.03)': (epochs, mean, std)} for the chosen configuration of each program."""
  return {
    f'{program_name(c)} ({variant(c)}){seeds_note(c)}': curve(run, c, split, metric, scale)
    for c in sorted(run.best_configurations(), key=optimizer_name)
  }


def seeds_note(c: Configuration) -> str:
  """' [5 seeds]', ' [4 of 5 seeds: 1 diverged]', or '' for one seed."""
  if len(c.seeds) <= 1:
    return ''
  return (
    f' [{c.n} of {len(c.seeds)} seeds: {c.diverged} diverged]' if c.diverged else f' [{c.n} seeds]'
  )


def curve_rows(run: Run, epochs: Sequence[int]) -> list[list[Any]]:
  """Per chosen configuration, lowest final mean cost first: name, α, cost at ``epochs``, accs.

  Each cell is the mean ± std over the configuration's seeds.
  """
  rows = []
  for c in sorted(run.best_configurations(), key=lambda c: c.metric('train', 'loss')):
    rows.append(
      [
        program_name(c) + seeds_note(c),
        f'{learning_rate(c):g}',
        *(spread(seed_values(run, c, 'train', 'loss', e)) for e in epochs),
        acc_cell(c, 'validation'),
        acc_cell(c, 'test'),
      ]
    )
  return rows


def ranking_sentence(run: Run, epoch: int) -> str:
  """'adam (0.25) < nadam (0.26)': the chosen configurations by mean training cost."""
  chosen = run.best_configurations()
  names = [optimizer_name(c) for c in chosen]
  if len(set(names)) < len(names):  # several programs per optimizer: name their choices
    names = [choice_name(c) for c in chosen]
  ranked = sorted(
    (series(run, c, 'train', 'loss').get(epoch, math.inf), name)
    for c, name in zip(chosen, names, strict=True)
  )
  return ' < '.join(f'{name} ({value:.4g})' for value, name in ranked)


def machines(made: dict[str, tuple[str | None, float]]) -> str:
  """Where runs were made, with each machine's training time: 'Made on <machine>.'.

  ``made``: ``{name: (machine, seconds of training)}``; a machine of None is one the run
  did not record (made before runs kept it: ``summary.json``'s ``machine``). '' when
  nothing was made.
  """
  if not made:
    return ''
  where: dict[str | None, list[str]] = {}
  for name, (machine, _) in made.items():
    where.setdefault(machine, []).append(name)
  unknown = 'a machine the runs did not record (made before a run kept it)'
  if len(where) == 1:
    return f'Made on {next(iter(where)) or unknown}.'
  groups = [
    f'{m or unknown}: {", ".join(names)} ({duration(sum(made[n][1] for n in names))} of training)'
    for m, names in where.items()
  ]
  return 'Made on ' + '; on '.join(groups) + '.'
