"""The benchmark's suite: each problem's ``experiments.run`` step, and what its run gave.

The command line is :mod:`experiments.benchmark`; the problems and their budgets are
``configs/benchmark.py``; the records and the report, :mod:`experiments.baselines` and
:mod:`experiments.report.benchmark`.
"""

from __future__ import annotations

import os
from typing import Any

from configs import benchmark as problems_config
from experiments import baselines
from experiments.report.benchmark import Problem
from experiments.results import Run
from experiments.steps import Step


def momentum_key(optimizer: str, budget: str) -> str | None:
  """The momentum the full budget searches (1−β1 or 1−momentum), if the optimizer has one."""
  if budget != 'full':
    return None
  from adam_jax.optimizers import optimizer_hparams  # noqa: PLC0415

  try:
    taken = optimizer_hparams(optimizer)
  except ValueError:  # not an optimizer: validation says so
    return None
  return next((k for k in problems_config.MOMENTUM_KEYS if k in taken), None)


def steps(
  optimizer: str, budget: str, names: list[str], seeds: int | None = None, sets: list[str] = ()
) -> list[Step]:
  """The ``experiments.run`` of each problem, as :mod:`experiments.steps` runs them.

  Args:
    optimizer: The optimizer's name.
    budget: 'quick' or 'full' (``quick`` is added to the config's arguments by
      :func:`experiments.steps.command`).
    names: The problems.
    seeds: Fresh seeds of the chosen point (None: the budget's).
    sets: ``PATH=VALUE`` settings given to every problem as ``--config.PATH=VALUE``.
  """
  key = momentum_key(optimizer, budget)
  args = [f'--config.optimizer.name={optimizer}']
  args += [f'--config.rerun_seeds={seeds}'] if seeds is not None else []
  args += [f'--config.{setting}' for setting in sets]
  config_args = ',' + key if key else ''
  return [
    Step(name, f'configs/benchmark.py:{name}{config_args}', args=tuple(args)) for name in names
  ]


def check(optimizer: str, step: Step, smoke: bool = False) -> str | None:
  """Why a problem's config is invalid with ``optimizer`` (None: it is valid)."""
  from experiments import validate  # noqa: PLC0415

  arg = step.config.partition(':')[2] + (',smoke' if smoke else '')
  try:
    config = problems_config.get_config(arg)
    config.optimizer.name = optimizer
    validate.validate(config)
  except ValueError as e:  # validate.ConfigError is one
    return str(e)
  return None


def problem(
  step: Step,
  optimizer: str,
  runs: str,
  command: str | None,
  baselines_dir: str,
  budget: str,
  status: dict[str, Any] | None = None,
) -> Problem:
  """The report's :class:`experiments.report.benchmark.Problem` of one problem.

  Args:
    step: The problem's step (its name is its workdir under ``runs``).
    optimizer: The optimizer's name (its own baseline, if any, is left out).
    runs: The benchmark's directory.
    command: The step's command line.
    baselines_dir: Where the baselines are (``results/baselines``).
    budget: The budget's folder of baselines ('quick', 'full', 'quick_smoke').
    status: :func:`experiments.steps.run_one`'s status of the step, if it ran now (when
      it failed, what an earlier run left in its workdir is not reported).
  """
  name = step.name
  theirs = baselines.load(baselines_dir, budget, name)
  theirs.pop(optimizer, None)
  why = (status or {}).get('status', 'not run yet')
  if why not in ('ok', 'not run yet'):
    return Problem(name, command, None, theirs, why)
  run = Run.load(os.path.join(runs, name))
  try:
    ours = baselines.record(run) if run is not None else None
  except ValueError as e:
    ours, why = None, str(e)
  return Problem(name, command, ours, theirs, 'ok' if ours else why)
