r"""Benchmarks an optimizer on the papers' problems against committed baselines (issue 16).

  python -m experiments.benchmark --optimizer=optax.lion              # quick budget, 5 problems
  python -m experiments.benchmark --optimizer=my_pkg.opt:make --budget=full   # on a GPU
  python -m experiments.benchmark --optimizer=adamax --problems=mnist_mlp,mnist_vae
  python -m experiments.benchmark --optimizer=adam --baseline         # (re)makes Adam's baselines
  python -m experiments.benchmark --optimizer=optax.lion --report_only

Each problem of ``configs/benchmark.py`` is one ``python -m experiments.run`` command
(printed, and written into the report) into ``--workdir``/<problem> (default workdir:
runs/benchmark/<budget>/<optimizer>): a quasi-random search of α (with ``--budget=full``
also 1−β1, or 1−momentum, when the optimizer takes one), the chosen point trained again
with fresh seeds. A finished run is reused and an interrupted one resumes, as
:mod:`experiments.reproduce` does its steps. Then ``--workdir``/REPORT.md compares the
optimizer with the baselines in ``--baselines``/<budget>/<problem>/ (see
:mod:`experiments.report.benchmark`); ``--baseline`` writes the optimizer's own records
there. Exit status: 0 done, 1 a problem failed (the report marks it), 2 invalid usage,
128+signal when interrupted.
"""

from __future__ import annotations

import datetime
import os
import shlex
import sys

from absl import app, flags

from configs import benchmark as problems_config
from experiments import baselines, results, suite
from experiments import steps as steps_lib
from experiments.console import duration
from experiments.report import benchmark as report
from experiments.report.common import machines

_OPTIMIZER = flags.DEFINE_string(
  'optimizer', None, 'The optimizer: a registered name, optax.NAME or module.path:factory.'
)
_PROBLEMS = flags.DEFINE_list('problems', list(problems_config.PROBLEMS), 'Problems to run.')
_BUDGET = flags.DEFINE_enum(
  'budget', 'quick', list(problems_config.BUDGETS), 'quick: ~20 min on 2 CPU cores; full: a GPU.'
)
_SEEDS = flags.DEFINE_integer('seeds', None, 'Fresh seeds of the chosen point (default: budget).')
_WORKDIR = flags.DEFINE_string(
  'workdir', None, 'Runs and report (default: runs/benchmark/<budget>/<optimizer>).'
)
_BASELINES = flags.DEFINE_string('baselines', baselines.DEFAULT_DIR, 'The baselines directory.')
_BASELINE = flags.DEFINE_bool(
  'baseline', False, "Write the optimizer's records as baselines into --baselines."
)
_SET = flags.DEFINE_multi_string(
  'set', [], 'PATH=VALUE: --config.PATH=VALUE for every problem (e.g. optimizer.b2=0.95).'
)
_REPORT_ONLY = flags.DEFINE_bool('report_only', False, 'Train nothing; rebuild the report.')
_SMOKE = flags.DEFINE_bool(
  'smoke', False, 'Every problem as its :smoke variant (synthetic data; tests the pipeline).'
)


def head(optimizer: str, runs: str, problems: list[report.Problem]) -> list[str]:
  """The report's title, provenance and protocol."""
  command = shlex.join(['python', '-m', 'experiments.benchmark', *_argv()])
  seeds = problems_config.QUICK_SEEDS if _BUDGET.value == 'quick' else problems_config.FULL_SEEDS
  low, high = problems_config.LEARNING_RATES
  trained = {  # where the runs trained, read from their records
    p.name: (p.ours.get('machine'), p.ours['train_wall_time_s']) for p in problems if p.ours
  }
  spent = sum(seconds for _, seconds in trained.values())
  made_on = machines(trained) or f'Made on {results.machine()}.'  # or: nothing trained yet
  return [
    f'# Benchmark of `{optimizer}` ({_BUDGET.value} budget{", smoke" * _SMOKE.value})',
    '',
    f'`{command}` on {datetime.date.today().isoformat()}. {made_on} Training '
    f'took {duration(spent)} in all (runs in `{runs}/`). Rerunning the command reuses '
    'finished runs and resumes interrupted ones; `--report_only` rebuilds this report.',
    '',
    f'**Protocol** (`configs/benchmark.py`): on each problem a constant α, log-uniform in '
    f'[{low:g}, {high:g}] (the full budget also searches 1−β1 or 1−momentum, log-uniform in '
    '[0.01, 0.5]), drawn at the points of a scrambled Halton sequence, one seed each, all '
    'in one vmapped program; the point with the best validation metric (accuracy; the '
    f"VAE's loss) is trained again with {_SEEDS.value or seeds} fresh seeds, and those are "
    "reported. A verdict is Welch's two-sided t test on the seeds' final test metric, its p "
    'Holm-adjusted over every verdict of this report: **better** or **worse** when the '
    'adjusted p is below 5%, **not resolved** otherwise. '
    f'Baselines: `{os.path.join(_BASELINES.value, _folder())}/` (each file names the '
    'command and the machine that made it).',
    '',
  ]


def main(argv: list[str]) -> int:
  """Runs the problems (unless --report_only), writes baselines if asked, then the report."""
  if len(argv) > 1:
    return _usage(f'unexpected arguments: {" ".join(argv[1:])}')
  optimizer = _OPTIMIZER.value
  if not optimizer:
    return _usage('--optimizer is required, e.g. --optimizer=optax.lion')
  unknown = [p for p in _PROBLEMS.value if p not in problems_config.PROBLEMS]
  if unknown or not _PROBLEMS.value:
    return _usage(f'--problems: unknown {unknown}; known: {", ".join(problems_config.PROBLEMS)}')
  if _SEEDS.value is not None and _SEEDS.value < 2:
    return _usage(f'--seeds={_SEEDS.value}: a verdict needs at least 2 seeds')
  quick = _BUDGET.value == 'quick'
  chosen = suite.steps(optimizer, _BUDGET.value, _PROBLEMS.value, _SEEDS.value, _SET.value)
  if (why := suite.check(optimizer, chosen[0], _SMOKE.value)) is not None:
    return _usage(why)
  runs = _WORKDIR.value or os.path.join('runs', 'benchmark', _folder(), baselines.slug(optimizer))
  status = {}
  if not _REPORT_ONLY.value:
    try:
      status = steps_lib.run_steps(chosen, runs, quick, _SMOKE.value)
    except steps_lib.Stopped as e:
      print(f'stopped; rerun the same command to resume (exit {e.args[0]})', flush=True)
      return e.args[0]
  commands = steps_lib.commands(chosen, runs, quick, _SMOKE.value)
  problems = [
    suite.problem(
      s, optimizer, runs, commands[s.name], _BASELINES.value, _folder(), status.get(s.name)
    )
    for s in chosen
  ]
  if _BASELINE.value:
    made = shlex.join(['python', '-m', 'experiments.benchmark', *_argv()])
    for p in (p for p in problems if p.ours):
      path = baselines.write(
        p.ours, _BASELINES.value, _folder(), p.name, {'benchmark': made, 'run': p.command}
      )
      print(f'baseline: {path}', flush=True)
  path = report.write(runs, problems, optimizer, head(optimizer, runs, problems))
  print(f'report: {path}', flush=True)
  failed = [p.name for p in problems if p.ours is None]
  if failed:
    print(f'no result: {", ".join(failed)} (see their output above)', flush=True)
  return 1 if failed else 0


def _folder() -> str:
  """The budget's folder of runs and baselines: 'quick', 'full' ('quick_smoke' with --smoke).

  Smoke runs (synthetic data) never mix with, or overwrite, the real budget's baselines.
  """
  return _BUDGET.value + ('_smoke' if _SMOKE.value else '')


def _argv() -> list[str]:
  """The arguments that made the runs (--report_only only rebuilds the report)."""
  return [a for a in sys.argv[1:] if a not in ('--report_only', '--report_only=true')]


def _usage(message: str) -> int:
  print(f'error: {message}', file=sys.stderr)
  return 2


if __name__ == '__main__':
  app.run(main)
