"""The accuracy goals, read from the Pérez runs' chosen points (see :mod:`.perez`).

One goal per Adam cell of Pérez's table, its target chosen by the data the run trained
on (:data:`.common.GOALS`), judged on the 95% interval of the mean over the seeds; a goal
not met is explained by its numbers. Reads ``cnn_adam_constant`` too (Adam at a constant α,
shown beside the CNN's goals and not judged), beside the table that
:func:`.perez.chosen_table` builds (a :data:`Table`).
"""

from __future__ import annotations

from typing import NamedTuple

from experiments import select, significance
from experiments.report.common import Report, acc_cell, seed_values, seeds_note, variant
from experiments.report.references import (
  CELLS,
  GOAL_WORDS,
  GOALS,
  cell_name,
  data,
  data_key,
  reference,
  unjudged_goal,
)
from experiments.report.verdicts import interval_text, p_text, verdict
from experiments.results import Run
from experiments.significance import Comparison
from experiments.stats import Configuration


class Chosen(NamedTuple):
  """A chosen configuration (its seeds' mean ± spread) and the run it belongs to."""

  choice: Configuration
  run: Run


# (model, dropout or None for logistic regression) -> optimizer -> its chosen point.
Table = dict[tuple[str, bool | None], dict[str, Chosen]]


def best(candidates: list[Chosen]) -> Chosen | None:
  """The candidate whose choice had the best validation accuracy (ties: the lower loss).

  Compared on the seeds each choice was made on (a rerun's tuning configuration,
  :meth:`Run.tuned`), never on the fresh seeds it is reported and tested on. A single
  candidate is returned as it is, a diverged seed counted in its statistics.
  """
  if len(candidates) == 1:
    return candidates[0]
  decided = [c.run.tuned(c.choice) for c in candidates]
  chosen = select.best(decided, 'accuracy', 'validation')
  return next((c for c, d in zip(candidates, decided, strict=True) if d is chosen), None)


def goals(r: Report, found: Table) -> None:
  """A goal row for each Adam cell, and what each goal not met rests on.

  Adam at its chosen α after 20 epochs; logistic regression's dropout or not chosen on the
  validation split of the seeds the choice was made on. A goal is met when the 95%
  interval of the mean lies above the target, missed when below, not resolved when it
  contains it (each a test of the report's family).
  """
  unmet = []
  for cell in CELLS:
    c = found.get(cell, {}).get('adam')
    targets = GOALS.get(data_key(c.run), {}) if c is not None else {}
    if cell not in targets:
      continue
    goal, p, epochs = targets[cell], c.choice, c.run.num_epochs
    name = f'{cell_name(cell)}, Adam, α/√t, {epochs} epoch{"s" * (epochs != 1)}'
    values = [100 * v for v in seed_values(c.run, p, 'test', 'accuracy')]
    reached = r.test(
      'Accuracy goals', f'{name}: test accuracy ≥ {goal}%', significance.reaches(values, goal)
    )
    interval = (
      f', 95% interval {interval_text(*reached.interval, signed=False)}' if reached.interval else ''
    )
    outcome = GOAL_WORDS.get(reached.verdict, reached.verdict)
    r.goal(
      [
        name,
        f'≥ {goal}%',
        f'{acc_cell(p)}% ({variant(p)}{seeds_note(p)}{interval})',
        reference(data_key(c.run), cell),
        verdict(reached, words=GOAL_WORDS),
      ],
      outcome,
      data(c.run),
    )
    if reached.verdict != 'holds':
      unmet.append(_unmet(name, goal, values, reached, outcome, p))
  if unmet:
    r.lines += [
      '**Goals not met, and what the numbers say:** ' + ' '.join(unmet),
      '',
    ]


def _unmet(
  name: str, goal: float, values: list[float], reached: Comparison, outcome: str, p: Configuration
) -> str:
  """Why a goal is missed or not resolved, in its numbers: where its interval lies."""
  if not reached.tested:
    return f'{name}: {outcome}, {len(values)} finite seed{"s" * (len(values) != 1)}: no interval.'
  low, high = reached.interval
  mean = sum(values) / len(values)
  if low <= goal <= high:
    where = 'contains the target: these seeds cannot tell'
  else:
    where = 'lies wholly below the target' if high < goal else 'lies above the target'
    if reached.verdict == 'not resolved':
      where += ', but the test is not significant after the Holm correction'
  text = (
    f'{name} is {outcome}: mean {mean:.2f}% ({mean - goal:+.2f} points from {goal}%), '
    f'95% interval of the mean {interval_text(low, high, signed=False)} {where} '
    f'({p_text(reached)}); its seeds range from {min(values):.2f}% to {max(values):.2f}%'
  )
  if p.diverged:
    text += f', and {p.diverged} of its {len(p.seeds)} seeds diverged (left out)'
  return text + '.'


def constant_alpha(r: Report, found: Table) -> None:
  """The CNN with Adam as it is usually run: constant α = 0.001; shown beside the goal."""
  constant = r.run('cnn_adam_constant')
  if constant is None or not constant.best_configurations():
    return
  p = constant.best_configurations()[0]
  epochs = constant.num_epochs
  pa = found.get(('perez_cnn', True), {}).get('adam')
  r.lines += [
    f"Beside Pérez's α/√t, the CNN with Adam as it is usually run: constant α = 0.001 (the "
    f"paper's default), dropout, {epochs} epochs, on {data(constant)}: **{acc_cell(p)}%** "
    f'test accuracy{seeds_note(p)}'
    + (f', against {acc_cell(pa.choice)}% with α/√t.' if pa else '.'),
    '',
  ]
  unjudged_goal(
    r,
    constant,
    ('perez_cnn', True),
    f'CNN with dropout, Adam, constant α = 0.001, {epochs} epoch{"s" * (epochs != 1)}',
    f'{acc_cell(p)}% ({variant(p)}{seeds_note(p)})',
  )
