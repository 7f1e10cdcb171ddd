"""Wilson et al. (2017): the generalization gap of adaptive methods, and the follow-ups' fixes.

Reads the runs ``generalization`` (SGD with momentum, Adam, SWATS, ND-Adam) and
``generalization_decoupled`` (AdamW, AdamWR): each optimizer's α (and decay) chosen on the
validation accuracy, then trained again with fresh seeds (DeepOBS's protocol).
"""

from __future__ import annotations

from experiments import significance
from experiments.report.common import Report, curve, epsilon, seed_values, spread, table
from experiments.report.references import data_of, here_on
from experiments.report.verdicts import all_of, is_, tested_finding, verdict

RUNS = ('generalization', 'generalization_decoupled')
NAMES = {'momentum': 'SGD+momentum', 'adam': 'Adam', 'swats': 'SWATS', 'nd_adam': 'ND-Adam'}
FOLLOW_UPS = ('SWATS', 'AdamW', 'AdamWR', 'ND-Adam')
MARGIN = 0.5  # accuracy points: "as good as SGD with momentum"; ours, the papers give none


def name(c) -> str:
  """SGD+momentum, Adam, SWATS, ND-Adam, AdamW or AdamWR."""
  optimizer = str(c.get('optimizer.name', 'adamw'))
  if optimizer == 'adamw':
    return 'AdamWR' if c.get('optimizer.schedule') == 'warm_restarts' else 'AdamW'
  return NAMES.get(optimizer, optimizer)


def section(r: Report) -> None:
  """The chosen setting of each optimizer, its training loss and test accuracy, verdicts."""
  runs = [r.run(run_name) for run_name in RUNS]
  r.lines += [
    '## Generalization: Wilson et al. (2017) and the follow-ups that answer them',
    '',
    'Wilson, Roelofs, Stern, Srebro & Recht (NeurIPS 2017): adaptive methods reach a lower '
    'training loss than well-tuned SGD with momentum, but test no better (often worse). '
    'SWATS (switch to SGD), AdamW and AdamWR (decoupled weight decay, warm restarts) and '
    'ND-Adam (direction-preserving) each say they close that gap. Here: the MLP 784-1000-'
    "1000-10 without dropout or L2, batch 128, 15 epochs (AdamWR's "
    "periods of 1, 2, 4 and 8 epochs end at 15); each optimizer's α (AdamW's decay too) "
    'chosen on the validation accuracy, then trained again with fresh seeds. Verdicts: '
    'Welch\'s t test for the two claims about Adam; for "closes the gap", non-inferiority: '
    f'the follow-up tests no more than {MARGIN} points worse than SGD+momentum when the 95% '
    f'Welch interval of (follow-up − SGD+momentum) test accuracy lies above −{MARGIN} (a '
    'margin of ours: the follow-up papers give none).' + here_on(*runs),
    '',
  ]
  chosen = {}
  for run_name in RUNS:
    if not r.missing(run_name):
      run = r.run(run_name)
      chosen |= {name(c): (run, c) for c in run.best_configurations()}
  if not chosen:
    return
  values = {
    n: {
      (split, metric): seed_values(run, c, split, metric)
      for split, metric in (('train', 'loss'), ('test', 'loss'), ('test', 'accuracy'))
    }
    for n, (run, c) in chosen.items()
  }
  r.curves(
    'generalization.png',
    [
      ('training loss', 'mean minibatch loss (log)', _curves(chosen, 'train', 'loss')),
      ('test accuracy', '%', _curves(chosen, 'test', 'accuracy', 100)),
    ],
    'The chosen setting of each optimizer, mean ± std over its seeds',
  )
  rows = []
  for n, (run, c) in sorted(chosen.items(), key=lambda kv: -kv[1][1].metric('test', 'accuracy')):
    decay = c.get('optimizer.weight_decay')
    switched = seed_values(run, c, 'train', 'switched_at') if n == 'SWATS' else []
    rows.append(
      [
        n,
        f'{c.get("optimizer.learning_rate", run.config["optimizer"]["learning_rate"]):g}',
        f'{decay:g}' if decay is not None else '–',
        spread(values[n]['train', 'loss']),
        spread(values[n]['test', 'loss']),
        spread(values[n]['test', 'accuracy'], 100),
        str(len(values[n]['test', 'accuracy'])),
        ', '.join(str(int(s)) if s else 'never' for s in switched) or '–',
      ]
    )
  r.lines += table(
    [
      'optimizer',
      'α',
      'decay',
      'train loss',
      'test loss',
      'test acc %',
      'seeds',
      'SWATS switched (step)',
    ],
    rows,
  )
  r.lines += _verdicts(r, values, f'Wilson et al., MLP on {data_of(*runs)}')
  if 'SWATS' in chosen:
    r.lines += _swats_note(*chosen['SWATS'])
  r.provenance(*RUNS)


def _curves(chosen, split: str, metric: str, scale: float = 1.0) -> dict[str, tuple]:
  return {n: curve(run, c, split, metric, scale) for n, (run, c) in sorted(chosen.items())}


def _verdicts(r: Report, values, experiment: str) -> list[str]:
  sgd, adam = values.get('SGD+momentum'), values.get('Adam')
  if sgd is None:
    return ['(SGD+momentum has not run: no verdicts.)', '']
  lines = []
  if adam is not None:
    lower = tested_finding(
      r,
      experiment,
      'Adam reaches a lower training loss than tuned SGD+momentum',
      significance.compare(adam['train', 'loss'], sgd['train', 'loss'], 'less'),
    )
    worse = tested_finding(
      r,
      experiment,
      "Adam's test accuracy is lower than tuned SGD+momentum's",
      significance.compare(adam['test', 'accuracy'], sgd['test', 'accuracy'], 'less'),
    )
    lines.append(
      f"Adam's training loss is lower than SGD+momentum's: {verdict(lower)}; its test accuracy "
      f'is lower: {verdict(worse)} (difference {100 * worse.difference:+.2f} points). '
      f"Wilson et al.'s gap {is_(all_of(lower, worse))} on this problem."
    )
  for n in FOLLOW_UPS:
    if n in values:
      points = [100 * a for a in values[n]['test', 'accuracy']]  # in points, as the margin
      test = tested_finding(
        r,
        experiment,
        f'{n} tests no more than {MARGIN} points worse than SGD+momentum '
        '(non-inferiority; the margin is ours)',
        significance.non_inferior(points, [100 * a for a in sgd['test', 'accuracy']], MARGIN),
      )
      lines.append(
        f'{n} − SGD+momentum, test accuracy: {test.difference:+.2f} points; no more than '
        f'{MARGIN} points worse (the lower end of the interval above −{MARGIN}): '
        f'{verdict(test)}.'
      )
  return [' '.join(lines), ''] if lines else []


def _swats_note(run, c) -> list[str]:
  """Where SWATS switched to SGD, over every grid point it ran (tuning and reruns)."""
  steps = {
    r['grid_index']: r['switched_at']
    for r in run.records
    if r['split'] == 'train' and 'switched_at' in r
  }
  if not steps:
    return []
  switched = sorted(int(s) for s in steps.values() if s)
  eps = epsilon(run, c)
  if not switched:
    return [
      f'SWATS never switched to SGD in any of its {len(steps)} runs (every α, every seed): '
      f'with its ε = {eps:g} as the tolerance of the switch test '
      '|λ_k/(1−β2^k) − γ_k| < ε, the projected step never settled that closely over the '
      'whole network, so here SWATS is Adam with ε before the bias correction, and its row '
      "is Adam's in all but that ε.",
      '',
    ]
  return [
    f'SWATS switched to SGD in {len(switched)} of its {len(steps)} runs, at steps '
    f'{switched[0]}–{switched[-1]}.',
    '',
  ]
