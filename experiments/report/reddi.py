"""Reddi et al. (2018), §3: Adam fails on a convex problem where AMSGrad converges.

Reads the run ``reddi`` (x_t and R_t/t per "epoch" of both problems, and its figure).
"""

from __future__ import annotations

from experiments.report.common import Report, optimizer_name, table


def section(r: Report) -> None:
  """The final iterate and average regret of Adam and AMSGrad, and whether the paper holds."""
  r.lines += [
    '## Reddi et al.: Adam fails on a convex problem, AMSGrad does not',
    '',
    'f_t(x) = 1010·x once every 101 steps (online) or with probability 0.01 '
    '(stochastic), −10·x otherwise, on [−1, 1]; the optimum is x = −1. β1 = 0.9, '
    'β2 = 0.99, α_t = 0.5/√t. Reddi et al. prove Adam converges to x = +1 (the worst '
    'point) with non-vanishing average regret, while AMSGrad reaches x = −1 with R_t/t → 0.',
    '',
  ]
  if r.missing('reddi'):
    return
  run = r.run('reddi')
  r.figure(run, 'reddi.png', 'Reddi counterexample: x_t and R_t/t')
  rows, final = [], {}
  for p in run.points:
    x = run.series(p.grid_index, 'train', 'x')
    regret = run.series(p.grid_index, 'train', 'loss')
    last = max(x)
    problem = str(p.get('dataset.name', run.config['dataset']['name'])).replace('reddi_', '')
    final[(optimizer_name(p), problem)] = (x[last], regret[last])
    steps = last * run.config['batch_size']
    rows.append(
      [optimizer_name(p), problem, f'{steps:,}', f'{x[last]:+.4f}', f'{regret[last]:.4f}']
    )
  r.lines += table(['optimizer', 'problem', 'steps T', 'x_T', 'R_T / T'], rows)
  verdicts = []
  for problem in ('online', 'stochastic'):
    adam, ams = final.get(('adam', problem)), final.get(('amsgrad', problem))
    if adam is None or ams is None:
      continue
    if adam[0] > 0 > ams[0] and ams[1] < adam[1]:
      agrees = 'as the paper says'
      verdict = 'as the paper says.'
    elif adam[0] > ams[0] and ams[1] < adam[1]:
      agrees = 'in part as the paper says'
      verdict = (
        'in part as the paper says at this T: AMSGrad is moving towards −1 with the lower '
        'regret, but has not crossed 0 yet.'
      )
    else:
      agrees = 'not as the paper says'
      verdict = 'not as the paper says.'
    r.finding(
      'Reddi et al.',
      f'{problem}: Adam converges to the wrong x, AMSGrad does not',
      'observation',
      f'**observation** (one run, no test): {agrees}',
      note=agrees,
    )
    verdicts.append(
      f'{problem}: Adam ends at x = {adam[0]:+.3f} with R_T/T = {adam[1]:.3f}, AMSGrad at '
      f'x = {ams[0]:+.3f} with R_T/T = {ams[1]:.3f}: **observed** {verdict}'
    )
  r.lines += ['- ' + v for v in verdicts] + ['']
  if verdicts:
    r.lines += [
      'An observation of one run per problem, not a test: the online problem has no '
      'randomness, and the stochastic one is a single draw.',
      '',
    ]
  r.provenance('reddi')
