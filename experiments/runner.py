"""Runs one experiment config end to end: data, programs, epochs, files in the workdir.

The compiled work lives in :mod:`adam_jax.train`; this module is the edge where side
effects happen: loading data, writing ``metrics.jsonl``/``summary.json``/TensorBoard
events/checkpoints/plots, progress on the terminal, the results table.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from adam_jax import data as data_lib
from adam_jax import models as models_lib
from adam_jax import sweep as sweep_lib
from adam_jax import train as train_lib
from adam_jax.optimizers import optimizer_hparams
from experiments import outputs

# Keys of config.optimizer that are not optimizer keyword arguments.
_OPTIMIZER_META = ('name', 'schedule')
# Keys of config.model that are not model constructor arguments.
_MODEL_META = ('name', 'l2')


class RunError(RuntimeError):
  """A failure at run time (exit status 1), with a message for the user."""


@dataclasses.dataclass
class PointResult:
  """Everything the run learned about one grid point."""

  grid_index: int
  program: str
  hparams: dict[str, Any]  # the swept values of this point, by dotted path
  history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
  diverged_step: int | None = None

  def final(self, split: str) -> dict[str, float]:
    for record in reversed(self.history):
      if record['split'] == split:
        return {k: record[k] for k in ('loss', 'accuracy') if k in record}
    return {}


def program_config(config: ml_collections.ConfigDict, structural: dict[str, Any]):
  """A copy of ``config`` with one structural point of the sweep filled in."""
  resolved = copy.deepcopy(config)
  with resolved.unlocked():
    for path, value in structural.items():
      node = resolved
      *parents, leaf = path.split('.')
      for p in parents:
        node = node[p]
      node[leaf] = value
  return resolved


def optimizer_kwargs(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The optimizer's hyperparameters from config.optimizer, keeping those it accepts.

  A config sweeping ``optimizer.name`` over Adam and SGD carries ``b1``/``b2``; SGD simply
  does not take them (config validation rejects keys no optimizer takes).
  """
  accepted = set(optimizer_hparams(config.optimizer.name))
  return {k: v for k, v in config.optimizer.items() if k not in _OPTIMIZER_META and k in accepted}


def build_task(config: ml_collections.ConfigDict, dataset: data_lib.Dataset) -> train_lib.Task:
  """The model of ``config.model`` for ``dataset``, with its loss."""
  cls = models_lib.MODELS[config.model.name]
  fields = {f.name for f in dataclasses.fields(cls)}
  kwargs = {k: v for k, v in config.model.items() if k not in _MODEL_META and k in fields}
  if 'num_classes' in fields:
    kwargs['num_classes'] = dataset.num_classes
  if 'output_shape' in fields:
    kwargs['output_shape'] = tuple(dataset.input_shape)
  kind = 'vae' if config.model.name == 'vae' else 'classifier'
  return train_lib.Task(cls(**kwargs), kind, dataset.input_kind, dataset.vocab_size)


CONV_MODELS = ('cnn', 'perez_cnn')


def grid_strategy(config: ml_collections.ConfigDict) -> str:
  """'auto': run a conv net's grid points one after another on CPU, vmap otherwise."""
  if config.grid_strategy != 'auto':
    return config.grid_strategy
  on_cpu = jax.default_backend() == 'cpu'
  return 'map' if on_cpu and config.model.name in CONV_MODELS else 'vmap'


def load_dataset(config: ml_collections.ConfigDict) -> data_lib.Dataset:
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


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Runs the experiment of ``config`` into ``workdir``; returns the summary."""
  if config.experiment == 'reddi':
    from experiments import reddi  # noqa: PLC0415 (a different kind of experiment)

    return reddi.run(config, workdir)
  start = time.time()
  writer = outputs.Writer(workdir, config)
  programs = sweep_lib.expand(sweep_lib.flatten(config.sweep.to_dict()))
  total_points = sum(len(p.points) or 1 for p in programs)
  logging.info(
    '%d program(s), %d grid point(s) in all, %d epochs each',
    len(programs),
    total_points,
    config.num_epochs,
  )
  datasets: dict[str, data_lib.Dataset] = {}
  results: list[PointResult] = []
  for program in programs:
    pconfig = program_config(config, program.structural)
    key = json.dumps(pconfig.dataset.to_dict(), sort_keys=True)
    if key not in datasets:
      datasets[key] = load_dataset(pconfig)
      logging.info('data: %r', datasets[key])
    results += run_program(pconfig, program, datasets[key], writer, len(programs))
  summary = outputs.summarize(results, config, time.time() - start)
  writer.finish(summary, results)
  return summary


def _point_hparams(config: ml_collections.ConfigDict) -> dict[str, Any]:
  hp = {f'optimizer.{k}': v for k, v in optimizer_kwargs(config).items()}
  hp['model.l2'] = config.model.l2
  hp['seed'] = config.seed
  return hp


def run_program(
  config: ml_collections.ConfigDict,
  program: sweep_lib.Program,
  dataset: data_lib.Dataset,
  writer: outputs.Writer,
  num_programs: int,
) -> list[PointResult]:
  """Trains every grid point of one program for ``config.num_epochs`` epochs."""
  task = build_task(config, dataset)
  points = program.points or [{}]
  swept = program.swept
  trainer = train_lib.GridTrainer(
    task=task,
    optimizer=config.optimizer.name,
    hparams=_point_hparams(config),
    swept=swept,
    schedule=config.optimizer.schedule,
    batch_size=config.batch_size,
    eval_batch_size=config.eval.batch_size,
    grid_strategy=grid_strategy(config),
  )
  grid = train_lib.grid_arrays(points, swept)
  results = [
    PointResult(program.first_grid_index + i, program.label, point)
    for i, point in enumerate(points)
  ]
  x_train, y_train = (jnp.asarray(a) for a in dataset.train)
  splits = {'validation': dataset.validation, 'test': dataset.test}
  splits = {k: tuple(jnp.asarray(a) for a in v) for k, v in splits.items() if len(v[1])}
  state = trainer.init(grid, x_train, num_points=len(points))
  steps_per_epoch = x_train.shape[0] // config.batch_size
  if steps_per_epoch == 0:
    raise RunError(
      f'batch_size {config.batch_size} is larger than the training set ({x_train.shape[0]})'
    )
  progress = outputs.Progress(config.num_epochs, steps_per_epoch * config.batch_size, len(points))
  for epoch in range(config.num_epochs):
    progress.start_epoch()
    state, step_metrics = trainer.train_epoch(state, grid, x_train, y_train, epoch)
    evals = {name: trainer.evaluate(state.params, *xy) for name, xy in splits.items()}
    step = (epoch + 1) * steps_per_epoch
    host = jax.device_get({'train': step_metrics, **evals})
    records = []
    for i, result in enumerate(results):
      losses = np.asarray(host['train']['loss'][i])
      bad = ~np.isfinite(losses)
      if bad.any() and result.diverged_step is None:
        result.diverged_step = epoch * steps_per_epoch + int(np.argmax(bad)) + 1
      for split, values in host.items():
        record = {
          'step': step,
          'epoch': epoch + 1,
          'split': split,
          **{k: _mean(np.asarray(v[i])) for k, v in values.items()},
          'grid_index': result.grid_index,
          'program': result.program,
          'hparams': result.hparams,
        }
        if result.diverged_step is not None:
          record['diverged_step'] = result.diverged_step
        result.history.append(record)
        records.append(record)
    writer.write_records(records)
    writer.checkpoint(program.index, epoch + 1, state)
    progress.end_epoch(program, num_programs, epoch + 1, results)
  return results


def _mean(values: np.ndarray) -> float:
  value = float(np.mean(values))
  return value if math.isfinite(value) else float('nan')


def iter_records(path: str) -> Iterable[dict[str, Any]]:
  with open(path) as f:
    for line in f:
      if line.strip():
        yield json.loads(line)
