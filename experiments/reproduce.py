r"""Reproduces the papers' experiments and writes the report: ``make reproduce``.

  python -m experiments.reproduce              # full: results/REPORT.md (> 11 h on 2 CPU cores)
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

import os
from typing import Any

from absl import app, flags

from experiments import report
from experiments.steps import Step, Stopped, commands, run_steps

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
  Step('fig3_cnn_first3', 'configs/cnn_cifar.py:fmnist,first3,rerun'),
)
BY_NAME = {s.name: s for s in STEPS}


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
    try:
      status = run_steps(chosen, runs, quick, _SMOKE.value, archive_root)
    except Stopped as e:
      print(f'stopped; rerun the same command to resume (exit {e.args[0]})', flush=True)
      return e.args[0]
  lines = commands(STEPS, runs, quick, _SMOKE.value)
  failed = [n for n, s in status.items() if s['status'] != 'ok']
  notes = {n: status[n].get('why', status[n]['status']) for n in failed}
  readme = _README.value
  if readme is None:  # the committed report and the README's findings, from the same runs
    readme = 'README.md' if not (quick or _SMOKE.value or _OUT.value) else ''
  try:
    path = report.write(runs, out, lines, quick=quick, failed=notes, readme=readme)
  except (ValueError, OSError) as e:  # the README has no findings block, or is not there
    print(f'error: {e}', flush=True)
    return 1
  print(f'report: {path}' + (f' (and the findings of {readme})' if readme else ''), flush=True)
  if failed:
    print(f'failed or skipped: {", ".join(failed)} (see their output above)', flush=True)
  return 1 if failed else 0


if __name__ == '__main__':
  app.run(main)
