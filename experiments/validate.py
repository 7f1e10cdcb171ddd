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
from adam_jax import registry
from adam_jax import train as train_lib
from configs import common
from experiments import optimizers, search
from experiments import sweep as sweep_lib
from experiments.checks import (
  NON_NEGATIVE,
  RATE,
  Check,
  boolean,
  hparam_check,
  integer,
  one_of,
  positive_ints,
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


# Optimizer fields that must be set; any other may be None (the optimizer's own default).
_REQUIRED_OPTIMIZER = (*common.OPTIMIZER_META, 'learning_rate')

MODEL_CHECKS: dict[str, Check] = {
  'dropout': boolean,
  'input_dropout': RATE,
  'hidden_dropout': RATE,
  'l2': NON_NEGATIVE,
  'latents': integer(1),
  'hidden': positive_ints,
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
  'extend_grid_steps': integer(1),
  'num_epochs': integer(1),
  'batch_size': integer(1),
  'dataset.name': one_of(data_lib.DATASETS + REDDI_PROBLEMS),
  'dataset.validation_size': integer(0),
  'dataset.data_dir': string,
  'dataset.binarize': boolean,
  'dataset.synthetic': boolean,
  'model.name': one_of((*models_lib.MODELS, 'linear')),
  'optimizer.name': string,  # and a name adam_jax.describe knows: see _check_names
  'optimizer.schedule': one_of(optimizers.SCHEDULES),
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
  **{f'model.{k}': v for k, v in MODEL_CHECKS.items()},
}


def _allowed_model_keys() -> set[str]:
  fields = {f.name for cls in models_lib.MODELS.values() for f in dataclasses.fields(cls)}
  return (fields - {'parent', 'name', 'num_classes', 'output_shape'}) | {'name', 'l2'}


def optimizer_checks(*specs: registry.OptimizerSpec) -> dict[str, Check]:
  """The check of each optimizer keyword a config may hold, from the descriptions.

  Those of ``specs`` (the run's optimizers) first, then those of every registered one (a
  config file's field that the run's optimizer does not take is still checked).
  """
  checks: dict[str, Check] = {}
  for spec in (*specs, *map(registry.describe, registry.OPTIMIZERS)):
    for key, h in spec.settable.items():
      checks.setdefault(key, hparam_check(h))
  return checks


def check_field(path: str, value: Any, optimizer: dict[str, Check] | None = None) -> None:
  """Raises ConfigError if ``value`` is not allowed for the config field ``path``.

  ``optimizer``: :func:`optimizer_checks` of the run's optimizers (default: ours).
  """
  optimizer = optimizer_checks() if optimizer is None else optimizer
  section, _, key = path.partition('.')
  if section == 'optimizer' and key not in optimizer and key not in _REQUIRED_OPTIMIZER:
    valid = ', '.join(sorted({*optimizer, *_REQUIRED_OPTIMIZER}))
    raise ConfigError(f'config.{path}: unknown optimizer field; valid fields: {valid}')
  if section == 'model' and key not in _allowed_model_keys():
    valid = ', '.join(sorted(_allowed_model_keys()))
    raise ConfigError(f'config.{path}: unknown model field; valid fields: {valid}')
  if section == 'optimizer' and value is None and key not in _REQUIRED_OPTIMIZER:
    return  # unset: the optimizer's own default
  check = FIELD_CHECKS.get(path) or (optimizer.get(key) if section == 'optimizer' else None)
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
  names = sweep.get('optimizer.name', ())
  specs = _describe(optimizers.names(config) if isinstance(names, tuple | list) else [names])
  checks = optimizer_checks(*specs.values())
  known_top = set(sweep_lib.flatten(common.base().to_dict()))
  for path, value in fields.items():
    section = path.partition('.')[0]
    if section not in ('optimizer', 'model') and path not in known_top:
      valid = ', '.join(sorted(known_top))
      raise ConfigError(f'config.{path}: unknown config field; valid fields: {valid}')
    check_field(path, value, checks)
  varied = functools.partial(_check_varied, config, fields, specs=specs, checks=checks)
  for path, values in sweep.items():
    if not isinstance(values, tuple | list) or not values:
      raise ConfigError(f'config.sweep.{path} = {values!r}: must be a non-empty tuple of values')
    varied(path, values, 'config.sweep')
  try:  # a search's choices and the ends of its ranges are checked as a sweep's values
    sweep |= search.check(config, sweep, functools.partial(varied, where='config.search.space'))
  except ValueError as e:
    raise ConfigError(str(e)) from None
  _check_combinations(config, fields, sweep, device_count)
  _check_takers(specs, sweep, fields, overrides)


def _check_varied(config, fields, path: str, values, where: str, specs, checks) -> None:
  """A swept (or searched) path must be a sweepable field, and each value valid for it."""
  section, _, key = path.partition('.')
  known = path in FIELD_CHECKS or path in fields or (section == 'optimizer' and key in checks)
  if path.startswith(('sweep', 'search')) or not known:
    takes = '; '.join(f'{n} takes: {", ".join(s.names)}' for n, s in specs.items())
    takes = f' ({takes})' if section == 'optimizer' else ''
    raise ConfigError(f'{where}.{path}: not a config field{takes}; its keys mirror the config')
  if not _sweepable(config.experiment, path):
    allowed = ', '.join(SWEEPABLE[config.experiment])
    raise ConfigError(
      f'{where}.{path}: not sweepable in a {config.experiment!r} experiment (sweepable: {allowed})'
    )
  for value in values:
    try:
      check_field(path, value, checks)
    except ConfigError as e:
      raise ConfigError(f'in {where}.{path}: {e}') from None


def _describe(names) -> dict[str, registry.OptimizerSpec]:
  """Each optimizer name of the run, described; a ConfigError for a name that is no optimizer."""
  out = {}
  for name in names:
    if not isinstance(name, str):
      raise ConfigError(f'config.optimizer.name = {name!r}: must be a string')
    try:
      out[name] = registry.describe(name)
    except registry.OptimizerError as e:
      if registry.by_path(name):
        raise ConfigError(f'config.optimizer.name = {name!r}: {e}') from None
      raise ConfigError(
        f'config.optimizer.name = {name!r}: must be one of: {", ".join(registry.OPTIMIZERS)}; '
        f'or {registry.FOREIGN_FORMS}'
      ) from None
  return out


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
  if config.eval.select_metric == 'accuracy' and 'vae' in _values(fields, sweep, 'model.name'):
    raise ConfigError("config.eval.select_metric = 'accuracy': the VAE has no accuracy; use 'loss'")
  devices = config.mesh.grid * config.mesh.data
  if device_count is not None and devices > device_count:
    raise ConfigError(
      f'config.mesh = {config.mesh.grid}x{config.mesh.data}: needs {devices} devices, '
      f'{device_count} available'
    )


def _check_takers(specs, sweep, fields, overrides) -> None:
  """Checks who takes the optimizer keywords swept and given on the command line.

  Every optimizer of the run must take each swept keyword; some optimizer of the run, each
  one given on the command line.

  A config file's optimizer fields are defaults for the optimizers that take them (β2
  serves Adam, not SGD, in a config comparing them).
  """
  for name, spec in specs.items():
    for path in sweep:
      key = path.partition('.')[2]
      meta = key in common.OPTIMIZER_META
      if path.startswith('optimizer.') and not meta and key not in spec.names:
        raise ConfigError(
          f'{path} is swept or searched, but optimizer {name!r} does not take {key!r}; '
          f'it takes: {", ".join(spec.names)}'
        )
  for path in overrides:
    section, _, key = path.partition('.')
    value = fields.get(path)
    if section != 'optimizer' or key in _REQUIRED_OPTIMIZER or value is None:
      continue
    takers = [name for name, spec in specs.items() if key in spec.names]
    if not takers:
      first = next(iter(specs.values()))
      raise ConfigError(
        f'config.{path} = {value!r}: no optimizer of the run takes {key!r} '
        f'(optimizer.name: {", ".join(specs)}; {first.name!r} takes: {", ".join(first.names)})'
      )
    if len(takers) < len(specs):
      others = ', '.join(n for n in specs if n not in takers)
      takes = ', '.join(takers)
      logging.info('config.%s = %r applies to %s; %s do not take it', path, value, takes, others)
