"""Reddi et al.'s counterexample as an experiment: x_t and average regret, Adam vs AMSGrad.

One program per (optimizer, problem) of the sweep, each ``num_epochs × batch_size`` steps
of :func:`adam_jax.problems.reddi_online`. ``metrics.jsonl`` gets x_t and R_t/t (as
``loss``) once per "epoch"; ``reddi_curves.npz`` keeps both at 5,000 log-spaced steps for
the figure.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np
from absl import logging

from adam_jax.problems import reddi_online
from experiments import optimizers, programs, select
from experiments.point import Point
from experiments.programs import RunError
from experiments.rundir import RunDir

PROBLEMS = ('reddi_online', 'reddi_stochastic')
CURVES = 'reddi_curves.npz'


def run(config, workdir: str, fresh: bool = False) -> dict[str, Any]:
  """Runs every (optimizer, problem) of the sweep; x_t and R_t/t to metrics and curves.

  It takes seconds, so a rerun recomputes everything (metrics.jsonl is rewritten).
  """
  start = time.time()
  rundir = RunDir(workdir, config, fresh)
  rundir.keep_records([])
  num_steps = config.num_epochs * config.batch_size
  points, curves = [], {}
  t = np.unique(np.geomspace(1, num_steps, 5000).astype(int))
  grid = [
    (program, program.first_grid_index + i, values)
    for program in programs.expand(config)
    for i, values in enumerate(program.points)
  ]
  for program, grid_index, values in grid:  # seconds each: one after another
    pconfig = programs.program_config(config, {**program.structural, **values})
    problem = pconfig.dataset.name
    if problem not in PROBLEMS:
      raise RunError(f'dataset.name for reddi must be one of {PROBLEMS}, got {problem!r}')
    opt = optimizers.config_factory(pconfig)(optimizers.point_hparams(pconfig))
    out = reddi_online(
      opt,
      num_steps,
      stochastic=problem == 'reddi_stochastic',
      key=jax.random.PRNGKey(pconfig.seed),
    )
    x, regret = np.asarray(out.x), np.asarray(out.avg_regret)
    point = Point(grid_index, program.index, program.structural, values)
    records = []
    for epoch in range(1, config.num_epochs + 1):
      step = epoch * config.batch_size
      record = point.record(
        step=step, epoch=epoch, split='train', loss=float(regret[step - 1]), x=float(x[step - 1])
      )
      point.update(record)  # loss: the average regret R_t/t
      records.append(record)
    rundir.write_records(records)
    points.append(point)
    curves[f'x_{point.grid_index}'] = x[t - 1]
    curves[f'regret_{point.grid_index}'] = regret[t - 1]
    logging.info('%s: x_T = %.4f, R_T/T = %.4f', point.label, x[-1], regret[-1])
  rundir.save_arrays(CURVES, t=t, **curves)
  summary = select.summarize(
    points, config.num_epochs, 'loss', time.time() - start, default_seed=config.seed
  )
  rundir.finish(summary)
  return summary
