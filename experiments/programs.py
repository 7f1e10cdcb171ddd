"""From a config and one structural point of its sweep to what that program runs.

Shared by every kind of experiment (:mod:`experiments.grid`, :mod:`experiments.reddi`):
the program's config, its optimizer's keyword arguments, the model and its loss, the
dataset, and which swept paths must stay Python values.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import jax.numpy as jnp
import ml_collections

from adam_jax import data as data_lib
from adam_jax import models as models_lib
from adam_jax import sweep as sweep_lib
from adam_jax import train as train_lib
from adam_jax.optimizers import optimizer_hparams, static_hparams
from configs.common import OPTIMIZER_META
from experiments import search, select, stats
from experiments.point import Point

# Keys of config.optimizer that are not optimizer keyword arguments.
# Keys of config.model that are not model constructor arguments.
MODEL_META = ('name', 'l2')


class RunError(RuntimeError):
  """A failure at run time (exit status 1), with a message for the user."""


def optimizer_names(config: ml_collections.ConfigDict) -> list[str]:
  """Every optimizer the run trains: the swept (or searched) names, else ``optimizer.name``."""
  swept = config.sweep.get('optimizer', {}).get('name')
  searched = search.space(config).get('optimizer.name') if search.num_points(config) else None
  searched = searched[1:] if searched and searched[0] in ('choice', 'list') else None
  return list(dict.fromkeys(swept or searched or [config.optimizer.name]))


def seed_values(config: ml_collections.ConfigDict) -> list[int]:
  """The seeds every configuration is trained with: ``seed, …, seed+seeds−1``."""
  return list(range(config.seed, config.seed + config.get('seeds', 1)))


def expand(config: ml_collections.ConfigDict) -> list[sweep_lib.Program]:
  """The programs of ``config``'s sweep and search, with ``seeds`` as the innermost axis.

  The grid is the Cartesian product of the sweep's paths, then the points of the search
  (``search.points`` > 0: :mod:`experiments.search`), then the seeds. An option that some
  optimizer of the run takes as a Python value (optax's ``nesterov``, ...) is
  structural: one program per value. ``seeds > 1`` sweeps ``seed`` over
  :func:`seed_values` inside each program (replicates, compared by their mean: see
  :mod:`experiments.stats`).
  """
  static = {f'optimizer.{k}' for name in optimizer_names(config) for k in static_hparams(name)}
  static |= {f'optimizer.{k}' for k in OPTIMIZER_META}  # they choose code: one program each
  sweep = sweep_lib.flatten(config.sweep.to_dict())
  axes = [[{path: v} for v in values] for path, values in sweep.items()]
  if search.num_points(config):
    axes.append(search.draw(config))
  if config.get('seeds', 1) > 1:
    axes.append([{'seed': s} for s in seed_values(config)])
  return sweep_lib.expand_axes(axes, static)


def rerun_programs(
  config: ml_collections.ConfigDict, tuning: list[sweep_lib.Program]
) -> list[sweep_lib.Program]:
  """DeepOBS's protocol (``rerun_seeds`` > 0): one more program per tuning program.

  Each trains again what its tuning program chose (on ``seed`` alone, or by the mean of
  ``seeds``), with ``rerun_seeds`` fresh seeds (those after the tuning seeds: a choice
  is biased towards the seeds it was made on), in one compiled program: the
  program's best configuration, or with ``rerun_by`` the best of each group of its
  configurations that share those paths' values (Figure 4: the best α of each β1, β2 and
  bias-correction cell). Until :func:`with_chosen` fills in the choices (after the tuning
  programs ran) a point holds its group's values and seed; the programs' indices and grid
  indices are fixed now, so that an interrupted run resumes them.
  """
  if not config.get('rerun_seeds'):
    return []
  # Fresh seeds, after every tuning seed (``seeds`` or a swept ``seed``): the tuning seeds
  # chose the configuration, so they are not replicates of it.
  first_seed = 1 + max(
    (pt.get('seed', config.seed) for p in tuning for pt in p.points), default=config.seed
  )
  seeds = range(first_seed, first_seed + config.rerun_seeds)
  by = tuple(config.get('rerun_by') or ())
  first = sum(len(p.points) for p in tuning)
  out = []
  for k, program in enumerate(tuning):
    groups = dict.fromkeys(
      tuple((key, pt[key]) for key in by if key in pt) for pt in program.points
    )
    points = [{**dict(group), 'seed': s} for group in groups for s in seeds]
    out.append(sweep_lib.Program(len(tuning) + k, dict(program.structural), points, first))
    first += len(points)
  return out


def with_chosen(
  rerun: sweep_lib.Program, tuned: list[Point], metric: str, default_seed: int = 0
) -> sweep_lib.Program:
  """A rerun program (:func:`rerun_programs`) with the choices of its tuning ``tuned`` points.

  Within each group the configuration with the best mean ``metric`` is chosen
  (:func:`experiments.select.best`); a group whose configurations all diverged reruns its
  first, so that the program keeps its shape.
  """
  configs = stats.configurations(tuned, default_seed)
  points = []
  for point in rerun.points:
    group = {k: v for k, v in point.items() if k != 'seed'}
    members = [c for c in configs if all(c.hparams.get(k) == v for k, v in group.items())]
    chosen = select.best(members, metric) or members[0]
    points.append({**chosen.hparams, 'seed': point['seed']})
  return dataclasses.replace(rerun, points=points)


def program_config(
  config: ml_collections.ConfigDict, structural: dict[str, Any]
) -> ml_collections.ConfigDict:
  """A copy of ``config`` with one structural point of the sweep filled in."""
  resolved = copy.deepcopy(config)
  for path, value in structural.items():
    sweep_lib.set_path(resolved, path, value)
  return resolved


def optimizer_kwargs(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The optimizer's hyperparameters from config.optimizer: those it takes and that are set.

  An unset field (None) leaves the optimizer's own default. A config comparing Adam with
  SGD carries ``b1``/``b2``; SGD simply does not take them (validation rejects a field
  that no optimizer of the run takes). Dtype names become dtypes.
  """
  accepted = set(optimizer_hparams(config.optimizer.name))
  kwargs = {
    k: v
    for k, v in config.optimizer.items()
    if k not in OPTIMIZER_META and k in accepted and v is not None
  }
  return {k: jnp.dtype(v) if k.endswith('_dtype') else v for k, v in kwargs.items()}


def point_hparams(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The values a grid point may vary, by dotted path, at the config's settings."""
  hp = {f'optimizer.{k}': v for k, v in optimizer_kwargs(config).items()}
  hp['model.l2'] = config.model.l2
  hp['seed'] = config.seed
  return hp


def build_task(config: ml_collections.ConfigDict, dataset: data_lib.Dataset) -> train_lib.Task:
  """The model of ``config.model`` for ``dataset``, with its loss."""
  cls = models_lib.MODELS[config.model.name]
  fields = {f.name for f in dataclasses.fields(cls)}
  kwargs = {k: v for k, v in config.model.items() if k not in MODEL_META and k in fields}
  if 'num_classes' in fields:
    kwargs['num_classes'] = dataset.num_classes
  if 'output_shape' in fields:
    kwargs['output_shape'] = tuple(dataset.input_shape)
  kind = 'vae' if config.model.name == 'vae' else 'classifier'
  return train_lib.Task(cls(**kwargs), kind, dataset.input_kind, dataset.vocab_size)


def load_dataset(config: ml_collections.ConfigDict) -> data_lib.Dataset:
  """The dataset of ``config.dataset`` (synthetic arrays of the real shapes for smoke runs)."""
  d = config.dataset
  if d.synthetic:
    return data_lib.synthetic(
      d.name, validation_size=d.validation_size, seed=config.seed, binarize=d.binarize
    )
  return data_lib.load(
    d.name,
    validation_size=d.validation_size,
    seed=0,  # the split is part of the dataset, not of the run's seed
    data_dir=d.data_dir or None,
    binarize=d.binarize,
  )
