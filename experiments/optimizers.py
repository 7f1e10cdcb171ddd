"""The config's optimizer section, read through the optimizers' descriptions.

``optimizer.name`` names any optimizer :func:`adam_jax.describe` knows: one of ours, an
optax factory (``optax.lion``, ``optax.contrib.schedule_free_adamw``) or any importable
factory (``my_pkg.mod:make_opt``). Its keyword arguments are fields of ``config.optimizer``
(unset: the factory's default), settable and sweepable like any other; the description
says which must be Python values (one program per swept value) and which may be traced
(vmapped inside one program).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import ml_collections
import optax
from absl import flags, logging

from adam_jax import registry
from adam_jax.schedules import inverse_sqrt_decay, warm_restarts
from configs import common
from experiments import search
from experiments import sweep as sweep_lib

Hparams = Mapping[str, Any]  # dotted path -> value, e.g. {'optimizer.learning_rate': 1e-3}
SCHEDULES = ('constant', 'inverse_sqrt', 'warm_restarts')
_PREFIX = 'optimizer.'


def names(config: ml_collections.ConfigDict) -> list[str]:
  """Every optimizer the run trains: the swept (or searched) names, else ``optimizer.name``."""
  swept = config.sweep.get('optimizer', {}).get('name')
  searched = search.space(config).get('optimizer.name') if search.num_points(config) else None
  searched = searched[1:] if searched and searched[0] in ('choice', 'list') else None
  return list(dict.fromkeys(swept or searched or [config.optimizer.name]))


def specs(config: ml_collections.ConfigDict) -> list[registry.OptimizerSpec]:
  """The description of every optimizer of the run (validation reports the bad names)."""
  out = []
  for name in names(config):
    try:
      out.append(registry.describe(name))
    except (registry.OptimizerError, TypeError):  # TypeError: not a string
      continue
  return out


def add_fields(config: ml_collections.ConfigDict) -> None:
  """Adds to ``config.optimizer`` (unset) each keyword of the run's optimizers it lacks."""
  common.add_optimizer_fields(config, *(spec.name for spec in specs(config)))


def drop_untaken_sweeps(
  config: ml_collections.ConfigDict, keep: Collection[str] = ()
) -> dict[str, str]:
  """Drops the config file's sweeps of optimizer keywords no optimizer of the run takes.

  A config's sweeps serve its own optimizer (Figure 4 sweeps Adam's bias correction); with
  another named on the command line they would otherwise refuse to run. Paths in ``keep``
  (swept on the command line) stay, for validation to refuse.

  Returns:
    A note for the log per dropped sweep, by its path (``sweep.optimizer.KEY``).
  """
  found = specs(config)
  if len(found) < len(names(config)):  # a name that names no optimizer: validation says so
    return {}
  taken = {key for spec in found for key in spec.names} | set(common.OPTIMIZER_META)
  swept = config.sweep.get('optimizer', {})
  notes = {}
  for key in [k for k in swept if k not in taken and _PREFIX + k not in keep]:
    notes[f'sweep.{_PREFIX}{key}'] = (
      f'config.sweep.{_PREFIX}{key} dropped: no optimizer of the run '
      f'({", ".join(names(config))}) takes {key!r}'
    )
    with config.sweep.optimizer.unlocked():
      del config.sweep.optimizer[key]
    config.rerun_by = tuple(p for p in config.rerun_by if p != _PREFIX + key)
  return notes


def kwargs(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The factory's arguments from config.optimizer: those it takes and that are set.

  An unset field (None) leaves the optimizer's own default. A config comparing Adam with
  SGD carries ``b1``/``b2``; SGD simply does not take them (validation rejects a field
  that no optimizer of the run takes). Dtype names become dtypes.
  """
  spec = registry.describe(config.optimizer.name)
  values = {k: config.optimizer.get(k) for k in spec.settable}
  return {k: spec.settable[k].argument(v) for k, v in values.items() if v is not None}


def point_hparams(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The values a grid point may vary, by dotted path, at the config's settings.

  Every keyword of the optimizer a config can give: as set, else its default (so that
  what the diagnostics read, β2 and ε, is the optimizer's own).
  """
  spec = registry.describe(config.optimizer.name)
  hp = {}
  for key, h in spec.settable.items():
    value = config.optimizer.get(key)
    value = h.default if value is None and not h.required else value
    if value is not None:
      hp[_PREFIX + key] = value
  hp['model.l2'] = config.model.l2
  hp['seed'] = config.seed
  return hp


def factory(
  name: str,
  schedule: str = 'constant',
  *,
  steps_per_epoch: int = 1,
  restart_epochs: int = 1,
  restart_mult: float = 2.0,
) -> Callable[[Hparams], optax.GradientTransformation]:
  """The optimizer of a grid point's hyperparameters (``optimizer.*`` paths), for the trainer.

  Args:
    name: any name :func:`adam_jax.describe` knows.
    schedule: 'constant'; 'inverse_sqrt' (α/√t, t the step); 'warm_restarts' (SGDR's cosine
      with warm restarts: the first period ``restart_epochs`` epochs, each next one
      ``restart_mult`` times longer; with adamw it is AdamWR).
    steps_per_epoch: steps in an epoch (for the restart periods).
    restart_epochs: the first period of 'warm_restarts', in epochs.
    restart_mult: each period's length over the one before.

  Returns:
    ``hparams -> GradientTransformation``; the values may be traced scalars.
  """
  if schedule not in SCHEDULES:
    raise ValueError(f'unknown schedule {schedule!r}; valid: {", ".join(SCHEDULES)}')
  spec = registry.describe(name)

  def build(hparams: Hparams) -> optax.GradientTransformation:
    args = {k[len(_PREFIX) :]: v for k, v in hparams.items() if k.startswith(_PREFIX)}
    args = {k: spec.settable[k].argument(v) if k in spec.settable else v for k, v in args.items()}
    if schedule == 'inverse_sqrt':
      args['learning_rate'] = inverse_sqrt_decay(args['learning_rate'])
    elif schedule == 'warm_restarts':
      first = max(1, round(restart_epochs * steps_per_epoch))
      args['learning_rate'] = warm_restarts(args['learning_rate'], first, period_mult=restart_mult)
    return spec.build(**args)

  return build


def config_factory(
  config: ml_collections.ConfigDict, steps_per_epoch: int = 1
) -> Callable[[Hparams], optax.GradientTransformation]:
  """:func:`factory` of ``config.optimizer`` (its name, schedule and restart periods)."""
  o = config.optimizer
  return factory(
    o.name,
    o.schedule,
    steps_per_epoch=steps_per_epoch,
    restart_epochs=o.restart_epochs,
    restart_mult=o.restart_mult,
  )


def static_paths(config: ml_collections.ConfigDict) -> dict[str, str]:
  """Optimizer paths that must stay Python values in the run, each with why.

  The name and schedule, and every keyword some optimizer of the run cannot take traced
  (:attr:`adam_jax.OptimizerSpec.static`): a sweep over one runs one program per value.
  """
  out = {_PREFIX + key: 'chooses code' for key in common.OPTIMIZER_META}
  for spec in specs(config):
    for key, why in spec.static.items():
      out.setdefault(_PREFIX + key, f'{key} of {spec.name} {why}')
  return out


def split_command_line(argv: list[str]) -> tuple[list[str], dict[str, Any]]:
  """Takes ``--config.optimizer.KEY=VALUE`` out of ``argv`` where only a named optimizer takes KEY.

  ml_collections' overrides need the field to exist in the config file's config; the
  keywords of an optimizer named by path (``--config.optimizer.name=optax.lion`` or
  ``--sweep=optimizer.name=...``) are not there. Their values are parsed here by the
  keyword's type, and set once the config is loaded (:func:`add_fields`).

  Returns:
    The remaining arguments, and ``{KEY: value}``.

  Raises:
    registry.OptimizerError: for a name that names no optimizer, a value of the wrong
      type, or a keyword that no optimizer named on the command line takes.
  """
  named = [a.split('=', 1)[1] for a in argv if a.startswith('--config.optimizer.name=')][-1:]
  for a in argv:
    if a.startswith('--sweep=optimizer.name='):
      named += [n.strip() for n in a.split('=', 2)[2].split(',')]
  foreign = [registry.describe(n) for n in named if registry.by_path(n)]
  base = common.base().optimizer
  rest, values = [], {}
  for arg in argv:
    key, sep, text = arg[len('--config.optimizer.') :].partition('=')
    if not foreign or not arg.startswith('--config.optimizer.') or key in base or not sep:
      rest.append(arg)
      continue
    spec = next((s for s in foreign if key in s.settable), None)
    if spec is None:
      takes = '; '.join(f'{s.name} takes: {", ".join(s.settable)}' for s in foreign)
      raise registry.OptimizerError(f'{arg}: no optimizer named takes {key!r} ({takes})')
    values[key] = _parse(arg, text, spec.settable[key].kind)
  return rest, values


def _parse(arg: str, text: str, kind: type) -> Any:
  parser = {float: flags.FloatParser(), int: flags.IntegerParser(), bool: flags.BooleanParser()}
  try:
    return parser[kind].parse(text) if kind in parser else text
  except ValueError:
    allowed = {float: 'a number', int: 'an integer', bool: 'true or false'}[kind]
    raise registry.OptimizerError(f'{arg}: must be {allowed}') from None


def log_static_sweeps(config: ml_collections.ConfigDict, axes: list[list[Hparams]]) -> None:
  """Says which swept (or searched) numbers run one program per value, and why.

  ``axes``: the product's axes, as :func:`experiments.sweep.expand_axes` takes them.
  """
  static = static_paths(config)
  varied: dict[str, list[Any]] = {}
  for entry in (entry for axis in axes for entry in axis):
    for path, value in entry.items():
      varied.setdefault(path, []).append(value)
  for path, values in varied.items():
    meta = path[len(_PREFIX) :] in common.OPTIMIZER_META
    if path in static and not meta and sweep_lib.is_vmappable(path, values):
      logging.info('%s: one program per value (%s)', path, static[path])
