"""Steps: one ``python -m experiments.run`` command each, run in turn and resumed.

What :mod:`experiments.reproduce` (the papers' experiments) and :mod:`experiments.benchmark`
(an optimizer on the benchmark's problems) share: a step's command line, running it as a
child process into its own workdir (a finished run is found there and not trained again;
an interrupted one resumes from its checkpoints), and stopping cleanly on SIGINT/SIGTERM.
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

from experiments import archive, results, select


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
    args: Further ``experiments.run`` arguments, before ``--workdir``; by default the
      reproduction's rule that no choice stays at an edge of its α grid (``extend_grid``).
      The benchmark gives its optimizer and seeds instead (a fixed budget: no extension).
  """

  name: str
  config: str
  learning_rate_from: tuple[str, str] | None = None
  args: tuple[str, ...] = ('--config.extend_grid=True',)

  @property
  def after(self) -> str | None:
    """The step whose result this one needs (it runs first)."""
    return self.learning_rate_from[0] if self.learning_rate_from else None


def command(step: Step, runs: str, quick: bool, smoke: bool = False) -> list[str]:
  """The ``experiments.run`` command line of ``step``.

  Raises:
    RuntimeError: When the step needs an earlier step's result that is not there yet.
  """
  extra = [a for a, on in (('quick', quick), ('smoke', smoke)) if on]
  config = (
    step.config + (',' if ':' in step.config else ':') + ','.join(extra) if extra else step.config
  )
  argv = ['python', '-m', 'experiments.run', f'--config={config}', *step.args]
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
  if kept and archive.archived_command(kept) == printable:
    if results.Run.load(workdir) is None:
      archive.restore(kept, workdir)
      print(f'\n=== {step.name}: restored from {kept} (made by the same command)', flush=True)
      return {'status': 'ok', 'command': printable, 'process_s': 0.0}
    if archive.holds(kept, workdir):  # restored before: finished, with nothing to resume
      print(f'\n=== {step.name}: finished (restored from {kept})', flush=True)
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


def run_steps(
  steps: list[Step], runs: str, quick: bool, smoke: bool, archive_root: str | None = None
) -> dict[str, dict[str, Any]]:
  """Runs (or finds finished, or restores) each step in turn: :func:`run_one`'s status of each.

  Raises:
    Stopped: On SIGINT or SIGTERM, once the running step has checkpointed and exited;
      running the same command again resumes.
  """
  signal.signal(signal.SIGTERM, _stop_on_sigterm)
  return {step.name: run_one(step, runs, quick, smoke, archive_root) for step in steps}


def commands(steps, runs: str, quick: bool, smoke: bool) -> dict[str, str | None]:
  """Each step's command line, for the report (None: it needs an earlier step's result)."""
  out = {}
  for step in steps:
    try:
      out[step.name] = shlex.join(command(step, runs, quick, smoke))
    except RuntimeError:
      out[step.name] = None
  return out
