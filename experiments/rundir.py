"""The run directory: what a run writes into its workdir (read back by :mod:`.results`).

``config.json`` (the resolved config), ``metrics.jsonl`` (one object per evaluation),
``summary.json`` (every grid point's final metrics, the configurations and the choices),
``run_state.json`` (what a resumed run must know: chunk sizes, grid strategies, time
spent), TensorBoard events under ``tensorboard/`` and orbax checkpoints under
``checkpoints/``. The training loop writes through :class:`RunDir`; the report, the plots,
the console table and ``reproduce`` read through :class:`experiments.results.Run`. A grid
point is one :class:`Point` everywhere.
"""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import time
from typing import Any

import ml_collections
import numpy as np
from absl import logging

from experiments import config_diff, distributed
from experiments.point import METRICS

RUN_FILES = ('config.json', 'metrics.jsonl', 'summary.json', 'run_state.json')
RUN_DIRS = ('checkpoints', 'tensorboard')
FORMAT = 2  # summary.json's layout; a workdir of another layout is retrained, not misread


class WorkdirMismatch(ValueError):
  """The workdir holds a run of a different config."""


def dump_json(obj: Any, path: str) -> None:
  """Writes JSON atomically (a temporary file renamed into place)."""
  tmp = f'{path}.tmp'
  with open(tmp, 'w') as f:
    json.dump(obj, f, indent=2, default=config_diff.json_default, allow_nan=True)
    f.write('\n')
  os.replace(tmp, path)


def read(path: str, default: Any) -> Any:
  """A JSON (or JSON lines) file's content, or ``default`` when it does not exist.

  A JSON lines file may end in a half-written record (a process killed while appending):
  that line is left out, with a warning; a bad line before the last is an error.
  """
  if not os.path.exists(path):
    return default
  with open(path) as f:
    if not path.endswith('.jsonl'):
      return json.load(f)
    lines = [line for line in f if line.strip()]
  records = []
  for i, line in enumerate(lines):
    try:
      records.append(json.loads(line))
    except json.JSONDecodeError:
      if i < len(lines) - 1 or line.endswith('\n'):
        raise
      logging.warning('%s: left out its half-written last line (killed while writing)', path)
  return records


def _placed_like(value: Any, template: Any) -> Any:
  """``value`` uncommitted where ``template`` is an uncommitted array, else as it is."""
  import jax  # noqa: PLC0415

  if (
    isinstance(template, jax.Array)
    and not template.committed
    and getattr(value, 'committed', False)
  ):
    return jax.device_put(np.asarray(value))  # no device given: uncommitted
  return value


class RunDir:
  """Writes a run's files, and finds what an earlier run of the same config left there.

  Among several processes (:mod:`experiments.distributed`) every process reads and
  decides alike; process 0 alone writes, except checkpoints, which all write together.
  """

  def __init__(self, workdir: str, config: ml_collections.ConfigDict, fresh: bool = False):
    """Opens ``workdir`` for ``config``: keeps an earlier run of it, else starts clean.

    Raises:
      WorkdirMismatch: ``workdir`` holds a run of another config and ``fresh`` is False.
    """
    self.workdir = workdir
    self.config = config
    self.metrics_path = os.path.join(workdir, 'metrics.jsonl')
    config_path = os.path.join(workdir, 'config.json')
    if self._other_layout():  # written by an older adam_jax: retrained, never misread
      logging.warning('%s holds a run in an older file layout; starting it afresh', workdir)
      self.clear()
    old = read(config_path, None)
    differences = config_diff.differences(old, config) if old is not None else []
    if differences and not self._has_results():  # a run that failed before training
      logging.info('%s holds no results of its earlier config; starting afresh', workdir)
      fresh = True
    if differences and not fresh:
      raise WorkdirMismatch(
        f'--workdir {workdir} holds a run of a different config (differs in: '
        f'{", ".join(differences[:6])}); rerun with --fresh to replace it, or choose '
        'another --workdir'
      )
    self.primary = distributed.is_primary()
    distributed.barrier('rundir_read')  # every process has decided before process 0 writes
    if self.primary:
      if differences or fresh:
        self.clear()
      os.makedirs(workdir, exist_ok=True)
      dump_json(config.to_dict(), config_path)
    distributed.barrier('rundir_ready')
    self._state_path = self._path('run_state.json')
    self.state: dict[str, Any] = read(self._state_path, {})
    self._tb: dict[int, Any] = {}
    self._checkpointers: dict[str, Any] = {}
    self._t0 = time.perf_counter()
    self._timed_before = self.state.get('train_wall_time_s', 0.0)

  def _other_layout(self) -> bool:
    """Whether the workdir holds files of an older layout."""
    summary = read(self._path('summary.json'), None)
    if summary is not None and summary.get('format') != FORMAT:
      return True
    if not os.path.exists(self.metrics_path):
      return False
    with open(self.metrics_path) as f:  # the first record tells; the file may be long
      first = f.readline()
    return bool(first.strip()) and 'structural' not in json.loads(first)

  def _has_results(self) -> bool:
    """Whether an earlier process recorded an evaluation or saved a checkpoint here."""
    checkpoints = self._path('checkpoints')
    return bool(read(self.metrics_path, [])) or (
      os.path.isdir(checkpoints) and bool(os.listdir(checkpoints))
    )

  def _path(self, *parts: str) -> str:
    return os.path.join(self.workdir, *parts)

  @property
  def train_wall_time(self) -> float:
    """Seconds spent by every process that trained this run, up to its last evaluation.

    Kept in run_state.json at each evaluation, so a resumed run counts the time of the
    processes before it, and a rerun of a finished run (which trains nothing) adds none.
    """
    return self.state.get('train_wall_time_s', 0.0)

  def clear(self) -> None:
    """Removes every file a run leaves (the workdir itself and foreign files stay)."""
    for name in RUN_FILES:
      if os.path.exists(self._path(name)):
        os.remove(self._path(name))
    for name in RUN_DIRS:
      shutil.rmtree(self._path(name), ignore_errors=True)
    for name in glob.glob(self._path('*.png')) + glob.glob(self._path('*.npz')):
      os.remove(name)

  def remember(self, key: str, value: Any) -> Any:
    """A value fixed at the first run (e.g. a chunk size) and reused when resuming."""
    if key not in self.state:
      self.state[key] = distributed.broadcast(value)  # process 0's: memory may differ
      if self.primary:
        dump_json(self.state, self._state_path)
    return self.state[key]

  def time_epoch(self, program: int, chunk: str, epoch: int, seconds: float) -> None:
    """Keeps the training time of one epoch of a program chunk (saved with the records).

    In ``run_state.json`` under ``epoch_time_s/<program>``: ``{chunk: {epoch: seconds}}``.
    """
    times = self.state.setdefault(f'epoch_time_s/{program}', {}).setdefault(chunk, {})
    times[str(epoch)] = round(seconds, 4)

  def previous_records(self) -> list[dict[str, Any]]:
    """What metrics.jsonl holds from an earlier process (a half-written last line left out).

    Only read: :meth:`keep_records` rewrites the file before new records follow.
    """
    return read(self.metrics_path, [])

  def keep_records(self, records: list[dict[str, Any]], dropped: bool = False) -> None:
    """Rewrites metrics.jsonl atomically with just ``records`` (before resuming).

    ``dropped``: some earlier records are left out (they will be trained again), so
    TensorBoard is rebuilt from ``records`` too, not left holding both versions.
    """
    distributed.barrier('records_read')  # every process has read the file
    if not self.primary:
      return
    tmp = self.metrics_path + '.tmp'
    with open(tmp, 'w') as f:
      for r in records:
        f.write(json.dumps(r, default=config_diff.json_default) + '\n')
    os.replace(tmp, self.metrics_path)
    if dropped:
      for writer in self._tb.values():
        writer.close()
      self._tb.clear()
      shutil.rmtree(self._path('tensorboard'), ignore_errors=True)
      self._tensorboard(records)

  def write_records(self, records: list[dict[str, Any]]) -> None:
    """Appends evaluations to metrics.jsonl (synced) and TensorBoard; counts the time."""
    if not self.primary:
      return
    with open(self.metrics_path, 'a') as f:
      for r in records:
        f.write(json.dumps(r, default=config_diff.json_default) + '\n')
      f.flush()
      os.fsync(f.fileno())
    self._tensorboard(records)
    self.state['train_wall_time_s'] = self._timed_before + time.perf_counter() - self._t0
    dump_json(self.state, self._state_path)

  def _tensorboard(self, records: list[dict[str, Any]]) -> None:
    from tensorboardX import SummaryWriter  # noqa: PLC0415 (light, but only when writing)

    for r in records:
      gi = r['grid_index']
      if gi not in self._tb:
        self._tb[gi] = SummaryWriter(self._path('tensorboard', f'point_{gi:03d}'))
      for metric in METRICS:
        if metric in r and math.isfinite(r[metric]):
          self._tb[gi].add_scalar(f'{r["split"]}/{metric}', r[metric], r['step'])

  def latest_checkpoint(self, name: str) -> int | None:
    """The newest complete checkpoint (epoch) of a program chunk, or None."""
    if not os.path.isdir(self._path('checkpoints', f'program_{name}')):
      return None
    return self._manager(name).latest_step()

  def restore(self, name: str, epoch: int, template: Any) -> Any:
    """The state of checkpoint ``epoch`` of chunk ``name``, shaped and placed like ``template``.

    Orbax commits every array it restores to a device. A fresh state on one device is
    uncommitted (what ``jit`` returns), and a committed argument lowers to another program
    (with sharding annotations), so a resumed run missed the compilation cache and compiled
    its epoch again (2.8 s of a resumed ``mlp_mnist.py:smoke``). Such leaves are placed
    uncommitted again; sharded ones (a mesh, several processes) are committed either way.
    """
    import jax  # noqa: PLC0415
    import orbax.checkpoint as ocp  # noqa: PLC0415

    restored = self._manager(name).restore(epoch, args=ocp.args.StandardRestore(template))
    return jax.tree.map(_placed_like, restored, template)

  def _manager(self, name: str):
    import orbax.checkpoint as ocp  # noqa: PLC0415 (import costs ~0.6 s)

    if name not in self._checkpointers:
      path = os.path.abspath(self._path('checkpoints', f'program_{name}'))
      options = ocp.CheckpointManagerOptions(max_to_keep=self.config.checkpoint.keep)
      self._checkpointers[name] = ocp.CheckpointManager(path, options=options)
    return self._checkpointers[name]

  def checkpoint(self, name: str, epoch: int, state: Any, force: bool = False) -> None:
    """Saves the stacked TrainState of one program chunk after ``epoch``.

    Every ``checkpoint.every_epochs`` epochs, at the last epoch, and when ``force``d (on
    SIGTERM/SIGINT). Orbax writes into a temporary directory and renames it when complete,
    so a kill during a save leaves the previous checkpoint as the newest readable one.
    """
    every = self.config.checkpoint.every_epochs
    due = epoch == self.config.num_epochs or (every > 0 and epoch % every == 0)
    if not (due or force):
      return
    import orbax.checkpoint as ocp  # noqa: PLC0415

    manager = self._manager(name)
    if manager.latest_step() == epoch:
      return
    manager.save(epoch, args=ocp.args.StandardSave(state), force=True)
    manager.wait_until_finished()

  def save_arrays(self, file: str, **arrays: Any) -> None:
    """Arrays an experiment keeps beside its metrics (``.npz``), e.g. per-step curves."""
    if self.primary:
      np.savez(self._path(file), **arrays)

  def finish(self, summary: dict[str, Any]) -> None:
    """Writes summary.json and closes the TensorBoard writers and checkpoint managers."""
    if self.primary:
      dump_json({'format': FORMAT, **summary}, self._path('summary.json'))
    for writer in self._tb.values():
      writer.close()
    for manager in self._checkpointers.values():
      manager.close()
