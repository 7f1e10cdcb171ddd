"""Pérez (seed 000), Table 1 (§7.1): Adam against AdaMax under α/√t, cell by cell.

Reads the runs ``perez_lr``, ``perez_mlp``, ``perez_cnn_screen`` (the CNN's α screen),
``perez_cnn_adam``, ``perez_cnn_adamax`` (the CNN with and without dropout at the α each
optimizer chose) and ``cnn_adam_constant`` (the CNN with Adam at constant α = 0.001).
Every choice is made on the validation accuracy (:func:`experiments.select.best`). On
MNIST each of Pérez's numbers is tested against where our single runs fall; his
conclusions about AdaMax (:mod:`.perez_claims`) and the accuracy goals
(:mod:`.perez_goals`) follow the table.
"""

from __future__ import annotations

from experiments import select, significance, stats
from experiments.report import perez_claims, perez_goals
from experiments.report.common import (
  Report,
  acc_cell,
  best_curves,
  curve,
  dropout,
  epsilon,
  grid,
  model_name,
  optimizer_name,
  protocol,
  seed_values,
  seeds_note,
  table,
  variant,
)
from experiments.report.perez_goals import Chosen, Table, best
from experiments.report.references import (
  CELLS,
  MODEL_NAMES,
  PEREZ_MNIST,
  cell_name,
  data_key,
  data_of,
  here_on,
)
from experiments.report.verdicts import PUBLISHED, interval_text, p_text, published_finding

EXPERIMENT = 'Pérez, Table 1'
OPTIMIZERS = {'adam': 'Adam', 'adamax': 'AdaMax'}
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
  """Each run's chosen points, by cell (model, dropout) and optimizer.

  For logistic regression, input dropout or not is one more choice made on the validation
  split (of the seeds the choices were made on: :func:`.perez_goals.best`): its two
  variants share one cell, as in Pérez's table.
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
  """Pérez's table beside ours, the curves, his conclusions tested, and the accuracy goals."""
  found = chosen_table(r)
  runs = [r.run(name) for name in RUNS]
  eps = {
    OPTIMIZERS[opt]: epsilon(c.run, c.choice)
    for row in found.values()
    for opt, c in sorted(row.items())
    if opt in OPTIMIZERS
  }
  other = {data_key(c.run) for row in found.values() for c in row.values()} - {'mnist'}
  r.lines += [
    '## Pérez, Table 1: Adam against AdaMax (§7.1), α/√t',
    '',
    'Pérez: MNIST test accuracy after 20 epochs, α_t = α/√t, minibatch 128, β1 = 0.9, '
    'β2 = 0.999, ε = 1e-8 for Adam (AdaMax has none). Pérez gives no α; ours is chosen per '
    'optimizer and cell on the validation accuracy (the CNN, slow here, has its α screened '
    'over a few epochs on seeds of its own, then trains at the α each optimizer chose, with '
    "and without dropout; the runs' epochs and grids are listed below the table). The CNN "
    "is Pérez's two-stage net with our choice of widths (32, 64 filters, 1,024 hidden "
    'units; Pérez gives none).'
    + here_on(*runs)
    + (
      ' ε: ' + ', '.join(f'{k} {v:g}' for k, v in eps.items() if v is not None) + '.' if eps else ''
    )
    + (
      " Pérez's numbers are MNIST: on other data compare the Adam–AdaMax gap, not the "
      'levels, and his numbers are not tested against ours.'
      if other
      else ''
    ),
    '',
  ]
  if not found:
    r.missing('perez_lr')
    return
  _table(r, found)
  _curves(r, found)
  perez_claims.claims(r, found)
  perez_goals.goals(r, found)
  perez_goals.constant_alpha(r, found)
  r.provenance(*RUNS)


def _table(r: Report, found: Table) -> None:
  """Cell by cell: ours (mean ± std, intervals) beside Pérez's, his tested as a new draw."""
  rows, tests = [], []
  for cell in CELLS:
    for opt, label in OPTIMIZERS.items():
      c = found.get(cell, {}).get(opt)
      if c is None:
        continue
      ours = [100 * v for v in seed_values(c.run, c.choice, 'test', 'accuracy')]
      ci, band = stats.describe(ours)['ci95'], significance.prediction_interval(ours)
      his = PEREZ_MNIST[cell][opt]
      against = f'– (ours on {data_of(c.run)})'
      if data_key(c.run) == 'mnist':
        test = r.test(
          EXPERIMENT,
          f"Pérez's {cell_name(cell)}, {label} ({his:.2f}%) lies where our single runs do",
          significance.new_draw(ours, his),
        )
        tests.append(test)
        against = (
          f'**{PUBLISHED[test.verdict]}** (test {test.number}: {p_text(test)})'
          if test.tested
          else 'no test (fewer than two seeds, or no spread)'
        )
      rows.append(
        [
          cell_name(cell),
          label,
          f'{acc_cell(c.choice)} ({variant(c.choice, cell[1] is None)}{seeds_note(c.choice)})',
          interval_text(*ci, signed=False) if ci else '–',
          interval_text(*band, signed=False) if band else '–',
          f'{his:.2f}',
          against,
        ]
      )
  r.lines += table(
    [
      'cell',
      'optimizer',
      'ours: test acc % (mean ± std)',
      '95% interval of the mean',
      '95% of single runs',
      'Pérez',
      "Pérez's number against our runs",
    ],
    rows,
  )
  if tests:
    agree = published_finding(
      r,
      EXPERIMENT,
      "Pérez's numbers lie where our single runs do (each against our seeds' 95% prediction "
      'interval)',
      tests,
    )
    outside = sum(t.verdict == 'does not hold' for t in tests)
    r.lines += [
      "Each of Pérez's numbers is tested as a new draw of ours would be (the t statistic of "
      'a single new run: significant exactly when it lies outside the 95% prediction '
      'interval, mean ± t·std·√(1+1/n)): '
      + (
        f'**none of his {len(tests)} numbers is shown to lie elsewhere.**'
        if agree
        else f'**{outside} of his {len(tests)} numbers {"lies" if outside == 1 else "lie"} '
        'elsewhere** (after the Holm correction).'
      ),
      '',
    ]
  r.lines += ['Runs: ' + '; '.join(_setup(r)) + '.', '']


def _setup(r: Report) -> list[str]:
  """Each run's epochs, α grid and protocol; the α the CNN screen chose for each optimizer."""
  setup = [
    f'{name}: {run.num_epochs} epochs, α ∈ {grid(run)}'
    + (f', {protocol(run)}' if run.summary.get('rerun_programs') else '')
    for name in RUNS[:-1]
    if (run := r.run(name)) is not None
  ]
  screen = r.run('perez_cnn_screen')
  if screen is None:
    return setup
  chosen = []
  for opt, label in OPTIMIZERS.items():
    try:  # as experiments.reproduce chooses it
      chosen.append(f'α = {select.chosen_learning_rate(screen.configurations, opt):g} for {label}')
    except RuntimeError:
      chosen.append(f'no α for {label} (no finite point)')
  setup.append(
    f'the screen ({screen.num_epochs} epochs, seeds '
    f'{", ".join(map(str, screen.summary["seeds"]))}) chose {", ".join(chosen)} on the mean '
    'validation accuracy'
  )
  for name in ('perez_cnn_adam', 'perez_cnn_adamax'):
    run = r.run(name)
    if run is not None and (shared := set(screen.summary['seeds']) & set(run.summary['seeds'])):
      setup.append(
        f"{name}'s seed {', '.join(map(str, sorted(shared)))} is also the screen's: its first "
        f'{screen.num_epochs} epochs at the chosen α are the run that chose it (a small '
        'optimistic bias in one of its seeds)'
      )
  return setup


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
    data = data_of(*(c.run for row in found.values() for c in row.values()))
    r.curves('perez.png', panels, f'Pérez table as curves on {data}: test accuracy per epoch')
