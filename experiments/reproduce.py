r"""Reproduces the papers' experiments and writes the report: ``make reproduce``.

  python -m experiments.reproduce              # full: results/REPORT.md (about 2 h on 2 CPU cores)
  python -m experiments.reproduce --quick      # reduced grids and epochs: results/quick/ (< 20 min)
  python -m experiments.reproduce --only=reddi,fig1_lr   # some experiments, then the report
  python -m experiments.reproduce --report_only          # the report from the runs that exist

The full report also rewrites the README's findings block (``--readme``) from the same
verdicts, so the two cannot disagree.

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
import shlex
import signal
import subprocess
import sys
import time
from typing import Any

from absl import app, flags

from experiments import archive, report, results, select

_QUICK = flags.DEFINE_bool('quick', False, 'Reduced grids and epochs (< 20 min on 2 cores).')
_ONLY = flags.DEFINE_list('only', [], 'Run only these steps (names as in STEPS).')
_REPORT_ONLY = flags.DEFINE_bool('report_only', False, 'Train nothing; rebuild the report.')
_RUNS = flags.DEFINE_string('runs', None, 'Workdirs root (default runs/reproduce[_quick]).')
_OUT = flags.DEFINE_string('out', None, 'Report directory (default results[/quick]).')
_SMOKE = flags.DEFINE_bool(
  'smoke', False, 'Every step as its :smoke variant (synthetic data; tests the pipeline offline).'
)
_README = flags.DEFINE_string(
  'readme',
  None,
  "A README whose findings block the report's summary replaces (default README.md for the "
  "full report into results/; '' for none).",
)


@dataclasses.dataclass(frozen=True)
class Step:
  """One ``experiments.run`` of the report: a config file with its arguments.

  Attributes:
    name: Its workdir under the runs root, and how the report refers to it.
    config: ``configs/<file>.py:<args>``; ``--quick`` and ``--smoke`` add ``quick`` and
      ``smoke`` to the arguments.
    learning_rate_from: ``(step, optimizer)``: the step runs at the α that ``optimizer``
      chose in that earlier step's run (its best validation accuracy), given as
      ``--config.optimizer.learning_rate``.
  """

  name: str
  config: str
  learning_rate_from: tuple[str, str] | None = None

  @property
  def after(self) -> str | None:
    """The step whose result this one needs (it runs first)."""
    return self.learning_rate_from[0] if self.learning_rate_from else None


STEPS = (
  # The papers' MNIST experiments, on real MNIST (`make install` provides it offline).
  Step('reddi', 'configs/reddi.py:long'),
  Step('fig1_lr', 'configs/lr_mnist.py:followups,rerun'),
  Step('perez_lr', 'configs/perez_mnist.py:lr,rerun'),
  Step('perez_mlp', 'configs/perez_mnist.py:mlp,rerun'),
  Step('fig2a_mlp_dropout', 'configs/mlp_mnist.py:dropout,short,rerun'),
  Step('fig2b_mlp_l2', 'configs/mlp_mnist.py'),
  Step('fig4_vae', 'configs/vae_mnist.py:rerun'),
  Step('perez_cnn_screen', 'configs/perez_mnist.py:cnn,screen'),
  Step('perez_cnn_adam', 'configs/perez_mnist.py:cnn,adam,seeds', ('perez_cnn_screen', 'adam')),
  Step(
    'perez_cnn_adamax',
    'configs/perez_mnist.py:cnn,adamax,seeds',
    ('perez_cnn_screen', 'adamax'),
  ),
  Step('cnn_adam_constant', 'configs/perez_mnist.py:cnn,constant,seeds'),
  # What stays on Fashion-MNIST: DeepOBS's problem, the generalization study, Figure 3's CNN.
  Step('fmnist_2c2d', 'configs/fmnist_2c2d.py:seeds'),
  Step('generalization', 'configs/generalization.py:rerun'),
  Step('generalization_decoupled', 'configs/generalization.py:decoupled,rerun'),
  Step('fig3_cnn_first3', 'configs/cnn_cifar.py:fmnist,first3'),
)
BY_NAME = {s.name: s for s in STEPS}


def command(step: Step, runs: str, quick: bool, smoke: bool = False) -> list[str]:
  """The ``experiments.run`` command line of ``step``.

  Raises:
    RuntimeError: When the step needs an earlier step's result that is not there yet.
  """
  extra = [a for a, on in (('quick', quick), ('smoke', smoke)) if on]
  config = (
    step.config + (',' if ':' in step.config else ':') + ','.join(extra) if extra else step.config
  )
  argv = ['python', '-m', 'experiments.run', f'--config={config}', '--config.extend_grid=True']
  if step.learning_rate_from is not None:
    after, optimizer = step.learning_rate_from
    run = results.Run.load(os.path.join(runs, after))
    if run is None:
      raise RuntimeError(f'{step.name} needs the results of {after} first')
    alpha = select.chosen_learning_rate(run.configurations, optimizer)  # by the mean over seeds
    argv.append(f'--config.optimizer.learning_rate={alpha!r}')
  return [*argv, f'--workdir={os.path.join(runs, step.name)}']


class Stopped(Exception):
  """SIGINT or SIGTERM: the running experiment saved a checkpoint and exited."""


def _stop_on_sigterm(signum, frame):
  del frame
  raise Stopped(128 + signum)


def run_one(
  step: Step, runs: str, quick: bool, smoke: bool, archive_root: str | None = None
) -> dict[str, Any]:
  """Runs (or finds finished) one experiment; returns its status and command.

  With ``archive_root``, a step whose workdir has no finished run but whose archive
  (:mod:`experiments.archive`) was made by the same command is restored, not trained;
  a step that finishes is archived.

  On SIGINT/SIGTERM the child (which checkpoints and exits on either) is waited for, not
  killed, and :class:`Stopped` is raised with the exit status to end with.
  """
  try:
    argv = command(step, runs, quick, smoke)
  except RuntimeError as e:
    return {'status': 'skipped', 'why': str(e)}
  printable = shlex.join(argv)
  workdir, kept = (
    os.path.join(runs, step.name),
    archive_root and os.path.join(archive_root, step.name),
  )
  if kept and results.Run.load(workdir) is None and archive.archived_command(kept) == printable:
    archive.restore(kept, workdir)
    print(f'\n=== {step.name}: restored from {kept} (made by the same command)', flush=True)
    return {'status': 'ok', 'command': printable, 'process_s': 0.0}
  print(f'\n=== {step.name}: {printable}', flush=True)
  start = time.perf_counter()
  # A workdir left by an older recipe of the step is retrained, not an error.
  with subprocess.Popen([sys.executable, *argv[1:], '--replace_other_config']) as child:
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
  if rc == 0 and kept:
    archive.save(workdir, kept, printable)
  return {
    'status': 'ok' if rc == 0 else f'failed (exit {rc})',
    'command': printable,
    'process_s': round(elapsed, 1),
  }


def main(argv: list[str]) -> int:
  """Runs the chosen steps (unless --report_only), then writes the report."""
  del argv
  quick = _QUICK.value
  runs = _RUNS.value or os.path.join('runs', 'reproduce_quick' if quick else 'reproduce')
  out = _OUT.value or os.path.join('results', 'quick' if quick else '')
  unknown = set(_ONLY.value) - set(BY_NAME)
  if unknown:
    print(f'error: --only: unknown experiment(s) {sorted(unknown)}; know {list(BY_NAME)}')
    return 2
  chosen = [s for s in STEPS if not _ONLY.value or s.name in _ONLY.value]
  # Finished full runs are kept in the repository (results/runs): nothing trained is lost.
  archive_root = None if quick or _SMOKE.value or _RUNS.value else os.path.join(out, 'runs')
  status: dict[str, dict[str, Any]] = {}
  if not _REPORT_ONLY.value:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
      for step in chosen:
        status[step.name] = run_one(step, runs, quick, _SMOKE.value, archive_root)
    except Stopped as e:
      print(f'stopped; rerun the same command to resume (exit {e.args[0]})', flush=True)
      return e.args[0]
  commands = {}
  for step in STEPS:
    try:
      commands[step.name] = shlex.join(command(step, runs, quick, _SMOKE.value))
    except RuntimeError:
      commands[step.name] = None
  failed = [n for n, s in status.items() if s['status'] != 'ok']
  notes = {n: status[n].get('why', status[n]['status']) for n in failed}
  readme = _README.value
  if readme is None:  # the committed report and the README's findings, from the same runs
    readme = 'README.md' if not (quick or _SMOKE.value or _OUT.value) else ''
  try:
    path = report.write(runs, out, commands, quick=quick, failed=notes, readme=readme)
  except (ValueError, OSError) as e:  # the README has no findings block, or is not there
    print(f'error: {e}', flush=True)
    return 1
  print(f'report: {path}' + (f' (and the findings of {readme})' if readme else ''), flush=True)
  if failed:
    print(f'failed or skipped: {", ".join(failed)} (see their output above)', flush=True)
  return 1 if failed else 0


if __name__ == '__main__':
  app.run(main)
