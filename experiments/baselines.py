"""The benchmark's per-seed records: what a baseline file holds, and what a run is compared by.

A record is read from a finished benchmark run (:class:`experiments.results.Run`): the
configuration the search chose, trained again with fresh seeds, and per seed its final
test metrics, its validation loss after every epoch (by step) and its training time per
epoch. The committed baselines are such records, one JSON file per optimizer, problem and
budget: ``results/baselines/<budget>/<problem>/<optimizer>.json``, with the commands that
made them, so a new optimizer is compared with them without training them again.
"""

from __future__ import annotations

import datetime
import os
import re
from typing import Any

from experiments import sweep as sweep_lib
from experiments.plots import steps_per_epoch
from experiments.results import Run, machine
from experiments.rundir import dump_json, read

FORMAT = 1
DEFAULT_DIR = os.path.join('results', 'baselines')
# What must agree for two records to be compared (the protocol), as dotted config prefixes.
PROTOCOL = (
  'num_epochs',
  'batch_size',
  'dataset.',
  'model.',
  'optimizer.schedule',
  'search.points',
  'search.sequence',
  'search.seed',
  'search.space.optimizer.learning_rate',
  'eval.select_metric',
)


def protocol(config: dict[str, Any]) -> dict[str, Any]:
  """The config values of a run (as ``config.json`` holds them) that its protocol fixes."""
  flat = sweep_lib.flatten(config)
  local = ('dataset.data_dir',)  # where this machine keeps the data
  return {k: v for k, v in sorted(flat.items()) if k.startswith(PROTOCOL) and k not in local}


def trained_on(rec: dict[str, Any]) -> str | None:
  """The machine a record was trained on: a fresh record's, else its file's ``made_by``."""
  return rec.get('machine') or rec.get('made_by', {}).get('machine')


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
  """The protocol keys in which two records differ (e.g. epochs, search points, data)."""
  pa, pb = a.get('protocol', {}), b.get('protocol', {})
  return sorted(k for k in set(pa) | set(pb) if pa.get(k) != pb.get(k))


def record(run: Run) -> dict[str, Any]:
  """The record of a finished benchmark run (tuning, then ``rerun_seeds`` fresh seeds).

  Raises:
    ValueError: When the run chose no configuration (every tuning point diverged and
      nothing was trained again).
  """
  chosen = run.best_configurations()
  if not chosen:
    raise ValueError(f'{run.workdir}: the run chose no configuration to report')
  final = chosen[0]  # the rerun of the (one) tuning program's choice
  steps = steps_per_epoch(run)
  epoch_time = run.epoch_time_s(final.program)
  seeds = []
  for seed, gi in zip(final.seeds, final.grid_indices, strict=True):
    point = run.point(gi)
    curve = run.series(gi, 'validation', 'loss')
    seeds.append(
      {
        'seed': seed,
        'diverged_step': point.diverged_step,
        'test': point.final.get('test', {}),
        'validation_loss': [[epoch * steps, value] for epoch, value in sorted(curve.items())],
        # The rerun trains its seeds together: each seed's share of an epoch's time.
        'epoch_time_s': epoch_time / len(final.seeds) if epoch_time else None,
      }
    )
  tuning = [p for p in run.points if p.program not in (run.summary.get('rerun_programs') or [])]
  return {
    'format': FORMAT,
    'optimizer': final.get('optimizer.name') or run.config['optimizer']['name'],
    'metric': run.config['eval']['select_metric'],
    'chosen': dict(final.hparams),
    # A choice at an end of the α values tried (experiments.extend's rule, as for grids).
    'edges': [[e['chosen'], e['end']] for e in run.summary.get('grid_edges') or []],
    'tuning': {'points': len(tuning), 'diverged': sum(p.failed for p in tuning)},
    'steps_per_epoch': steps,
    'train_wall_time_s': round(run.train_wall_time_s, 1),
    'machine': run.machine,  # where it was trained (None: a run made before runs kept it)
    'protocol': protocol(run.config),
    'seeds': seeds,
  }


def values(rec: dict[str, Any], split: str = 'test', metric: str | None = None) -> list[float]:
  """The final ``metric`` (default: the record's own) of each seed that did not diverge."""
  metric = metric or rec['metric']
  return [
    s[split][metric] for s in rec['seeds'] if s['diverged_step'] is None and metric in s[split]
  ]


def curves(rec: dict[str, Any]) -> list[dict[int, float]]:
  """Each seed's validation loss ``{step: value}``, for the seeds that did not diverge."""
  return [
    {int(step): v for step, v in s['validation_loss']}
    for s in rec['seeds']
    if s['diverged_step'] is None
  ]


def epoch_time_s(rec: dict[str, Any]) -> float | None:
  """Seconds of training in one epoch of one seed (None when not timed)."""
  times = [s['epoch_time_s'] for s in rec['seeds'] if s.get('epoch_time_s')]
  return sum(times) / len(times) if times else None


def slug(optimizer: str) -> str:
  """An optimizer name as a file name: 'optax.lion', 'my_pkg.mod_make_opt'."""
  return re.sub(r'[^A-Za-z0-9._-]+', '_', optimizer)


def write(
  rec: dict[str, Any], root: str, budget: str, problem: str, commands: dict[str, str]
) -> str:
  """Writes a record as the baseline of its optimizer; returns the file's path.

  Args:
    rec: :func:`record`'s record.
    root: The baselines' directory (``results/baselines``).
    budget: 'quick' or 'full'.
    problem: The problem's name.
    commands: How it was made: the benchmark's command and the problem's run command.
  """
  path = os.path.join(root, budget, problem, slug(rec['optimizer']) + '.json')
  os.makedirs(os.path.dirname(path), exist_ok=True)
  rec = dict(rec)
  where = rec.pop('machine', None) or machine()  # the training's machine, else this one
  made = {**commands, 'date': datetime.date.today().isoformat(), 'machine': where}
  dump_json({**rec, 'made_by': made}, path)
  return path


def load(root: str, budget: str, problem: str) -> dict[str, dict[str, Any]]:
  """The baselines of one problem: ``{optimizer: record}`` ({} when there are none)."""
  folder = os.path.join(root, budget, problem)
  if not os.path.isdir(folder):
    return {}
  out = {}
  for name in sorted(os.listdir(folder)):
    if name.endswith('.json'):
      rec = read(os.path.join(folder, name), None)
      if rec is not None and rec.get('format') == FORMAT:
        out[rec['optimizer']] = rec
  return out
