"""What every section of the report shares.

The :class:`Report` it writes into, the reference numbers, and small helpers for tables
and curves.

Runs are read only through :class:`experiments.results.Run`; every choice of a "best" point
goes through :func:`experiments.select.best`.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from typing import Any

import numpy as np

from experiments import stats
from experiments import sweep as sweep_lib
from experiments.console import duration
from experiments.plots import mean_of
from experiments.point import Point
from experiments.results import Run
from experiments.rundir import read
from experiments.stats import Configuration

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
MODEL_NAMES = {'logistic_regression': 'logistic regression', 'mlp': 'MLP', 'perez_cnn': 'CNN'}


class Report:
  """Collects the sections' lines and goal rows; copies each run's figures into ``out/figures``.

  Attributes:
    runs: The runs root (one workdir per experiment, named as in ``commands``).
    out: Where REPORT.md and ``figures/`` go.
    commands: Experiment name -> its command line (None when it cannot be built yet).
    quick: Whether these are the runs of the quick variant.
    lines: The report's body, in order.
    goals: Rows of the accuracy-goals table: [goal, target, ours, reference, verdict].
    findings: Rows of the findings table: [experiment, the paper's claim, verdict].
  """

  def __init__(self, runs: str, out: str, commands: dict[str, str | None], quick: bool = False):
    self.runs, self.out, self.commands, self.quick = runs, out, commands, quick
    self.figures = os.path.join(out, 'figures')
    shutil.rmtree(self.figures, ignore_errors=True)  # the report's own: no stale figures
    os.makedirs(self.figures)
    self.loaded: dict[str, Run | None] = {}
    self.lines: list[str] = []
    self.goals: list[list[Any]] = []
    self.findings: list[list[str]] = []

  def finding(self, experiment: str, claim: str, outcome: str) -> None:
    """Lists a finding of the paper and what became of it ('holds', 'not resolved', ...)."""
    self.findings.append([experiment, claim, outcome])

  def run(self, name: str) -> Run | None:
    """The finished run of experiment ``name``, or None (read once)."""
    if name not in self.loaded:
      self.loaded[name] = Run.load(os.path.join(self.runs, name))
    return self.loaded[name]

  def figure(self, run: Run, file: str, caption: str) -> None:
    """Copies a figure the run drew into its workdir, and shows it."""
    source = os.path.join(run.workdir, file)
    if not os.path.exists(source):
      self.lines += [f'*(figure {file} missing from {run.workdir})*', '']
      return
    target = f'{run.name}_{file}'
    shutil.copyfile(source, os.path.join(self.figures, target))
    self.lines += [f'![{caption}](figures/{target})', '']

  def curves(self, file: str, panels, caption: str) -> None:
    """Draws ``panels`` (see :func:`experiments.plots.plot_panels`) into the report."""
    from experiments import plots  # noqa: PLC0415 (matplotlib)

    plots.plot_panels(panels, os.path.join(self.figures, file))
    self.lines += [f'![{caption}](figures/{file})', '']

  def provenance(self, *names: str) -> None:
    """Each experiment's command line and the wall time its training took."""
    for name in names:
      run = self.run(name)
      cmd = self.commands.get(name)
      time = duration(run.train_wall_time_s) if run else self.progress(name)
      self.lines += [f'`{cmd}`  ', f'wall time: {time}', ''] if cmd else []

  def progress(self, name: str) -> str:
    """How far an unfinished run of ``name`` got: where it stopped, or 'not run'."""
    workdir = os.path.join(self.runs, name)
    config = read(os.path.join(workdir, 'config.json'), None)
    records = [r for r in read(os.path.join(workdir, 'metrics.jsonl'), []) if 'epoch' in r]
    if config is None or not records:
      return 'not run'
    last = records[-1]  # records are appended in training order: where it stopped
    program = f' in program {last["program"] + 1}' if any(r.get('program') for r in records) else ''
    return (
      f'not finished (stopped after epoch {last["epoch"]} of {config["num_epochs"]}{program}; '
      f'`python -m experiments.reproduce --only={name}` resumes it)'
    )

  def missing(self, name: str) -> bool:
    """Whether experiment ``name`` has not run; if so, says how to run it."""
    if self.run(name) is not None:
      return False
    self.lines += [
      f'**Not run yet.** `python -m experiments.reproduce --only={name}` runs it'
      + (f' (`{self.commands[name]}`).' if self.commands.get(name) else '.'),
      '',
    ]
    return True


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


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 4) -> str:
  """'91.23 ± 0.15' (mean ± std over seeds), '91.23' for one, '–' for none."""
  return stats.format_spread(stats.describe(values), scale, digits)


def acc_cell(choice: Choice, split: str = 'test') -> str:
  """Final accuracy in percent, mean ± std over the seeds."""
  if isinstance(choice, Configuration):
    return stats.format_spread(choice.spread(split, 'accuracy'), 100)
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
