"""A published baseline no one here produced: DeepOBS's ``fmnist_2c2d`` with Adam.

Reads the run ``fmnist_2c2d`` (DeepOBS's problem, its tuned α, several seeds) and holds it
against the test accuracy and loss of DeepOBS's own baseline runs.
"""

from __future__ import annotations

import math

from experiments import significance, stats
from experiments.report import deepobs_peer
from experiments.report.common import Report, seed_values, series, spread, table
from experiments.report.references import here_on
from experiments.report.verdicts import PUBLISHED, published_finding, verdict

RUN = 'fmnist_2c2d'
# DeepOBS's Adam baseline on fmnist_2c2d at α = 10^-3.6, after 20 epochs: the seeds found
# in deepobs/baselines/fmnist_2c2d/AdamOptimizer/...lr__2.5118864315e-04/ (seeds 45, 47).
DEEPOBS_EPOCH20 = {'accuracy': (0.9081, 0.9140), 'loss': (0.3015, 0.3107)}
DEEPOBS_SEEDS = (45, 47)
EXPERIMENT = 'DeepOBS fmnist_2c2d'


def section(r: Report) -> None:
  """Our mean ± std beside DeepOBS's runs, and whether theirs fall inside our spread."""
  r.lines += [
    "## A published baseline: DeepOBS's fmnist_2c2d with Adam",
    '',
    'DeepOBS (Schneider, Balles & Hennig, ICLR 2019): its two-conv Fashion-MNIST problem '
    '(two 5×5 conv + 2×2 max-pool stages of 32 and 64 filters, Dense 1024, Dense 10; '
    'truncated-normal σ = 0.05 kernels, biases 0.05; no regularisation; batch 128; all '
    '60,000 training images), Adam at the α DeepOBS tuned (10^−3.6 ≈ 2.51e-4, constant), '
    '20 of its 100 epochs. All of it read from their sources (`configs/fmnist_2c2d.py`). '
    "DeepOBS's numbers: the two seeds of its published baseline runs at that α that we "
    "could read (45 and 47); it used TensorFlow's Adam (ε before the bias correction)."
    + here_on(r.run(RUN)),
    '',
  ]
  if r.missing(RUN):
    return
  run = r.run(RUN)
  [c] = run.best_configurations()[:1] or [None]
  if c is None:
    return
  epoch = min(20, run.num_epochs)
  rows, tests, said = [], [], []
  for metric, scale, unit in (('accuracy', 100, '%'), ('loss', 1, '')):
    ours = seed_values(run, c, 'test', metric, epoch)
    d = stats.describe(ours)
    theirs = DEEPOBS_EPOCH20[metric]
    band = significance.prediction_interval(ours)
    for seed, t in zip(DEEPOBS_SEEDS, theirs, strict=True) if epoch == 20 and band else ():
      label = f"DeepOBS's seed {seed} test {metric} ({scale * t:.4g}{unit})"
      draw = significance.new_draw([scale * v for v in ours], scale * t)  # in the table's units
      tests.append(r.test(EXPERIMENT, f'{label} lies where our single runs do', draw))
      said.append(f'{label}, {tests[-1].difference:+.3g}{" points" * bool(unit)} from our mean: ')
    ci = d['ci95']
    rows.append(
      [
        f'test {metric}{" %" if unit else ""}, epoch {epoch}',
        spread(ours, scale),
        f'[{scale * ci[0]:.4g}, {scale * ci[1]:.4g}]' if ci else '–',
        f'[{scale * band[0]:.4g}, {scale * band[1]:.4g}]' if band else '–',
        ', '.join(f'{scale * t:.4g}' for t in theirs) if epoch == 20 else '(epoch 20 only)',
      ]
    )
  r.lines += table(
    [
      '',
      f'ours, mean ± std ({len(seed_values(run, c, "test", "loss", epoch))} seeds)',
      'ours, 95% interval of the mean',
      'ours, 95% prediction interval of a single run',
      'DeepOBS (seeds 45, 47)',
    ],
    rows,
  )
  test_loss = series(run, c, 'test', 'loss')
  lowest = min(test_loss, key=lambda e: test_loss[e]) if test_loss else None
  if tests:
    agree = published_finding(
      r,
      EXPERIMENT,
      "DeepOBS's published runs lie where our single runs do (each value against our "
      "seeds' 95% prediction interval)",
      tests,
    )
    outside = [t for t in tests if t.verdict == 'does not hold']
    r.lines += [
      "Each of DeepOBS's values is tested against our seeds as a new draw would be (the t "
      'statistic of a single new run, whose 95% range is the prediction interval above, '
      'mean ± t·std·√(1+1/n)): '
      + '; '.join(
        f'{text}{verdict(t, words=PUBLISHED)}' for text, t in zip(said, tests, strict=True)
      )
      + '. '
      + (
        '**No value is shown to lie elsewhere: our Adam is consistent with the published '
        'baseline.**'
        if agree
        else f'**{len(outside)} of {len(tests)} values lie elsewhere: our numbers differ '
        'from the published baseline** (see the setup differences above).'
      ),
      '',
    ]
  if lowest is not None and lowest < max(test_loss) and math.isfinite(test_loss[lowest]):
    r.lines += [
      f'Our mean test loss is lowest after epoch {lowest} ({test_loss[lowest]:.4f}) and '
      "rises after, as in DeepOBS's runs (lowest after epochs 11-12): the problem has no "
      'regularisation.',
      '',
    ]
  r.provenance(RUN)
  peer = deepobs_peer.load()
  if peer is not None:
    r.lines += deepobs_peer.comparison(peer, run, c)
