"""Adam paper §6.3, Figure 3 (first three epochs) and §6.3's claim that ε dominates v̂.

Reads the run ``fig3_cnn_first3``: the paper's c64-c64-c128-1000 CNN on the data its
config names (Fashion-MNIST in ``make reproduce``: CIFAR-10 is not on this offline
machine), Adam, AdaGrad and SGD+Nesterov with and without dropout, three epochs, the
training loss every 10 iterations and the optimizer diagnostics
(:mod:`adam_jax.diagnostics`) once per epoch; and the diagnostics of ``cnn_adam_constant``
(Pérez's CNN, Adam at constant α, 20 epochs), on which §6.3 is judged once it has finished.
"""

from __future__ import annotations

from experiments import significance
from experiments.report.common import (
  Report,
  choice_name,
  configuration,
  dropout,
  epsilon,
  learning_rate,
  optimizer_name,
  protocol,
  ranking_sentence,
  seed_values,
  table,
)
from experiments.report.references import data, here_on
from experiments.report.verdicts import tested_finding, verdict
from experiments.results import Run

RUN = 'fig3_cnn_first3'
PEREZ_RUN = 'cnn_adam_constant'  # Pérez's CNN, Adam at constant α, 20 epochs, with dropout
MODELS = {RUN: "the paper's CNN", PEREZ_RUN: "Pérez's CNN"}
DOMINATED = 0.5  # a layer is "dominated by ε" when at least half its coordinates have √v̂ < ε
FEW_EPOCHS = 3  # "after a few epochs": runs shorter than this are shown, not judged


def section(r: Report) -> None:
  """The per-iteration curves, the early ranking, and the diagnostics per layer."""
  r.lines += [
    '## Figure 3, §6.3: the CNN in its first three epochs, and ε against √v̂',
    '',
    "The paper's CNN (three 5×5 conv stages c64-c64-c128 with 3×3 max-pooling, a 1,000-unit "
    'ReLU layer, dropout on the input and the dense layer) on whitened CIFAR-10 in the '
    'paper (not on this offline machine): Adam, AdaGrad and SGD+Nesterov, with and without '
    "dropout, α ∈ {0.001, 0.01}, the figure's first three epochs with the training loss "
    'every 10 iterations. The paper: "Adam and SGD both make rapid progress lowering the '
    'cost in the initial stage", and "the second moment estimate v̂_t vanishes to zeros '
    'after a few epochs and is dominated by the ε in algorithm 1". The 45-epoch panel needs '
    'CIFAR-10 and about a GPU-hour: `python -m experiments.run --config=configs/cnn_cifar.py` '
    'on a connected machine.' + here_on(r.run(RUN)),
    '',
  ]
  if not r.missing(RUN):
    _first_epochs(r, r.run(RUN))
  _diagnostics(r, [x for x in (r.run(RUN), r.run(PEREZ_RUN)) if x is not None])
  if r.run(RUN) is not None:
    r.provenance(RUN)


def _first_epochs(r: Report, run: Run) -> None:
  """Figure 3's curves, and whether Adam's cost is below the others' after its epochs."""
  r.figure(run, 'curves.png', f'Figure 3 (left) on {data(run)}: cost per iteration and epoch')
  last = run.num_epochs
  chosen = {(optimizer_name(c), dropout(c)): c for c in run.best_configurations()}
  choices = '; '.join(f'{choice_name(c)} α = {learning_rate(c):g}' for c in chosen.values())
  r.lines += [
    f'Mean training cost after epoch {last}: {ranking_sentence(run, last)}.',
    '',
    f'Chosen on the {run.summary.get("selected_by", "validation loss")} after epoch {last}'
    + (
      ' (α grown beyond the grid where a choice sat at its end: see the choices at the edge)'
      if run.summary.get('grid_extensions')
      else ''
    )
    + f': {choices}; {protocol(run)}.',
    '',
  ]
  lines = []
  for with_dropout in (True, False):
    adam, others = chosen.get(('adam', with_dropout)), ('adagrad', 'nesterov')
    if adam is None:
      continue
    ours = seed_values(run, adam, 'train', 'loss', last)
    for other in others:
      if (other, with_dropout) in chosen:
        theirs = seed_values(run, chosen[(other, with_dropout)], 'train', 'loss', last)
        claim = (
          f'Adam below {other} {"with" if with_dropout else "without"} dropout after {last} '
          'epochs (training cost)'
        )
        test = tested_finding(
          r, 'Figure 3 (first epochs), CNN', claim, significance.compare(ours, theirs, 'less')
        )
        lines.append(f'{claim}: {verdict(test)}.')
  r.lines += [' '.join(lines), ''] if lines else []


def _layers(run: Run) -> tuple[int, list[tuple[str, str, float, float, float]]] | None:
  """The last epoch with diagnostics, and per layer of each of Adam's choices there.

  Each layer: (variant, layer, share of coordinates with √v̂ < ε, median √v̂, median √v̂ / ε).
  """
  records = [x for x in run.records if x['split'] == 'optimizer' and 'eps_dominated' in x]
  if not records:
    return None
  last = max(x['epoch'] for x in records)
  layers = []
  for c in run.best_configurations():
    if optimizer_name(c, run) != 'adam':
      continue
    eps = epsilon(run, c)
    indices = set(configuration(run, c).grid_indices)
    final = [x for x in records if x['grid_index'] in indices and x['epoch'] == last]
    variant = 'dropout' if dropout(c) or run.name == PEREZ_RUN else 'no dropout'
    for param in dict.fromkeys(x['param'] for x in final):
      mine = [x for x in final if x['param'] == param]
      share = sum(x['eps_dominated'] for x in mine) / len(mine)
      median = sum(x['sqrt_v_hat_median'] for x in mine) / len(mine)
      layers.append((variant, param.removeprefix('params/'), share, median, median / eps))
  return last, layers


def _diagnostics(r: Report, runs: list[Run]) -> None:
  """§6.3's claim, layer by layer, for Adam's chosen configurations of each CNN run.

  Judged (an observation: the threshold is ours) on the 20-epoch run of Pérez's CNN when
  it has finished, else on Figure 3's first epochs, saying which.
  """
  rows, judged = [], None
  for run in runs:
    found = _layers(run)
    if found is None:
      continue
    r.figure(run, 'diagnostics.png', f'§6.3 diagnostics of {run.name}: √v̂ against ε per layer')
    last, layers = found
    for variant, param, share, median, ratio in layers:
      rows.append(
        [
          f'{MODELS[run.name]} on {data(run)}, {variant}',
          last,
          param,
          f'{100 * share:.1f}%',
          f'{median:.3g}',
          f'{ratio:.3g}',
        ]
      )
    if judged is None or run.name == PEREZ_RUN:
      judged = (run, last, [layer[2] >= DOMINATED for layer in layers])
  if not rows:
    if r.run(PEREZ_RUN) is None:
      r.lines += [
        f"§6.3's diagnostics: no run has them yet (`{PEREZ_RUN}`: {r.progress(PEREZ_RUN)}).",
        '',
      ]
    return
  r.lines += table(
    ['Adam on', 'epoch', 'layer', 'coordinates with √v̂ < ε', 'median √v̂', 'median √v̂ / ε'],
    rows,
  )
  run, last, dominated = judged
  basis = (
    f'the {last}-epoch run of {MODELS[run.name]} on {data(run)} (`{run.name}`)'
    if run.name == PEREZ_RUN
    else f"Figure 3's {last} epochs on {data(run)}, since the 20-epoch run of "
    f'{MODELS[PEREZ_RUN]} (`{PEREZ_RUN}`) is {r.progress(PEREZ_RUN)}'
  )
  held = sum(dominated)
  agrees = 'as the paper says' if held == len(dominated) else 'not as the paper says'
  enough = last >= FEW_EPOCHS
  r.finding(
    '§6.3, CNNs',
    'Adam\'s √v̂ falls below ε ("dominated by ε") after a few epochs',
    'observation',
    f'**observation** (no test) on {basis}: {agrees}, {held} of {len(dominated)} layers dominated'
    if enough
    else f'**not observed** ({basis}: shorter than {FEW_EPOCHS} epochs)',
    note=f'{agrees}, {held} of {len(dominated)} layers after {last} epochs'
    if enough
    else 'runs too short',
  )
  r.lines += [
    f'A layer counts as "dominated by ε" when at least {100 * DOMINATED:.0f}% of its '
    "coordinates have √v̂ < ε after the last epoch of its run (ε: Adam's own, unless the "
    f'config set one). Judged on {basis}. This is an observation of the runs, not a test (the '
    'threshold is ours; the paper gives none)'
    + (
      f': {held} of {len(dominated)} layers are dominated'
      + (
        "; in the others √v̂ stays orders of magnitude above ε, so ε does not set Adam's step."
        if held < len(dominated)
        else ', as the paper says.'
      )
      if enough
      else f': the run is shorter than {FEW_EPOCHS} epochs, so nothing is judged.'
    )
    + " (Not on the paper's CIFAR-10.)",
    '',
  ]
