r"""Reproduces the papers' experiments and writes the report: ``make reproduce``.

  python -m experiments.reproduce              # full: results/REPORT.md (about 2 h on 2 CPU cores)
  python -m experiments.reproduce --quick      # reduced grids and epochs: results/quick/ (< 20 min)
  python -m experiments.reproduce --only=reddi,fig1_lr   # some experiments, then the report
  python -m experiments.reproduce --report_only          # the report from the runs that exist

Each experiment is one ``python -m experiments.run`` command (printed, and written into
the report with its wall time) into ``runs/reproduce[_quick]/<name>``. A finished run is
found there and not trained again; an interrupted one resumes from its checkpoints, so
rerunning this command after a crash or Ctrl-C loses at most an epoch. The report is
rebuilt from the runs' ``summary.json`` and ``metrics.jsonl`` (see
:mod:`experiments.report`). Exit status: 0 all ran, 1 an experiment failed (the report is
still written, marking it), 128+signal when interrupted.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from absl import app, flags

from adam_jax import sweep
from experiments import report

_QUICK = flags.DEFINE_bool('quick', False, 'Reduced grids and epochs (< 20 min on 2 cores).')
_ONLY = flags.DEFINE_list('only', [], 'Run only these experiments (names as in EXPERIMENTS).')
_REPORT_ONLY = flags.DEFINE_bool('report_only', False, 'Train nothing; rebuild the report.')
_RUNS = flags.DEFINE_string('runs', None, 'Workdirs root (default runs/reproduce[_quick]).')
_OUT = flags.DEFINE_string('out', None, 'Report directory (default results[/quick]).')
_SMOKE = flags.DEFINE_bool(
  'smoke', False, 'One epoch of every command on synthetic data (tests the pipeline, offline).'
)

FMNIST = ('--config.dataset.name=fashion_mnist',)
# --smoke: appended to every command, so the pipeline runs in seconds on random arrays.
SMOKE = (
  '--config.dataset.synthetic=True',
  '--config.num_epochs=1',
  '--config.batch_size=32',
  '--config.eval.batch_size=64',
  '--config.dataset.validation_size=64',
)


def _tuple(values) -> str:
  return '(' + ', '.join(repr(v) for v in values) + (',)' if len(values) == 1 else ')')


def sweep_flag(path: str, values) -> str:
  """``--config.sweep.<path>=(v1, v2)``: replaces one swept key of the config file."""
  return f'--config.sweep.{path}={_tuple(values)}'


def best_lr_flags(summary: dict[str, Any], optimizer: str) -> tuple[str, ...]:
  """A one-point α sweep: the α of ``optimizer``'s best validation accuracy in ``summary``."""
  points = [
    p
    for p in summary['points']
    if sweep.parse_label(p['program']).get('optimizer.name', p['hparams'].get('optimizer.name'))
    == optimizer
    and p['diverged_step'] is None
    and 'validation' in p['final']
  ]
  if not points:
    raise RuntimeError(f'no finite point of {optimizer} to choose α from')
  best = max(points, key=report.by_validation_accuracy)
  return (sweep_flag('optimizer.learning_rate', [best['hparams']['optimizer.learning_rate']]),)


@dataclasses.dataclass(frozen=True)
class Experiment:
  """One ``experiments.run`` command of the report.

  Attributes:
    name: Its workdir under the runs root, and how the report refers to it.
    config: ``configs/<file>.py[:args]``.
    flags: Overrides of the full report.
    quick: Overrides added in ``--quick`` mode (after ``flags``, so they win).
    after: The experiment whose summary ``derive`` reads (it runs first).
    derive: Extra flags from ``after``'s summary (e.g. the α a screening run chose).
  """

  name: str
  config: str
  flags: tuple[str, ...] = ()
  quick: tuple[str, ...] = ()
  after: str | None = None
  derive: Callable[[dict[str, Any]], tuple[str, ...]] | None = None


_LR_GRID = (0.003, 0.01, 0.03, 0.1)  # Pérez's α/√t grid (per-iteration decay needs large α)
_PEREZ = (*FMNIST, '--config.eval.select_metric=accuracy')
_CNN_SCREEN = (
  *FMNIST,
  '--config.num_epochs=2',
  sweep_flag('model.dropout', [True]),
  sweep_flag('optimizer.learning_rate', [0.003, 0.01, 0.03]),
)
_CNN_FINAL = (*_PEREZ, sweep_flag('model.dropout', [True]))

EXPERIMENTS = (
  # 20 million steps (8 s): in the stochastic problem AMSGrad needs ~10^7 to reach −1.
  Experiment(
    'reddi', 'configs/reddi.py', ('--config.num_epochs=2000',), quick=('--config.num_epochs=200',)
  ),
  Experiment(
    'fig1_lr',
    'configs/lr_mnist.py',
    (
      *FMNIST,
      sweep_flag(
        'optimizer.name', ['adam', 'adamax', 'amsgrad', 'nadam', 'adamw', 'nesterov', 'adagrad']
      ),
    ),
    quick=('--config.num_epochs=15',),
  ),
  Experiment(
    'perez_lr',
    'configs/perez_mnist.py:lr',
    (*_PEREZ, sweep_flag('optimizer.learning_rate', _LR_GRID)),
  ),
  # The CNN costs ~1 min per epoch per point here: its α is screened for 2 epochs, then
  # Adam and AdaMax each train 20 epochs at the α they chose.
  Experiment(
    'perez_cnn_screen',
    'configs/perez_mnist.py:cnn',
    _CNN_SCREEN,
    quick=('--config.num_epochs=1', sweep_flag('optimizer.learning_rate', [0.003, 0.01])),
  ),
  # The usual way to run Adam, beside Pérez's α/√t: constant α = 0.001, the paper's default.
  Experiment(
    'cnn_adam_constant',
    'configs/perez_mnist.py:cnn',
    (
      *_CNN_FINAL,
      '--config.optimizer.schedule=constant',
      sweep_flag('optimizer.name', ['adam']),
      sweep_flag('optimizer.learning_rate', [0.001]),
    ),
    quick=('--config.num_epochs=1',),
  ),
  Experiment(
    'perez_cnn_adam',
    'configs/perez_mnist.py:cnn',
    (*_CNN_FINAL, sweep_flag('optimizer.name', ['adam'])),
    quick=('--config.num_epochs=1',),
    after='perez_cnn_screen',
    derive=lambda s: best_lr_flags(s, 'adam'),
  ),
  Experiment(
    'perez_cnn_adamax',
    'configs/perez_mnist.py:cnn',
    (*_CNN_FINAL, sweep_flag('optimizer.name', ['adamax'])),
    quick=('--config.num_epochs=1',),
    after='perez_cnn_screen',
    derive=lambda s: best_lr_flags(s, 'adamax'),
  ),
  Experiment(
    'perez_mlp',
    'configs/perez_mnist.py:mlp',
    (*_PEREZ, sweep_flag('optimizer.learning_rate', _LR_GRID)),
    quick=('--config.num_epochs=4', sweep_flag('optimizer.learning_rate', [0.003, 0.01])),
  ),
  Experiment(
    'fig2a_mlp_dropout',
    'configs/mlp_mnist.py:dropout',
    (
      *FMNIST,
      '--config.num_epochs=10',
      sweep_flag('optimizer.learning_rate', [1e-3, 1e-2, 1e-1, 1.0]),
    ),
    quick=('--config.num_epochs=3', sweep_flag('optimizer.learning_rate', [1e-3, 1e-1])),
  ),
  Experiment(
    'fig2b_mlp_l2',
    'configs/mlp_mnist.py',
    FMNIST,
    quick=('--config.num_epochs=4', sweep_flag('optimizer.learning_rate', [1e-4, 1e-3])),
  ),
  Experiment(
    'fig4_vae',
    'configs/vae_mnist.py',
    (*FMNIST, '--config.dataset.binarize=True'),
    quick=(
      '--config.num_epochs=2',
      sweep_flag('optimizer.b2', [0.99, 0.9999]),
      sweep_flag('optimizer.learning_rate', [1e-4, 1e-3, 1e-2]),
    ),
  ),
)
BY_NAME = {e.name: e for e in EXPERIMENTS}


def shell_join(argv: list[str]) -> str:
  """A command line to paste into a shell; arguments with spaces or quotes in "..."."""
  safe = set('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/+@%')
  return ' '.join(a if set(a) <= safe else '"' + a.replace('"', '\\"') + '"' for a in argv)


def merge_flags(*groups: tuple[str, ...]) -> list[str]:
  """The flags of all groups, a later value of a flag replacing an earlier one.

  Needed because a config override given twice is not last-wins for tuples:
  ``--config.sweep.x=(1, 2) --config.sweep.x=(3,)`` gives ``x = (1, 2, 3)``.
  """
  merged: dict[str, str] = {}
  for flag in (f for group in groups for f in group):
    merged[flag.split('=', 1)[0]] = flag
  return list(merged.values())


def command(experiment: Experiment, runs: str, quick: bool, smoke: bool = False) -> list[str]:
  """The ``experiments.run`` command line of ``experiment``."""
  groups = [experiment.flags, experiment.quick if quick else (), SMOKE if smoke else ()]
  if experiment.derive is not None:
    after = report.Run.load(runs, experiment.after)
    if after is None:
      raise RuntimeError(f'{experiment.name} needs the results of {experiment.after} first')
    groups.append(experiment.derive(after.summary))
  flags_ = merge_flags(*groups)
  return [
    'python',
    '-m',
    'experiments.run',
    f'--config={experiment.config}',
    *flags_,
    f'--workdir={os.path.join(runs, experiment.name)}',
  ]


class Stopped(Exception):
  """SIGINT or SIGTERM: the running experiment saved a checkpoint and exited."""


def _stop_on_sigterm(signum, frame):
  del frame
  raise Stopped(128 + signum)


def run_one(experiment: Experiment, runs: str, quick: bool, smoke: bool) -> dict[str, Any]:
  """Runs (or finds finished) one experiment; returns its status and command.

  On SIGINT/SIGTERM the child (which checkpoints and exits on either) is waited for, not
  killed, and :class:`Stopped` is raised with the exit status to end with.
  """
  try:
    argv = command(experiment, runs, quick, smoke)
  except RuntimeError as e:
    return {'status': 'skipped', 'why': str(e)}
  printable = shell_join(argv)
  print(f'\n=== {experiment.name}: {printable}', flush=True)
  start = time.perf_counter()
  with subprocess.Popen([sys.executable, *argv[1:]]) as child:
    try:
      rc = child.wait()
    except (KeyboardInterrupt, Stopped) as e:
      code = e.args[0] if isinstance(e, Stopped) else 128 + signal.SIGINT
      if isinstance(e, Stopped):  # Ctrl-C reaches the child by itself; a kill may not
        child.send_signal(signal.SIGTERM)
      child.wait()
      raise Stopped(code) from None
  elapsed = time.perf_counter() - start
  if rc >= 128:  # the child was stopped by a signal sent to it alone
    raise Stopped(rc)
  return {
    'status': 'ok' if rc == 0 else f'failed (exit {rc})',
    'command': printable,
    'process_s': round(elapsed, 1),
  }


def main(argv: list[str]) -> int:
  del argv
  quick = _QUICK.value
  runs = _RUNS.value or os.path.join('runs', 'reproduce_quick' if quick else 'reproduce')
  out = _OUT.value or os.path.join('results', 'quick' if quick else '')
  unknown = set(_ONLY.value) - set(BY_NAME)
  if unknown:
    print(f'error: --only: unknown experiment(s) {sorted(unknown)}; know {list(BY_NAME)}')
    return 2
  chosen = [e for e in EXPERIMENTS if not _ONLY.value or e.name in _ONLY.value]
  status: dict[str, dict[str, Any]] = {}
  if not _REPORT_ONLY.value:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
      for e in chosen:
        status[e.name] = run_one(e, runs, quick, _SMOKE.value)
    except Stopped as e:
      print(f'stopped; rerun the same command to resume (exit {e.args[0]})', flush=True)
      return e.args[0]
  commands = {}
  for e in EXPERIMENTS:
    try:
      commands[e.name] = shell_join(command(e, runs, quick, _SMOKE.value))
    except RuntimeError:
      commands[e.name] = None
  failed = [n for n, s in status.items() if s['status'] != 'ok']
  notes = {n: status[n].get('why', status[n]['status']) for n in failed}
  path = report.write(runs, out, commands, quick=quick, failed=notes)
  print(f'report: {path}', flush=True)
  if failed:
    print(f'failed or skipped: {", ".join(failed)} (see their output above)', flush=True)
  return 1 if failed else 0


if __name__ == '__main__':
  app.run(main)
