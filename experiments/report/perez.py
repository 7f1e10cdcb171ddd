"""Pérez (seed 000), Table 1 (§7.1): Adam against AdaMax under α/√t, and the accuracy goals.

Reads the runs ``perez_lr``, ``perez_mlp``, ``perez_cnn_screen`` (the CNN's α screen),
``perez_cnn_adam``, ``perez_cnn_adamax`` (the CNN at the α each optimizer chose) and
``cnn_adam_constant`` (the CNN with Adam at constant α = 0.001). Every choice is made on
the validation accuracy (:func:`experiments.select.best`).
"""

from __future__ import annotations

from experiments.report import perez_goals
from experiments.report.common import (
  MODEL_NAMES,
  PEREZ_MNIST,
  Report,
  acc,
  acc_cell,
  best_curves,
  curve,
  dropout,
  grid,
  model_name,
  optimizer_name,
  protocol,
  seeds_note,
  table,
  variant,
)
from experiments.report.perez_goals import Chosen, Table, best

TABLE_RUNS = ('perez_lr', 'perez_mlp', 'perez_cnn_adam', 'perez_cnn_adamax')
RUNS = (
  'perez_lr',
  'perez_mlp',
  'perez_cnn_screen',
  'perez_cnn_adam',
  'perez_cnn_adamax',
  'cnn_adam_constant',
)


def chosen_table(r: Report) -> Table:
  """Each run's chosen points, by (model, dropout) and optimizer.

  For logistic regression, input dropout or not is one more choice made on the validation
  split (of the seeds the choices were made on: :func:`.perez_goals.best`): its two
  variants share one row.
  """
  candidates: dict[tuple[str, bool | None], dict[str, list[Chosen]]] = {}
  for name in TABLE_RUNS:
    run = r.run(name)
    if run is None:
      continue
    for p in run.best_configurations():
      model = model_name(p, run)
      key = (model, None if model == 'logistic_regression' else dropout(p))
      candidates.setdefault(key, {}).setdefault(optimizer_name(p), []).append(Chosen(p, run))
  out: Table = {}
  for key, row in candidates.items():
    for opt, cands in row.items():
      c = best(cands)
      if c is not None:
        out.setdefault(key, {})[opt] = c
  return out


def section(r: Report) -> None:
  """Pérez's table with ours beside it, the curves, the gap, and the accuracy goals."""
  r.lines += [
    '## Pérez, Table 1: Adam against AdaMax (§7.1), α/√t',
    '',
    'Pérez: test accuracy after 20 epochs, α_t = α/√t, minibatch 128, β1 = 0.9, β2 = 0.999. '
    'Pérez gives no α; ours is chosen per optimizer and model on the validation accuracy '
    '(the CNN, slow here, has its α screened over a few epochs and then trains at the α each '
    "optimizer chose; the runs' epochs and grids are listed below the table). Ours on "
    "**Fashion-MNIST**; Pérez's "
    'numbers are MNIST, a much easier dataset, so compare the Adam–AdaMax gap, not the '
    "levels. The CNN is Pérez's two-stage net with our choice of widths (32, 64 filters, "
    '1,024 hidden units; Pérez gives none); its no-dropout column is not run (CPU budget).',
    '',
  ]
  found = chosen_table(r)
  if not found:
    r.missing('perez_lr')
    return
  _table(r, found)
  _curves(r, found)
  gaps = [
    (abs(acc(row['adam'].choice) - acc(row['adamax'].choice)), key)
    for key, row in found.items()
    if 'adam' in row and 'adamax' in row
  ]
  if gaps:
    worst = max(gaps)
    seeds = max(len(c.choice.seeds) for row in found.values() for c in row.values())
    r.lines += [
      f'Adam and AdaMax mean test accuracies differ by at most {worst[0]:.2f} points (on '
      f'{MODEL_NAMES[worst[1][0]]}); Pérez found at most 0.31 points on MNIST. Each cell is '
      f'the mean ± std over {seeds} seed{"s" * (seeds != 1)}; the goals table below tests '
      '"within a point" with the interval of each difference.',
      '',
    ]
  perez_goals.goals(r, found)
  perez_goals.constant_alpha(r, found)
  perez_goals.screen_note(r, found)
  perez_goals.cnn_goal_note(r)
  r.provenance(*RUNS)


def _table(r: Report, found: Table) -> None:
  rows = []
  for key, ref in PEREZ_MNIST.items():
    if key not in found:
      continue
    model, with_dropout = key
    label = MODEL_NAMES[model] + (
      '' if with_dropout is None else ' + dropout' if with_dropout else ''
    )
    cells = [label]
    for opt in ('adam', 'adamax'):
      c = found[key].get(opt)
      cells += [
        f'{acc_cell(c.choice)} ({variant(c.choice, with_dropout=with_dropout is None)})'
        if c
        else '–',
        f'{ref[opt]:.2f}',
      ]
    rows.append(cells)
  r.lines += table(
    ['model', 'Adam, ours (FMNIST)', 'Adam, Pérez (MNIST)', 'AdaMax, ours', 'AdaMax, Pérez'],
    rows,
  )
  setup = [
    f'{name}: {run.num_epochs} epochs, α ∈ {grid(run)}'
    + (f', {protocol(run)}' if run.summary.get('rerun_programs') else '')
    for name in RUNS[:-1]
    if (run := r.run(name)) is not None
  ]
  screen = r.run('perez_cnn_screen')
  screened = set(screen.summary['seeds']) if screen else set()
  for name in ('perez_cnn_adam', 'perez_cnn_adamax'):
    if (run := r.run(name)) is not None and (shared := screened & set(run.summary['seeds'])):
      setup.append(
        f"{name}'s seed {', '.join(map(str, sorted(shared)))} is also the screen's: its first "
        f'{screen.num_epochs} epochs at the chosen α are the run that chose it (a small '
        'optimistic bias in one of its seeds)'
      )
  r.lines += ['Runs: ' + '; '.join(setup) + '.', '']


def _curves(r: Report, found: Table) -> None:
  panels = []
  constant = r.run('cnn_adam_constant')
  for model in MODEL_NAMES:
    curves = {}
    for key, row in found.items():
      if key[0] != model:
        continue
      for opt, c in sorted(row.items()):
        label = f'{opt} ({variant(c.choice)}){seeds_note(c.choice)}'
        curves[label] = curve(c.run, c.choice, 'test', 'accuracy', 100)
    if model == 'perez_cnn' and constant is not None:
      for label, values in best_curves(constant, 'test', 'accuracy', 100).items():
        curves[label.replace('(', '(constant ', 1)] = values
    if curves:
      panels.append((MODEL_NAMES[model], 'test accuracy %', curves))
  if panels:
    r.curves('perez.png', panels, 'Pérez table as curves: test accuracy per epoch')
