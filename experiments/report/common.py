"""What every section of the report shares.

The :class:`Report` it writes into (:mod:`.document`, imported from here by every
section), the reference numbers, and small helpers for tables and curves.

Runs are read only through :class:`experiments.results.Run`; every choice of a "best" point
goes through :func:`experiments.select.best`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from adam_jax import sweep as sweep_lib
from experiments import stats
from experiments.plots import mean_of
from experiments.point import Point
from experiments.report.document import Finding, Report
from experiments.results import Run
from experiments.stats import Configuration

__all__ = ['Finding', 'Report']  # and the helpers below

# Reference numbers (REFERENCE.md): Pérez's MNIST test accuracy, 20 epochs, α/√t.
PEREZ_MNIST = {
  ('logistic_regression', None): {'adam': 92.69, 'adamax': 92.38},
  ('mlp', True): {'adam': 98.43, 'adamax': 98.14},
  ('mlp', False): {'adam': 98.17, 'adamax': 98.33},
  ('perez_cnn', True): {'adam': 99.21, 'adamax': 99.09},
  ('perez_cnn', False): {'adam': 99.21, 'adamax': 99.09},
}
# Fashion-MNIST test accuracy references and the goals (Adam, 20 epochs, chosen α).
FMNIST_REFERENCE = {
  'logistic_regression': 'about 84% (Fashion-MNIST benchmark)',
  'mlp': '89–90% (DeepOBS fmnist_mlp with Adam ≈ 89%)',
  'perez_cnn': (
    '91.5–93% (DeepOBS fmnist_2c2d with Adam: 90.8% and 91.4% at epoch 20, '
    '92.2% and 92.3% at 100, seeds 45 and 47)'
  ),
}
GOALS = {'logistic_regression': 84.0, 'mlp': 89.0, 'perez_cnn': 91.5}
# Each goal is judged on one protocol fixed in advance: Adam under Pérez's (α/√t, α chosen
# on the validation accuracy). Adam at a constant α is shown beside it, never judged: a goal
# met by the better of two protocols would be a choice made on the test set.
GOAL_PROTOCOL = "Pérez's protocol (α/√t)"
NOT_JUDGED = f'not judged (the goal is judged on {GOAL_PROTOCOL} alone)'
GOAL_WORDS = {'holds': 'met', 'does not hold': 'missed'}
MODEL_NAMES = {'logistic_regression': 'logistic regression', 'mlp': 'MLP', 'perez_cnn': 'CNN'}


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
