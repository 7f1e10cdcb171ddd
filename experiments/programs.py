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

# Keys of config.optimizer that are not optimizer keyword arguments.
OPTIMIZER_META = ('name', 'schedule')
# Keys of config.model that are not model constructor arguments.
MODEL_META = ('name', 'l2')


class RunError(RuntimeError):
  """A failure at run time (exit status 1), with a message for the user."""


def optimizer_names(config: ml_collections.ConfigDict) -> list[str]:
  """Every optimizer the run trains: the swept names, else ``optimizer.name``."""
  swept = config.sweep.get('optimizer', {}).get('name')
  return list(dict.fromkeys(swept or [config.optimizer.name]))


def expand(config: ml_collections.ConfigDict) -> list[sweep_lib.Program]:
  """The programs of ``config``'s sweep.

  An option that some optimizer of the run takes as a Python value (optax's
  ``nesterov``, ...) is structural: one program per value.
  """
  static = {f'optimizer.{k}' for name in optimizer_names(config) for k in static_hparams(name)}
  return sweep_lib.expand(sweep_lib.flatten(config.sweep.to_dict()), static)


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
