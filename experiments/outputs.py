"""What a run leaves in its workdir, and what it shows on the terminal.

``config.json``, ``metrics.jsonl`` (one object per evaluation), ``summary.json`` (final
metrics per grid point and the chosen point), TensorBoard events under ``tensorboard/``,
orbax checkpoints under ``checkpoints/``, and the experiment's plots (PNG).
"""

from __future__ import annotations

import glob
import json
import math
import os
import time
from typing import Any

import ml_collections
from absl import logging

SPLITS = ('train', 'validation', 'test')


def _json_default(value: Any) -> Any:
  if hasattr(value, 'item'):
    return value.item()
  raise TypeError(f'not JSON serialisable: {value!r}')


def dump_json(obj: Any, path: str) -> None:
  """Writes JSON atomically (a temporary file renamed into place)."""
  tmp = f'{path}.tmp'
  with open(tmp, 'w') as f:
    json.dump(obj, f, indent=2, default=_json_default, allow_nan=True)
    f.write('\n')
  os.replace(tmp, path)


RUN_FILES = ('config.json', 'metrics.jsonl', 'summary.json', 'run_state.json')
RUN_DIRS = ('checkpoints', 'tensorboard')


class WorkdirMismatch(ValueError):
  """The workdir holds a run of a different config."""


def _canonical(obj: Any) -> Any:
  return json.loads(json.dumps(obj, default=_json_default))


def config_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
  from adam_jax import sweep as sweep_lib  # noqa: PLC0415

  a, b = sweep_lib.flatten(_canonical(old)), sweep_lib.flatten(_canonical(new))
  return sorted(k for k in set(a) | set(b) if a.get(k, '<absent>') != b.get(k, '<absent>'))


class Writer:
  """Writes a run's files, and finds what an earlier run of the same config left there."""

  def __init__(self, workdir: str, config: ml_collections.ConfigDict, fresh: bool = False):
    self.workdir = workdir
    self.config = config
    self.metrics_path = os.path.join(workdir, 'metrics.jsonl')
    config_path = os.path.join(workdir, 'config.json')
    if os.path.exists(config_path):
      with open(config_path) as f:
        differences = config_differences(json.load(f), config.to_dict())
      if differences and not fresh:
        raise WorkdirMismatch(
          f'--workdir {workdir} holds a run of a different config (differs in: '
          f'{", ".join(differences[:6])}); rerun with --fresh to replace it, or choose '
          'another --workdir'
        )
      if differences or fresh:
        self._clear()
    elif fresh:
      self._clear()
    os.makedirs(workdir, exist_ok=True)
    dump_json(config.to_dict(), config_path)
    self._state_path = os.path.join(workdir, 'run_state.json')
    self.state: dict[str, Any] = {}
    if os.path.exists(self._state_path):
      with open(self._state_path) as f:
        self.state = json.load(f)
    self._tb: dict[int, Any] = {}
    self._checkpointers: dict[str, Any] = {}
    self._t0 = time.perf_counter()
    self._timed_before = self.state.get('train_wall_time_s', 0.0)

  @property
  def train_wall_time(self) -> float:
    """Seconds spent by every process that trained this run, up to its last evaluation.

    Kept in run_state.json at each evaluation, so a resumed run counts the time of the
    processes before it, and a rerun of a finished run (which trains nothing) adds none.
    """
    return self.state.get('train_wall_time_s', 0.0)

  def _clear(self) -> None:
    import shutil  # noqa: PLC0415

    for name in RUN_FILES:
      path = os.path.join(self.workdir, name)
      if os.path.exists(path):
        os.remove(path)
    for name in RUN_DIRS:
      shutil.rmtree(os.path.join(self.workdir, name), ignore_errors=True)
    for name in glob.glob(os.path.join(self.workdir, '*.png')):
      os.remove(name)

  def remember(self, key: str, value: Any) -> Any:
    """A value fixed at the first run (e.g. a chunk size) and reused when resuming."""
    if key not in self.state:
      self.state[key] = value
      dump_json(self.state, self._state_path)
    return self.state[key]

  def previous_records(self) -> list[dict[str, Any]]:
    if not os.path.exists(self.metrics_path):
      return []
    with open(self.metrics_path) as f:
      return [json.loads(line) for line in f if line.strip()]

  def keep_records(self, records: list[dict[str, Any]]) -> None:
    """Rewrites metrics.jsonl atomically with just ``records`` (before resuming)."""
    tmp = self.metrics_path + '.tmp'
    with open(tmp, 'w') as f:
      for r in records:
        f.write(json.dumps(r, default=_json_default) + '\n')
    os.replace(tmp, self.metrics_path)

  def latest_checkpoint(self, name: str) -> int | None:
    """The newest complete checkpoint (epoch) of a program chunk, or None."""
    path = os.path.join(self.workdir, 'checkpoints', f'program_{name}')
    if not os.path.isdir(path):
      return None
    return self._manager(name).latest_step()

  def restore(self, name: str, epoch: int, template: Any) -> Any:
    import orbax.checkpoint as ocp  # noqa: PLC0415

    return self._manager(name).restore(epoch, args=ocp.args.StandardRestore(template))

  def _manager(self, name: str):
    import orbax.checkpoint as ocp  # noqa: PLC0415 (import costs ~0.6 s)

    if name not in self._checkpointers:
      path = os.path.abspath(os.path.join(self.workdir, 'checkpoints', f'program_{name}'))
      options = ocp.CheckpointManagerOptions(max_to_keep=self.config.checkpoint.keep)
      self._checkpointers[name] = ocp.CheckpointManager(path, options=options)
    return self._checkpointers[name]

  def write_records(self, records: list[dict[str, Any]]) -> None:
    with open(self.metrics_path, 'a') as f:
      for r in records:
        f.write(json.dumps(r, default=_json_default) + '\n')
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
        self._tb[gi] = SummaryWriter(os.path.join(self.workdir, 'tensorboard', f'point_{gi:03d}'))
      for metric in ('loss', 'accuracy'):
        if metric in r and math.isfinite(r[metric]):
          self._tb[gi].add_scalar(f'{r["split"]}/{metric}', r[metric], r['step'])

  def checkpoint(self, name: str, epoch: int, state: Any, force: bool = False) -> None:
    """Saves the stacked TrainState of one program chunk after ``epoch``.

    Every ``checkpoint.every_epochs`` epochs, at the last epoch, and when ``force``d (on
    SIGTERM/SIGINT). Orbax writes into a temporary directory and renames it when complete,
    so a kill during a save leaves the previous checkpoint as the newest readable one.
    """
    every = self.config.checkpoint.every_epochs
    due = every > 0 and (epoch % every == 0 or epoch == self.config.num_epochs)
    if not (due or force):
      return
    import orbax.checkpoint as ocp  # noqa: PLC0415

    manager = self._manager(name)
    if manager.latest_step() == epoch:
      return
    manager.save(epoch, args=ocp.args.StandardSave(state), force=True)
    manager.wait_until_finished()

  def finish(self, summary: dict[str, Any], results: list[Any]) -> None:
    from experiments import plots  # noqa: PLC0415 (matplotlib only at the end)

    dump_json(summary, os.path.join(self.workdir, 'summary.json'))
    for writer in self._tb.values():
      writer.close()
    for manager in self._checkpointers.values():
      manager.close()
    written = plots.plot_run(self.config, results, summary, self.workdir)
    print(format_table(summary), flush=True)
    for path in written:
      logging.info('plot: %s', path)
    logging.info('workdir: %s', self.workdir)


class Progress:
  """One log line per epoch: loss, accuracy, speed and ETA."""

  def __init__(self, num_epochs: int, examples_per_epoch: int, num_points: int):
    self.num_epochs = num_epochs
    self.examples = examples_per_epoch * num_points
    self.times: list[float] = []
    self._t0 = time.perf_counter()

  def start_epoch(self) -> None:
    self._t0 = time.perf_counter()

  def end_epoch(self, label: str, index: int, num_programs: int, epoch: int, results) -> None:
    elapsed = time.perf_counter() - self._t0
    self.times.append(elapsed)
    steady = self.times[1:] or self.times  # the first epoch includes compilation
    eta = sum(steady) / len(steady) * (self.num_epochs - epoch)
    best = _best(results, 'validation') or _best(results, 'train')
    parts = [
      f'program {index + 1}/{num_programs} [{label}]',
      f'epoch {epoch}/{self.num_epochs}',
    ]
    if best is not None:
      for split in ('train', 'validation'):
        final = best.final(split)
        if final:
          parts.append(f'{split} ' + ' '.join(f'{k} {v:.4f}' for k, v in final.items()))
    diverged = sum(r.diverged_step is not None for r in results)
    if diverged:
      parts.append(f'{diverged}/{len(results)} diverged')
    parts.append(f'{self.examples / elapsed:,.0f} ex/s')
    parts.append(f'ETA {duration(eta)}')
    logging.info(' | '.join(parts))


def duration(seconds: float) -> str:
  """'45s', '13m14s', '1h47m09s'."""
  seconds = int(round(seconds))
  if seconds >= 3600:
    return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s'
  return f'{seconds // 60}m{seconds % 60:02d}s' if seconds >= 60 else f'{seconds}s'


def _best(results, split: str, metric: str = 'loss'):
  """The result with the lowest final ``metric`` on ``split`` among the finite ones."""
  candidates = [
    r
    for r in results
    if r.diverged_step is None and math.isfinite(r.final(split).get(metric, math.nan))
  ]
  if not candidates:
    return None
  sign = -1 if metric == 'accuracy' else 1
  return min(candidates, key=lambda r: sign * r.final(split)[metric])


def summarize(
  results, config: ml_collections.ConfigDict, wall_time: float, train_wall_time: float = 0.0
) -> dict[str, Any]:
  """summary.json: final metrics per grid point, the best per program and overall.

  ``wall_time`` is this process's; ``train_wall_time`` that of every process that trained
  the run (see :attr:`Writer.train_wall_time`), the figure to quote for a resumed run.

  The best point is chosen on the validation split by ``config.eval.select_metric`` (on
  the training loss when there is no validation split) and reported with its test metrics.
  """
  metric = config.eval.select_metric
  split = 'validation' if any(r.final('validation') for r in results) else 'train'
  points = [
    {
      'grid_index': r.grid_index,
      'program': r.program,
      'hparams': r.hparams,
      'diverged_step': r.diverged_step,
      'final': {s: r.final(s) for s in SPLITS if r.final(s)},
    }
    for r in results
  ]
  best_per_program = {}
  for program in dict.fromkeys(r.program for r in results):
    best = _best([r for r in results if r.program == program], split, metric)
    if best is not None:
      best_per_program[program] = best.grid_index
  best = _best(results, split, metric)
  return {
    'num_epochs': config.num_epochs,
    'wall_time_s': round(wall_time, 2),
    'train_wall_time_s': round(max(train_wall_time, wall_time), 2),
    'selected_by': f'{split} {metric}',
    'best_grid_index': None if best is None else best.grid_index,
    'best_per_program': best_per_program,
    'points': points,
  }


def format_table(summary: dict[str, Any], max_rows: int = 40) -> str:
  """The results table printed when a run ends."""
  points = summary['points']
  keys = sorted({k for p in points for k in p['hparams']})
  best_per_program = set(summary['best_per_program'].values())
  header = ['#', 'program', *(k.split('.')[-1] for k in keys)]
  header += ['train loss', 'val loss', 'val acc', 'test loss', 'test acc', '']
  rows = []
  shown = points
  if len(points) > max_rows:  # large grids: the best of each program and the first rows
    shown = [p for p in points if p['grid_index'] in best_per_program] or points[:max_rows]
  for p in shown:
    f = p['final']
    mark = '*' if p['grid_index'] == summary['best_grid_index'] else ''
    mark += '+' if p['grid_index'] in best_per_program else ''
    if p['diverged_step'] is not None:
      mark += f' diverged@{p["diverged_step"]}'
    rows.append(
      [
        str(p['grid_index']),
        p['program'],
        *(_fmt(p['hparams'].get(k)) for k in keys),
        _fmt(f.get('train', {}).get('loss')),
        _fmt(f.get('validation', {}).get('loss')),
        _pct(f.get('validation', {}).get('accuracy')),
        _fmt(f.get('test', {}).get('loss')),
        _pct(f.get('test', {}).get('accuracy')),
        mark,
      ]
    )
  widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
  lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
  lines.insert(1, '-' * len(lines[0]))
  if len(shown) < len(points):
    lines.append(f'({len(points) - len(shown)} more grid points in summary.json)')
  lines.append(
    f'* best on {summary["selected_by"]}; + best of its program; '
    f'{summary["num_epochs"]} epochs in '
    f'{duration(summary.get("train_wall_time_s", summary["wall_time_s"]))}'
  )
  return '\n'.join(lines)


def _fmt(value: Any) -> str:
  if value is None:
    return '-'
  if isinstance(value, bool):
    return str(value)
  if isinstance(value, float):
    return f'{value:.4g}'
  return str(value)


def _pct(value: float | None) -> str:
  return '-' if value is None else f'{100 * value:.2f}%'
