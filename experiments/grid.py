"""The training-grid experiment: data, programs, epochs, everything written to the workdir.

The compiled work lives in :mod:`adam_jax.train`; this is the loop around it: it loads
the data, trains each program's grid chunk by chunk, evaluates after every epoch, writes
through :class:`experiments.rundir.RunDir` and resumes from checkpoints. It neither prints
a table nor plots (:mod:`experiments.run` does, from what the run left).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from typing import Any

import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from adam_jax import data as data_lib
from adam_jax import train as train_lib
from experiments import console, distributed, extend, optimizers, programs, search, select, signals
from experiments import sweep as sweep_lib
from experiments.point import Point, points_from_records
from experiments.programs import RunError
from experiments.results import machine
from experiments.rundir import RunDir


def grid_strategy(
  config: ml_collections.ConfigDict, task: train_lib.Task, x_example: np.ndarray
) -> str:
  """The configured strategy; 'auto' is :func:`adam_jax.train.auto_grid_strategy`."""
  if config.grid_strategy != 'auto':
    return config.grid_strategy
  return train_lib.auto_grid_strategy(task, jnp.asarray(x_example[:1]), config.batch_size)


def run(config: ml_collections.ConfigDict, workdir: str, fresh: bool = False) -> dict[str, Any]:
  """Trains the grid of ``config`` into ``workdir``; returns the summary.

  If ``workdir`` holds an interrupted run of the same config, it resumes from each
  program chunk's newest checkpoint; ``fresh`` discards what the workdir holds first.
  """
  with signals.checkpoint_on_signals():
    start = time.time()
    rundir = RunDir(workdir, config, fresh)
    tuning = programs.expand(config)
    reruns = programs.rerun_programs(config, tuning)
    program_list = tuning + reruns
    first_extension = (len(program_list), sum(len(p.points) for p in program_list))
    planned = [p for p, _ in extend.planned(tuning, rundir.state, *first_extension)]
    previous = _resumable_records(rundir, program_list + planned)
    if previous:
      logging.info('resuming the run in %s (%d evaluations kept)', workdir, len(previous))
    logging.info('%d program(s), %d epochs each', len(program_list), config.num_epochs)
    datasets: dict[str, data_lib.Dataset] = {}
    points: list[Point] = []

    def train(program: sweep_lib.Program) -> list[Point]:
      pconfig = programs.program_config(config, program.structural)
      key = json.dumps(pconfig.dataset.to_dict(), sort_keys=True)
      if key not in datasets:
        datasets[key] = programs.load_dataset(pconfig)
        logging.info('data: %r', datasets[key])
      total = max(len(program_list), program.index + 1)  # extensions come after the others
      return run_program(pconfig, program, datasets[key], rundir, total, previous)

    for program in tuning:
      points += train(program)
    extends: dict[int, int] = {}
    if config.get('extend_grid'):
      plans = extend.plans(config, tuning, rundir.state, rundir.remember, *first_extension, points)
      for program, tuned_program in plans:
        extends[program.index] = tuned_program
        points += train(program)
    for program in reruns:  # DeepOBS's protocol: the tuning program's choice, more seeds
      tuned = extend.members(points, program.index - len(tuning), extends)
      program = programs.with_chosen(program, tuned, config.eval.select_metric, config.seed)
      points += train(program)
    points.sort(key=lambda p: p.grid_index)
    summary = select.summarize(
      points,
      config.num_epochs,
      config.eval.select_metric,
      time.time() - start,
      rundir.train_wall_time,
      default_seed=config.seed,
      reruns=[p.index for p in reruns],
      extends=extends,
    )
    summary |= extend.summary(config, tuning, points, extends)
    summary |= search.summary(config)  # the drawn points, to read or give again as a list
    summary['machine'] = machine()  # the report says where each run was made
    rundir.finish(summary)
    return summary


def _chunk_name(program: int, chunk: int) -> str:
  return f'{program:03d}_{chunk:03d}'


def _resumable_records(rundir: RunDir, program_list) -> list[dict[str, Any]]:
  """Keeps the earlier evaluations that a checkpoint covers; rewrites metrics.jsonl with them.

  Evaluations written after a chunk's newest checkpoint (the process died between the two)
  are dropped and will be recomputed, so metrics.jsonl has no duplicates and no gaps.
  """
  records = rundir.previous_records()
  epochs: dict[str, int] = {}
  kept = []
  for r in records:
    program = program_list[r['program']] if r['program'] < len(program_list) else None
    size = program and rundir.state.get(f'chunk_size/{program.index}')
    if not size:
      continue
    name = _chunk_name(program.index, (r['grid_index'] - program.first_grid_index) // size)
    if name not in epochs:
      epochs[name] = rundir.latest_checkpoint(name) or 0
    if r['epoch'] <= epochs[name]:
      kept.append(r)
  rundir.keep_records(kept, dropped=len(kept) < len(records))
  return kept


def run_program(
  config: ml_collections.ConfigDict,
  program: sweep_lib.Program,
  dataset: data_lib.Dataset,
  rundir: RunDir,
  num_programs: int,
  previous: list[dict[str, Any]] = (),
) -> list[Point]:
  """Trains every grid point of one program, chunk by chunk, for ``config.num_epochs``."""
  mesh = train_lib.make_mesh(config.mesh.grid, config.mesh.data)
  task = programs.build_task(config, dataset)
  # Fixed at the first run, so that a resumed run continues with the same arithmetic (and
  # does not count FLOPs again).
  key = f'grid_strategy/{program.index}'
  strategy = rundir.state.get(key) or rundir.remember(
    key, 'vmap' if mesh is not None else grid_strategy(config, task, dataset.train[0])
  )
  trainer = train_lib.GridTrainer(
    task=task,
    optimizer=optimizers.config_factory(config, len(dataset.train[1]) // config.batch_size),
    hparams=optimizers.point_hparams(config),
    swept=program.swept,
    batch_size=config.batch_size,
    eval_batch_size=config.eval.batch_size,
    grid_strategy=strategy,
    mesh=mesh,
    diagnostics=config.diagnostics,
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
  chunk_size = config.grid_chunk_size or trainer.auto_chunk_size(x_train, len(program.points))
  if mesh is not None:  # every device of the grid axis gets the same number of points
    chunk_size = -(-chunk_size // mesh.shape['grid']) * mesh.shape['grid']
  # Fixed at the first run, so that a resumed run finds its chunks' checkpoints.
  chunk_size = rundir.remember(f'chunk_size/{program.index}', chunk_size)
  chunk_list = train_lib.chunks(len(program.points), chunk_size)
  if len(chunk_list) > 1:
    logging.info(
      '%d grid points in %d chunks of %d', len(program.points), len(chunk_list), chunk_size
    )
  kept = points_from_records(previous)
  points = [
    kept.get(gi) or Point(gi, program.index, program.structural, hp)
    for gi, hp in zip(program.grid_indices, program.points, strict=True)
  ]
  single_run = num_programs == 1 and len(points) == 1
  for c, idx in enumerate(chunk_list):
    label = f'program {program.index + 1}/{num_programs} [{program.label}]'
    label += f', chunk {c + 1}/{len(chunk_list)}' if len(chunk_list) > 1 else ''
    chunk = _Chunk(program, _chunk_name(program.index, c), label, idx, [points[i] for i in idx])
    train_chunk(config, trainer, chunk, (x_train, y_train), splits, rundir, single_run)
  return points


@dataclasses.dataclass
class _Chunk:
  program: sweep_lib.Program
  name: str  # of its checkpoints
  label: str  # for the progress lines
  point_indices: np.ndarray  # into program.points; the last may repeat (padding)
  points: list[Point]

  @property
  def real(self) -> list[int]:
    """Positions in the chunk that are not padding."""
    return sorted(
      {int(i): pos for pos, i in reversed(list(enumerate(self.point_indices)))}.values()
    )


def train_chunk(config, trainer, chunk: _Chunk, train_xy, splits, rundir, single_run) -> None:
  """The epoch loop of one chunk of grid points: train, evaluate, record, checkpoint.

  Resumes after the chunk's newest checkpoint if there is one. In a single run (one grid
  point) a non-finite training loss stops the run with a RunError; in a grid the point is
  marked diverged and the others go on.
  """
  x_train, y_train = train_xy
  done = rundir.latest_checkpoint(chunk.name) or 0
  if done >= config.num_epochs:
    logging.info('%s: complete in its checkpoint (epoch %d)', chunk.label, done)
    return
  grid_values = [chunk.program.points[i] for i in chunk.point_indices]
  grid = trainer.shard(train_lib.grid_arrays(grid_values, trainer.swept))
  state = trainer.shard(trainer.init(grid, x_train, num_points=len(grid_values)))
  if done:
    state = rundir.restore(chunk.name, done, state)
    logging.info('%s: resumed from the checkpoint of epoch %d', chunk.label, done)
  steps_per_epoch = x_train.shape[0] // config.batch_size
  progress = console.Progress(config.num_epochs, steps_per_epoch * config.batch_size, len(grid))
  real = chunk.real
  last_finite: tuple[int, float] | None = None
  for epoch in range(done, config.num_epochs):
    progress.start_epoch()
    state, step_metrics = trainer.train_epoch(state, grid, x_train, y_train, epoch)
    rundir.time_epoch(chunk.program.index, chunk.name, epoch + 1, progress.elapsed(step_metrics))
    evals = {name: trainer.evaluate(state, *xy) for name, xy in splits.items()}
    host = distributed.gather({'train': step_metrics, **evals})  # each process holds a part
    optimizer_stats = host['train'].pop(train_lib.DIAGNOSTICS, {})
    records = []
    for pos in real:
      point = chunk.points[pos]
      losses = np.asarray(host['train']['loss'][pos])
      bad = ~np.isfinite(losses)
      if bad.any() and point.diverged_step is None:
        point.diverged_step = epoch * steps_per_epoch + int(np.argmax(bad)) + 1
      for split, values in host.items():
        metrics = {k: _mean(np.asarray(v[pos])) for k, v in values.items()}
        record = point.record(
          step=(epoch + 1) * steps_per_epoch, epoch=epoch + 1, split=split, **metrics
        )
        point.update(record)
        records.append(record)
      step = (epoch + 1) * steps_per_epoch
      for param, values in optimizer_stats.items():
        stats = {k: _mean(np.asarray(v[pos])) for k, v in values.items()}
        records.append(
          point.record(step=step, epoch=epoch + 1, split='optimizer', param=param, **stats)
        )
      if config.log_every_steps:
        records += point.window_records(losses, epoch, steps_per_epoch, config.log_every_steps)
    rundir.write_records(records)
    if single_run:
      last_finite = _check_single_run(
        chunk, host, real[0], epoch, steps_per_epoch, last_finite, rundir
      )
    stop = distributed.first_signal(signals.pending())  # every process stops after this epoch
    rundir.checkpoint(chunk.name, epoch + 1, state, force=stop is not None)
    progress.end_epoch(chunk.label, epoch + 1, [chunk.points[p] for p in real])
    signals.stop_if_asked(epoch + 1, stop)


def _check_single_run(chunk, host, pos, epoch, steps_per_epoch, last_finite, rundir):
  """A single run stops at a non-finite training loss (exit 1), keeping its last checkpoint."""
  point = chunk.points[pos]
  losses = np.asarray(host['train']['loss'][pos])
  finite = np.flatnonzero(np.isfinite(losses))
  if len(finite) and (point.diverged_step is None or finite[-1] + 1 < len(losses)):
    first_bad = len(losses) if point.diverged_step is None else int(np.argmax(~np.isfinite(losses)))
    good = finite[finite < first_bad]
    if len(good):
      last_finite = (epoch * steps_per_epoch + int(good[-1]) + 1, float(losses[good[-1]]))
  if not point.failed:
    return last_finite
  last = 'none' if last_finite is None else f'{last_finite[1]:.6g} at step {last_finite[0]}'
  kept = rundir.latest_checkpoint(chunk.name)
  where = (
    f'the last good checkpoint (epoch {kept}) is kept in {rundir.workdir}/checkpoints'
    if kept
    else 'no checkpoint had been written yet'
  )
  what = (  # finite training losses and a non-finite evaluation: the epoch's last update
    f'the evaluation loss became non-finite after epoch {epoch + 1} (its last update)'
    if point.diverged_step is None
    else f'the training loss became non-finite at step {point.diverged_step} (epoch {epoch + 1})'
  )
  raise RunError(f'{what}; last finite loss: {last}; {where}')


def _mean(values: np.ndarray) -> float:
  value = float(np.mean(values))
  return value if math.isfinite(value) else float('nan')
