"""Adam paper §6.2, Figure 2: multilayer networks, (a) with dropout, (b) deterministic with L2.

Reads the runs ``fig2a_mlp_dropout`` (one program per optimizer, α chosen on the validation
loss) and ``fig2b_mlp_l2`` (Adam at each α; also the MLP's constant-α accuracy goal).
"""

from __future__ import annotations

import math

from experiments import select, significance
from experiments.report.common import (
  Report,
  acc,
  acc_cell,
  best_curves,
  curve,
  curve_rows,
  epsilons,
  grid,
  learning_rate,
  optimizer_name,
  protocol,
  ranking_sentence,
  seed_values,
  seeds_note,
  series,
  table,
  variant,
)
from experiments.report.references import data, here_on, unjudged_goal
from experiments.report.verdicts import all_of, is_, parts, speed_sentence, verdict
from experiments.results import Run


def section(r: Report) -> None:
  """Both panels of Figure 2."""
  r.lines += [
    '## Figure 2, §6.2: multilayer networks',
    '',
    'MLP 784-1000-1000-10 (ReLU), minibatch 128, on MNIST in the paper. (a) with dropout '
    '(input 0.2, hidden 0.5): Adam against AdaGrad, RMSProp, AdaDelta and SGD+Nesterov, each '
    'with its α from a common grid chosen on the validation loss. The paper: "Adam '
    'shows better convergence than other methods." (b) deterministic, L2 weight decay '
    "(λ = 1e-6): Adam alone (SFO, the paper's comparison, is out of scope)."
    + here_on(r.run('fig2a_mlp_dropout'), r.run('fig2b_mlp_l2')),
    '',
    '### (a) dropout',
    '',
  ]
  if not r.missing('fig2a_mlp_dropout'):
    _dropout(r)
  r.lines += ['### (b) deterministic, L2 weight decay', '']
  if not r.missing('fig2b_mlp_l2'):
    _l2(r)


def _dropout(r: Report) -> None:
  run = r.run('fig2a_mlp_dropout')
  r.lines += _epsilons(run)
  r.curves(
    'fig2a_mlp_dropout.png',
    [
      ('training cost', 'mean minibatch loss (log)', best_curves(run, 'train', 'loss')),
      ('test accuracy', '%', best_curves(run, 'test', 'accuracy', 100)),
    ],
    f'Figure 2a on {data(run)}: the chosen α of each optimizer',
  )
  last = run.num_epochs
  r.lines += [f'This run: {last} epochs, α ∈ {grid(run)}.', '']
  r.lines += table(
    ['optimizer', 'α', *(f'train cost, epoch {e}' for e in (1, last)), 'val acc %', 'test acc %'],
    curve_rows(run, (1, last)),
  )
  best = {optimizer_name(c): c for c in run.best_configurations()}
  per_point = run.train_wall_time_s / (run.num_epochs * len(run.points))
  finding = f'Mean training cost after {last} epochs: {ranking_sentence(run, last)}.'
  if 'adam' in best and len(best) > 1:
    adam = seed_values(run, best['adam'], 'train', 'loss', last)
    tests = {
      name: r.test(
        'Figure 2a, MLP with dropout',
        f"Adam's training cost after {last} epochs below {name}'s",
        significance.compare(adam, seed_values(run, c, 'train', 'loss', last), 'less'),
      )
      for name, c in best.items()
      if name != 'adam'
    }
    overall = all_of(*tests.values())
    finding = (
      f'Mean training cost after {last} epochs (best α of each): {ranking_sentence(run, last)}. '
      'Adam lower than '
      + '; '.join(f'{name}: {verdict(t)}' for name, t in tests.items())
      + f". The paper's finding (Adam converges best) {is_(overall)}"
      + (' at these seeds.' if overall == 'not resolved' else '.')
    )
    slowest = max(series(run, c, 'train', 'loss').get(last, math.inf) for c in best.values())
    if math.isfinite(slowest):
      finding += ' ' + speed_sentence(run, best, slowest, 'the highest final mean')
    r.finding(
      'Figure 2a, MLP with dropout',
      'Adam has the lowest training cost of the optimizers (below each of the others)',
      overall,
      f'**{overall}**: ' + parts(list(tests.values())),
      list(tests.values()),
    )
  r.lines += [
    finding + f' The runs are {last} epochs ({per_point:.1f} s per epoch per grid point in '
    f"this run), so this is the early part of the paper's curves; {protocol(run)}.",
    '',
  ]
  r.provenance('fig2a_mlp_dropout')


def _epsilons(run: Run) -> list[str]:
  """The ε each optimizer ran with (a run at one ε for all: what that does to AdaDelta)."""
  eps = run.config['optimizer'].get('eps')
  if eps and any(optimizer_name(p, run) == 'adadelta' for p in run.points):
    return [
      f"Every optimizer that has an ε runs with ε = {eps:g} (the paper's Adam ε). AdaDelta's "
      f'own default is 1e-6 (Zeiler), and its steps scale with √ε: here they start about '
      f'{(1e-6 / eps) ** 0.5:.0f}× smaller, which the α grid only partly makes up for.',
      '',
    ]
  return [text, ''] if (text := epsilons(run)) else []


def _l2(r: Report) -> None:
  run = r.run('fig2b_mlp_l2')
  every = {f'adam ({variant(c)})': curve(run, c, 'train', 'loss') for c in run.configurations}
  r.curves(
    'fig2b_mlp_l2.png',
    [('training cost', 'mean minibatch loss (log)', every)],
    f'Figure 2b on {data(run)}: Adam at each α',
  )
  last = run.num_epochs
  rows = []
  for p in run.configurations:
    cost = series(run, p, 'train', 'loss')
    rows.append(
      [
        learning_rate(p),
        cost.get(1, math.nan),
        cost.get(last, math.nan),
        acc(p, 'validation'),
        acc(p),
      ]
    )
  r.lines += table(
    ['Adam α', 'train cost, epoch 1', f'epoch {last}', 'val acc %', 'test acc %'], rows
  )
  best = run.best_configurations()
  # The goals are accuracies: α chosen on the validation accuracy, as in the Pérez runs.
  p = select.best(run.configurations, 'accuracy', 'validation')
  if not best or p is None:
    r.provenance('fig2b_mlp_l2')
    return
  by_loss = best[0]  # the figure's own choice (Adam as usually run: constant α)
  r.lines += [
    f"Chosen on the validation loss (the figure's protocol): α = "
    f'{learning_rate(by_loss):g}, {acc(by_loss):.2f}% test accuracy '
    f"after {last} epochs; on the validation accuracy (the accuracy goals' protocol): "
    f'α = {learning_rate(p):g}, {acc(p):.2f}%.',
    '',
  ]
  unjudged_goal(  # deterministic: the goal and reference of the MLP without dropout
    r,
    run,
    ('mlp', False),
    f'MLP without dropout, Adam, constant α (Figure 2b run, L2), {last} epoch{"s" * (last != 1)}',
    f'{acc_cell(p)}% (α={learning_rate(p):g}{seeds_note(p)})',
  )
  r.provenance('fig2b_mlp_l2')
