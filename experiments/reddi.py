"""Reddi et al.'s counterexample as an experiment: x_t and average regret, Adam vs AMSGrad."""

from __future__ import annotations

import os
import time
from typing import Any

import jax
import matplotlib
import numpy as np
from absl import logging

from adam_jax import sweep as sweep_lib
from adam_jax import train as train_lib
from adam_jax.problems import reddi_online
from experiments import outputs, runner

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

PROBLEMS = ('reddi_online', 'reddi_stochastic')


def run(config, workdir: str, fresh: bool = False) -> dict[str, Any]:
  """Runs every (optimizer, problem) of the sweep; x_t and R_t/t to metrics and plots.

  It takes seconds, so a rerun recomputes everything (metrics.jsonl is rewritten).
  """
  start = time.time()
  writer = outputs.Writer(workdir, config, fresh)
  writer.keep_records([])
  num_steps = config.num_epochs * config.batch_size
  curves, results = {}, []
  for program in sweep_lib.expand(sweep_lib.flatten(config.sweep.to_dict())):
    pconfig = runner.program_config(config, program.structural)
    problem = pconfig.dataset.name
    if problem not in PROBLEMS:
      raise runner.RunError(f'dataset.name for reddi must be one of {PROBLEMS}, got {problem!r}')
    opt = train_lib.make_optimizer(
      pconfig.optimizer.name, runner.optimizer_kwargs(pconfig), pconfig.optimizer.schedule
    )
    out = reddi_online(
      opt,
      num_steps,
      stochastic=problem == 'reddi_stochastic',
      key=jax.random.PRNGKey(pconfig.seed),
    )
    x, regret = np.asarray(out.x), np.asarray(out.avg_regret)
    curves[program.label] = (x, regret)
    result = runner.PointResult(program.first_grid_index, program.label, {})
    records = []
    for epoch in range(1, config.num_epochs + 1):
      t = epoch * config.batch_size
      record = {
        'step': t,
        'epoch': epoch,
        'split': 'train',
        'loss': float(regret[t - 1]),  # the average regret R_t/t
        'x': float(x[t - 1]),
        'grid_index': result.grid_index,
        'program': result.program,
        'hparams': {},
      }
      records.append(record)
    result.history = records
    writer.write_records(records)
    results.append(result)
    logging.info('%s: x_T = %.4f, R_T/T = %.4f', program.label, x[-1], regret[-1])
  summary = outputs.summarize(results, config, time.time() - start)
  summary['final_x'] = {label: float(c[0][-1]) for label, c in curves.items()}
  outputs.dump_json(summary, os.path.join(workdir, 'summary.json'))
  path = plot(curves, os.path.join(workdir, 'reddi.png'))
  for label, (x, regret) in curves.items():
    print(f'{label:55s} x_T = {x[-1]:+.4f}   R_T/T = {regret[-1]:.4f}')
  logging.info('plot: %s', path)
  return summary


def plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str) -> str:
  """Reddi et al. Figure 1: x_t (left) and average regret R_t/t (right), log-x."""
  fig, (ax_x, ax_r) = plt.subplots(1, 2, figsize=(12, 4.5))
  for label, (x, regret) in curves.items():
    # Log-spaced steps: the axes are logarithmic, and millions of points would draw slowly.
    t = np.unique(np.geomspace(1, len(x), 5000).astype(int))
    style = '--' if 'stochastic' in label else '-'
    parts = sweep_lib.parse_label(label)
    short = ', '.join(v.replace('reddi_', '') for v in parts.values()) or label
    ax_x.plot(t, x[t - 1], style, label=short, lw=1)
    ax_r.plot(t, regret[t - 1], style, label=short, lw=1)
  ax_x.set(xscale='log', xlabel='t', ylabel='x_t', title='iterate (optimum x = −1)')
  ax_r.set(xscale='log', yscale='log', xlabel='t', ylabel='R_t / t', title='average regret')
  for ax in (ax_x, ax_r):
    ax.grid(alpha=0.3)
  ax_x.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path
