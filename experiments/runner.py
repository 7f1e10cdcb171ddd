"""Runs one experiment config end to end: data, programs, epochs, files in the workdir.

The compiled work lives in :mod:`adam_jax.train`; this module is the edge where side
effects happen: loading data, writing ``metrics.jsonl``/``summary.json``/TensorBoard
events/checkpoints/plots, progress on the terminal, the results table.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import signal
import threading
import time
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


class Interrupted(RunError):
  """SIGTERM or SIGINT arrived; the state after the current epoch was saved."""

  def __init__(self, signum: int, message: str):
    super().__init__(message)
    self.exit_code = 128 + signum


_STOP: dict[str, int | None] = {'signum': None}


@contextlib.contextmanager
def _checkpoint_on_signals():
  """SIGTERM/SIGINT finish the current epoch, save a checkpoint, then stop (a second one
  stops at once)."""
  if threading.current_thread() is not threading.main_thread():
    yield
    return

  def handler(signum, frame):
    del frame
    if _STOP['signum'] is not None:
      signal.signal(signum, signal.SIG_DFL)
      os.kill(os.getpid(), signum)
    _STOP['signum'] = signum
    logging.warning(
      '%s: stopping after this epoch (checkpoint first); send again to stop now',
      signal.Signals(signum).name,
    )

  previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
  _STOP['signum'] = None
  try:
    yield
  finally:
    for s, h in previous.items():
      signal.signal(s, h)


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
  for path, value in structural.items():
    sweep_lib.set_path(resolved, path, value)
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


def run(config: ml_collections.ConfigDict, workdir: str, fresh: bool = False) -> dict[str, Any]:
  """Runs the experiment of ``config`` into ``workdir``; returns the summary.

  If ``workdir`` holds an interrupted run of the same config, it resumes from each
  program chunk's newest checkpoint; ``fresh`` discards what the workdir holds first.
  """
  if config.experiment == 'reddi':
    from experiments import reddi  # noqa: PLC0415 (a different kind of experiment)

    return reddi.run(config, workdir, fresh)
  with _checkpoint_on_signals():
    return _run(config, workdir, fresh)


def _run(config: ml_collections.ConfigDict, workdir: str, fresh: bool) -> dict[str, Any]:
  start = time.time()
  writer = outputs.Writer(workdir, config, fresh)
  programs = sweep_lib.expand(sweep_lib.flatten(config.sweep.to_dict()))
  previous = _resumable_records(writer, programs)
  if previous:
    logging.info(
      'resuming the run in %s (%d evaluations kept)', workdir, sum(map(len, previous.values()))
    )
  total_points = sum(len(p.points) for p in programs)
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
    results += run_program(pconfig, program, datasets[key], writer, len(programs), previous)
  summary = outputs.summarize(results, config, time.time() - start, writer.train_wall_time)
  writer.finish(summary, results)
  return summary


def _chunk_name(program: int, chunk: int) -> str:
  return f'{program:03d}_{chunk:03d}'


def _resumable_records(writer, programs) -> dict[int, list[dict[str, Any]]]:
  """Keeps the earlier evaluations that a checkpoint covers; rewrites metrics.jsonl with them.

  Evaluations written after a chunk's newest checkpoint (the process died between the two)
  are dropped and will be recomputed, so metrics.jsonl has no duplicates and no gaps.
  """
  records = writer.previous_records()
  if not records:
    return {}
  epochs: dict[str, int] = {}
  kept: dict[int, list[dict[str, Any]]] = {}
  for r in records:
    gi = r['grid_index']
    program = next((p for p in programs if gi in p.grid_indices), None)
    size = program and writer.state.get(f'chunk_size/{program.index}')
    if not size:
      continue
    name = _chunk_name(program.index, (gi - program.first_grid_index) // size)
    if name not in epochs:
      epochs[name] = writer.latest_checkpoint(name) or 0
    if r['epoch'] <= epochs[name]:
      kept.setdefault(gi, []).append(r)
  writer.keep_records([r for rs in kept.values() for r in rs])
  return kept


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
  previous: dict[int, list[dict[str, Any]]] | None = None,
) -> list[PointResult]:
  """Trains every grid point of one program, chunk by chunk, for ``config.num_epochs``."""
  mesh = train_lib.make_mesh(config.mesh.grid, config.mesh.data)
  trainer = train_lib.GridTrainer(
    task=build_task(config, dataset),
    optimizer=config.optimizer.name,
    hparams=_point_hparams(config),
    swept=program.swept,
    schedule=config.optimizer.schedule,
    batch_size=config.batch_size,
    eval_batch_size=config.eval.batch_size,
    grid_strategy='vmap' if mesh is not None else grid_strategy(config),
    mesh=mesh,
  )
  x_train, y_train = trainer.shard(tuple(jnp.asarray(a) for a in dataset.train), grid_axis=False)
  if x_train.shape[0] < config.batch_size:
    raise RunError(
      f'batch_size {config.batch_size} is larger than the training set ({x_train.shape[0]})'
    )
  splits = {
    name: trainer.shard(tuple(jnp.asarray(a) for a in xy), grid_axis=False)
    for name, xy in (('validation', dataset.validation), ('test', dataset.test))
    if len(xy[1])
  }
  points = program.points
  chunk_size = config.grid_chunk_size or trainer.auto_chunk_size(x_train, len(points))
  if mesh is not None:  # every device of the grid axis gets the same number of points
    chunk_size = -(-chunk_size // mesh.shape['grid']) * mesh.shape['grid']
  # Fixed at the first run, so that a resumed run finds its chunks' checkpoints.
  chunk_size = writer.remember(f'chunk_size/{program.index}', chunk_size)
  chunk_list = train_lib.chunks(len(points), chunk_size)
  if len(chunk_list) > 1:
    logging.info('%d grid points in %d chunks of %d', len(points), len(chunk_list), chunk_size)
  results = [
    PointResult(program.first_grid_index + i, program.label, p) for i, p in enumerate(points)
  ]
  for result in results:
    result.history = list((previous or {}).get(result.grid_index, []))
    steps = [r['diverged_step'] for r in result.history if r.get('diverged_step')]
    result.diverged_step = steps[0] if steps else None
  single_run = num_programs == 1 and len(points) == 1
  for c, idx in enumerate(chunk_list):
    chunk = _Chunk(program, c, len(chunk_list), idx, [results[i] for i in idx])
    train_chunk(
      config, trainer, chunk, (x_train, y_train), splits, writer, num_programs, single_run
    )
  return results


@dataclasses.dataclass
class _Chunk:
  program: sweep_lib.Program
  index: int
  count: int
  point_indices: np.ndarray  # into program.points; the last may repeat (padding)
  results: list[PointResult]

  @property
  def label(self) -> str:
    suffix = f', chunk {self.index + 1}/{self.count}' if self.count > 1 else ''
    return self.program.label + suffix

  @property
  def real(self) -> list[int]:
    """Positions in the chunk that are not padding."""
    return sorted(
      {int(i): pos for pos, i in reversed(list(enumerate(self.point_indices)))}.values()
    )


def train_chunk(
  config, trainer, chunk: _Chunk, train_xy, splits, writer, num_programs, single_run=False
) -> None:
  """The epoch loop of one chunk of grid points: train, evaluate, record, checkpoint.

  Resumes after the chunk's newest checkpoint if there is one. In a single run (one grid
  point) a non-finite training loss stops the run with a RunError; in a grid the point is
  marked diverged and the others go on.
  """
  x_train, y_train = train_xy
  name = _chunk_name(chunk.program.index, chunk.index)
  done = writer.latest_checkpoint(name) or 0
  if done >= config.num_epochs:
    logging.info('program %s: complete in its checkpoint (epoch %d)', chunk.label, done)
    return
  points = [chunk.program.points[i] for i in chunk.point_indices]
  grid = trainer.shard(train_lib.grid_arrays(points, trainer.swept))
  state = trainer.shard(trainer.init(grid, x_train, num_points=len(points)))
  if done:
    state = writer.restore(name, done, state)
    logging.info('program %s: resumed from the checkpoint of epoch %d', chunk.label, done)
  steps_per_epoch = x_train.shape[0] // config.batch_size
  progress = outputs.Progress(config.num_epochs, steps_per_epoch * config.batch_size, len(points))
  real = chunk.real
  last_finite: tuple[int, float] | None = None
  for epoch in range(done, config.num_epochs):
    progress.start_epoch()
    state, step_metrics = trainer.train_epoch(state, grid, x_train, y_train, epoch)
    evals = {name: trainer.evaluate(state.params, *xy) for name, xy in splits.items()}
    host = jax.device_get({'train': step_metrics, **evals})
    records = []
    for pos in real:
      result = chunk.results[pos]
      losses = np.asarray(host['train']['loss'][pos])
      bad = ~np.isfinite(losses)
      if bad.any() and result.diverged_step is None:
        result.diverged_step = epoch * steps_per_epoch + int(np.argmax(bad)) + 1
      for split, values in host.items():
        record = {
          'step': (epoch + 1) * steps_per_epoch,
          'epoch': epoch + 1,
          'split': split,
          **{k: _mean(np.asarray(v[pos])) for k, v in values.items()},
          'grid_index': result.grid_index,
          'program': result.program,
          'hparams': result.hparams,
        }
        if result.diverged_step is not None:
          record['diverged_step'] = result.diverged_step
        result.history.append(record)
        records.append(record)
    writer.write_records(records)
    if single_run:
      last_finite = _check_single_run(
        chunk.results[real[0]], host, real[0], epoch, steps_per_epoch, last_finite, writer, name
      )
    stop = _STOP['signum']
    writer.checkpoint(name, epoch + 1, state, force=stop is not None)
    progress.end_epoch(
      chunk.label, chunk.program.index, num_programs, epoch + 1, [chunk.results[p] for p in real]
    )
    if stop is not None:
      raise Interrupted(
        stop,
        f'{signal.Signals(stop).name}: stopped after epoch {epoch + 1} with a checkpoint; '
        'run the same command again to resume',
      )


def _check_single_run(result, host, pos, epoch, steps_per_epoch, last_finite, writer, name):
  """A single run stops at a non-finite training loss (exit 1), keeping its last checkpoint."""
  losses = np.asarray(host['train']['loss'][pos])
  finite = np.flatnonzero(np.isfinite(losses))
  if len(finite) and (result.diverged_step is None or finite[-1] + 1 < len(losses)):
    first_bad = (
      len(losses) if result.diverged_step is None else int(np.argmax(~np.isfinite(losses)))
    )
    good = finite[finite < first_bad]
    if len(good):
      last_finite = (epoch * steps_per_epoch + int(good[-1]) + 1, float(losses[good[-1]]))
  if result.diverged_step is None:
    return last_finite
  last = 'none' if last_finite is None else f'{last_finite[1]:.6g} at step {last_finite[0]}'
  kept = writer.latest_checkpoint(name)
  where = (
    f'the last good checkpoint (epoch {kept}) is kept in {writer.workdir}/checkpoints'
    if kept
    else 'no checkpoint had been written yet'
  )
  raise RunError(
    f'the training loss became non-finite at step {result.diverged_step} (epoch {epoch + 1}); '
    f'last finite loss: {last}; {where}'
  )


def _mean(values: np.ndarray) -> float:
  value = float(np.mean(values))
  return value if math.isfinite(value) else float('nan')
