"""Checks a resolved config before any data is loaded or anything compiled.

Every field is checked against what it may be; sweep paths must exist and each swept
value must pass the same check as the field. A problem raises :class:`ConfigError` with
one line naming the field, the value and what is allowed (the CLI prints it, exit 2).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection
from typing import Any

import ml_collections
from absl import logging

from adam_jax import data as data_lib
from adam_jax import models as models_lib
from adam_jax import sweep as sweep_lib
from adam_jax import train as train_lib
from adam_jax.optimizers import OPTIMIZERS, optimizer_hparams
from adam_jax.transforms import _AMSGRAD_VARIANTS
from configs import common
from experiments import search
from experiments.checks import (
  BETA,
  NON_NEGATIVE,
  POSITIVE,
  RATE,
  Check,
  boolean,
  integer,
  one_of,
  real,
  string,
)

# What a sweep may vary, by experiment kind: a section ('model.') or a field.
SWEEPABLE = {
  'train': ('seed', 'batch_size', 'dataset.', 'model.', 'optimizer.'),
  'reddi': ('seed', 'dataset.name', 'optimizer.'),
}
EXPERIMENTS = tuple(SWEEPABLE)  # the kinds of experiment.run.experiment_kind
REDDI_PROBLEMS = ('reddi_online', 'reddi_stochastic')
PLOTS = ('curves', 'figure4', 'reddi')


class ConfigError(ValueError):
  """An invalid config or usage (exit status 2)."""


FLOAT_DTYPES = ('float32', 'bfloat16', 'float16', 'float64')

# Optimizer hyperparameters by name: what any registered optimizer may be given.
OPTIMIZER_CHECKS: dict[str, Check] = {
  'learning_rate': POSITIVE,
  'b1': BETA,
  'b2': BETA,
  'eps': NON_NEGATIVE,
  'eps_root': NON_NEGATIVE,
  'weight_decay': NON_NEGATIVE,
  'b1_decay': real(0.0, 1.0, lo_open=True, hi_open=False),
  'bias_correction': boolean,
  'variant': one_of(_AMSGRAD_VARIANTS),
  'momentum': BETA,
  'decay': BETA,
  'rho': BETA,
  'initial_accumulator_value': NON_NEGATIVE,
  'centered': boolean,
  'nesterov': boolean,
  'eps_in_sqrt': boolean,
  'initial_scale': NON_NEGATIVE,
  'accumulator_dtype': one_of(FLOAT_DTYPES),
  'mu_dtype': one_of(FLOAT_DTYPES),
}
# Optimizer fields that must be set; any other may be None (the optimizer's own default).
_REQUIRED_OPTIMIZER = ('name', 'schedule', 'learning_rate', 'restart_epochs', 'restart_mult')

MODEL_CHECKS: dict[str, Check] = {
  'dropout': boolean,
  'input_dropout': RATE,
  'hidden_dropout': RATE,
  'l2': NON_NEGATIVE,
  'latents': integer(1),
  'hidden': lambda v: (
    None
    if all(isinstance(h, int) and h > 0 for h in (v if isinstance(v, tuple | list) else [v]))
    else 'a positive integer or a tuple of them'
  ),
}

FIELD_CHECKS: dict[str, Check] = {
  'experiment': one_of(EXPERIMENTS),
  'seed': integer(0),
  'seeds': integer(1),
  'rerun_seeds': integer(0),
  'rerun_by': lambda v: None if isinstance(v, tuple | list) else 'a tuple of swept paths',
  'log_every_steps': integer(0),
  'diagnostics': boolean,
  'extend_grid': boolean,
  'num_epochs': integer(1),
  'batch_size': integer(1),
  'dataset.name': one_of(data_lib.DATASETS + REDDI_PROBLEMS),
  'dataset.validation_size': integer(0),
  'dataset.data_dir': string,
  'dataset.binarize': boolean,
  'dataset.synthetic': boolean,
  'model.name': one_of((*models_lib.MODELS, 'linear')),
  'optimizer.name': one_of(OPTIMIZERS),
  'optimizer.schedule': one_of(train_lib.SCHEDULES),
  'optimizer.restart_epochs': integer(1),
  'optimizer.restart_mult': real(1.0),
  'eval.batch_size': integer(1),
  'eval.select_metric': one_of(('loss', 'accuracy')),
  'checkpoint.every_epochs': integer(0),
  'checkpoint.keep': integer(1),
  'grid_strategy': one_of(('auto', *train_lib.GRID_STRATEGIES)),
  'grid_chunk_size': integer(0),
  'mesh.grid': integer(1),
  'mesh.data': integer(1),
  'plot': one_of(PLOTS),
  'search.points': integer(0),
  'search.sequence': one_of(search.SEQUENCES),
  'search.seed': integer(0),
  **{f'optimizer.{k}': v for k, v in OPTIMIZER_CHECKS.items()},
  **{f'model.{k}': v for k, v in MODEL_CHECKS.items()},
}


@functools.cache  # check_field asks for every field and swept value
def _allowed_optimizer_keys() -> frozenset[str]:
  return frozenset(common.base().optimizer.keys())


def _allowed_model_keys() -> set[str]:
  fields = {f.name for cls in models_lib.MODELS.values() for f in dataclasses.fields(cls)}
  return (fields - {'parent', 'name', 'num_classes', 'output_shape'}) | {'name', 'l2'}


def check_field(path: str, value: Any) -> None:
  """Raises ConfigError if ``value`` is not allowed for the config field ``path``."""
  section, _, key = path.partition('.')
  if section == 'optimizer' and key not in _allowed_optimizer_keys():
    valid = ', '.join(sorted(_allowed_optimizer_keys()))
    raise ConfigError(f'config.{path}: unknown optimizer field; valid fields: {valid}')
  if section == 'model' and key not in _allowed_model_keys():
    valid = ', '.join(sorted(_allowed_model_keys()))
    raise ConfigError(f'config.{path}: unknown model field; valid fields: {valid}')
  if section == 'optimizer' and value is None and key not in _REQUIRED_OPTIMIZER:
    return  # unset: the optimizer's own default
  check = FIELD_CHECKS.get(path)
  if check is None:
    valid = ', '.join(sorted(k for k in FIELD_CHECKS if '.' not in k or k.startswith('dataset')))
    raise ConfigError(f'config.{path}: unknown config field (known: {valid}, ...)')
  allowed = check(value)
  if allowed is not None:
    raise ConfigError(f'config.{path} = {value!r}: must be {allowed}')


def validate(
  config: ml_collections.ConfigDict,
  device_count: int | None = None,
  overrides: Collection[str] = (),
) -> None:
  """Checks every field of ``config`` and its sweep; raises ConfigError on the first problem.

  Args:
    config: The resolved config (command-line values and ``--sweep`` applied).
    device_count: Devices available, to check ``mesh`` against (None: not checked).
    overrides: Paths given on the command line: an optimizer field among them must be
      taken by an optimizer of the run.
  """
  flat = sweep_lib.flatten(config.to_dict())
  sweep = {k[len('sweep.') :]: v for k, v in flat.items() if k.startswith('sweep.')}
  fields = {k: v for k, v in flat.items() if not k.startswith(('sweep', 'search.space.'))}
  known_top = set(sweep_lib.flatten(common.base().to_dict()))
  for path, value in fields.items():
    section = path.partition('.')[0]
    if section not in ('optimizer', 'model') and path not in known_top:
      valid = ', '.join(sorted(known_top))
      raise ConfigError(f'config.{path}: unknown config field; valid fields: {valid}')
    check_field(path, value)
  for path, values in sweep.items():
    if not isinstance(values, tuple | list) or not values:
      raise ConfigError(f'config.sweep.{path} = {values!r}: must be a non-empty tuple of values')
    _check_varied(config, fields, path, values, 'config.sweep')
  try:  # a search's choices and the ends of its ranges are checked as a sweep's values
    searched = functools.partial(_check_varied, config, fields, where='config.search.space')
    sweep |= search.check(config, sweep, searched)
  except ValueError as e:
    raise ConfigError(str(e)) from None
  _check_combinations(config, fields, sweep, device_count)
  _check_optimizer_fields(fields, sweep, overrides)


def _check_varied(config, fields, path: str, values, where: str) -> None:
  """A swept (or searched) path must be a sweepable field, and each value valid for it."""
  if path.startswith(('sweep', 'search')) or path not in FIELD_CHECKS and path not in fields:
    raise ConfigError(f'{where}.{path}: not a config field; its keys mirror the config')
  if not _sweepable(config.experiment, path):
    allowed = ', '.join(SWEEPABLE[config.experiment])
    raise ConfigError(
      f'{where}.{path}: not sweepable in a {config.experiment!r} experiment (sweepable: {allowed})'
    )
  for value in values:
    try:
      check_field(path, value)
    except ConfigError as e:
      raise ConfigError(f'in {where}.{path}: {e}') from None


def _sweepable(experiment: str, path: str) -> bool:
  return any(path == s or (s.endswith('.') and path.startswith(s)) for s in SWEEPABLE[experiment])


def _values(fields, sweep, path):
  return sweep.get(path, (fields.get(path),))


def _check_combinations(config, fields, sweep, device_count) -> None:
  experiment = config.experiment
  if config.seeds > 1 and 'seed' in sweep:
    raise ConfigError('config.seeds and config.sweep.seed both give the seeds: give one')
  if 'seed' in config.rerun_by:
    raise ConfigError(
      'config.rerun_by: seed is a replicate, not a choice (reruns take fresh seeds)'
    )
  for path in set(config.rerun_by) - set(sweep):
    raise ConfigError(f'config.rerun_by: {path!r} is not swept (swept: {", ".join(sweep)})')
  datasets = _values(fields, sweep, 'dataset.name')
  if experiment == 'reddi':
    if 'warm_restarts' in _values(fields, sweep, 'optimizer.schedule'):
      raise ConfigError("config.optimizer.schedule = 'warm_restarts': only for experiment=train")
    if config.rerun_seeds:
      raise ConfigError('config.rerun_seeds: only for experiment=train (reddi has no choice)')
    bad = [d for d in datasets if d not in REDDI_PROBLEMS]
    if bad:
      raise ConfigError(f'config.dataset.name = {bad[0]!r}: reddi needs one of {REDDI_PROBLEMS}')
  else:
    bad = [d for d in datasets if d in REDDI_PROBLEMS]
    if bad:
      raise ConfigError(f'config.dataset.name = {bad[0]!r}: only for experiment=reddi')
    for name in _values(fields, sweep, 'model.name'):
      if name == 'linear':
        raise ConfigError("config.model.name = 'linear': only for experiment=reddi")
  for name in _values(fields, sweep, 'optimizer.name'):
    accepted = set(optimizer_hparams(name))
    for path in sweep:
      key = path.partition('.')[2]
      if path.startswith('optimizer.') and key not in common.OPTIMIZER_META and key not in accepted:
        raise ConfigError(
          f'{path} is swept or searched, but optimizer {name!r} does not take {key!r}; '
          f'it takes: {", ".join(sorted(accepted))}'
        )
  if config.eval.select_metric == 'accuracy' and 'vae' in _values(fields, sweep, 'model.name'):
    raise ConfigError("config.eval.select_metric = 'accuracy': the VAE has no accuracy; use 'loss'")
  devices = config.mesh.grid * config.mesh.data
  if device_count is not None and devices > device_count:
    raise ConfigError(
      f'config.mesh = {config.mesh.grid}x{config.mesh.data}: needs {devices} devices, '
      f'{device_count} available'
    )


def _check_optimizer_fields(fields, sweep, overrides) -> None:
  """Checks that each optimizer field given on the command line is taken by the run.

  A config file's optimizer fields are defaults for the optimizers that take them (β2
  serves Adam, not SGD, in a config comparing them).
  """
  names = _values(fields, sweep, 'optimizer.name')
  for path in overrides:
    section, _, key = path.partition('.')
    value = fields.get(path)
    if section != 'optimizer' or key in _REQUIRED_OPTIMIZER or value is None:
      continue
    takers = [n for n in names if key in optimizer_hparams(n)]
    if not takers:
      raise ConfigError(
        f'config.{path} = {value!r}: no optimizer of the run takes {key!r} '
        f'(optimizer.name: {", ".join(names)}; {names[0]!r} takes: '
        f'{", ".join(optimizer_hparams(names[0]))})'
      )
    if len(takers) < len(names):
      others = ', '.join(n for n in names if n not in takers)
      takes = ', '.join(takers)
      logging.info('config.%s = %r applies to %s; %s do not take it', path, value, takes, others)
