"""`python -m experiments.benchmark`: time to target, performance profiles, verdicts, end to end."""

from __future__ import annotations

import json
import math
import os
import pathlib
import subprocess

import forkserver
import numpy as np
import pytest
from conftest import cli_env

from configs import benchmark as problems_config
from experiments import baselines, programs, results, suite, targets, validate
from experiments.report import benchmark as report
from experiments.results import Run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- time to target and performance profiles, against values computed by hand -------------


def test_steps_to_target_is_the_first_evaluation_at_or_below_it():
  steps, values = [10, 20, 30, 40], [5.0, 3.0, 2.0, 2.5]
  assert targets.steps_to_target(steps, values, 2.0) == 30
  assert targets.steps_to_target(steps, values, 2.5) == 30
  assert targets.steps_to_target(steps, values, 3.0) == 20
  assert targets.steps_to_target(steps, values, 1.0) is None
  assert targets.steps_to_target([10, 20], [math.nan, 1.0], 2.0) == 20


def test_the_mean_curve_keeps_the_steps_every_seed_has_a_finite_value_at():
  steps, mean = targets.mean_curve([{4: 2.0, 8: 1.0, 12: 0.5}, {4: 1.0, 8: 2.0}])
  assert steps.tolist() == [4, 8] and mean.tolist() == [1.5, 1.5]
  steps, mean = targets.mean_curve([{4: 2.0, 8: math.nan}, {4: 1.0, 8: 2.0}])
  assert steps.tolist() == [4] and mean.tolist() == [1.5]


def test_performance_profile_and_score_by_hand():
  # Fastest: p1 100 (a), p2 50 (b), p3 100 (b). Ratios: a 1, inf, 3; b 2, 1, 1; c 4, 2, inf.
  times = {
    'a': {'p1': 100, 'p2': None, 'p3': 300},
    'b': {'p1': 200, 'p2': 50, 'p3': 100},
    'c': {'p1': 400, 'p2': 100},  # p3 missing: not reached
  }
  taus = [1, 2, 3, 4]
  rho = targets.performance_profile(times, taus)
  np.testing.assert_allclose(rho['a'], [1 / 3, 1 / 3, 2 / 3, 2 / 3])
  np.testing.assert_allclose(rho['b'], [2 / 3, 1, 1, 1])
  np.testing.assert_allclose(rho['c'], [0, 1 / 3, 1 / 3, 2 / 3])
  assert targets.profile_score(rho['a'], taus) == pytest.approx(0.5)
  assert targets.profile_score(rho['b'], taus) == pytest.approx(17 / 18)
  assert targets.profile_score(rho['c'], taus) == pytest.approx(1 / 3)
  # A problem nobody solves counts against everybody.
  times['a']['p4'] = math.inf
  rho = targets.performance_profile(times, taus)
  np.testing.assert_allclose(rho['b'], [2 / 4, 3 / 4, 3 / 4, 3 / 4])


def record(curves, accuracies, epoch_time=0.5, metric='accuracy', steps_per_epoch=10):
  """A benchmark record as :func:`experiments.baselines.record` writes it."""
  return {
    'metric': metric,
    'steps_per_epoch': steps_per_epoch,
    'seeds': [
      {
        'seed': i,
        'diverged_step': None,
        'test': {metric: a},
        'validation_loss': [[s, v] for s, v in curve.items()],
        'epoch_time_s': epoch_time,
      }
      for i, (curve, a) in enumerate(zip(curves, accuracies, strict=True))
    ],
  }


def test_steps_and_time_to_a_baselines_final_validation_loss_by_hand():
  ours = record([{10: 3.0, 20: 1.0, 30: 0.5}, {10: 2.0, 20: 2.0, 30: 0.7}], [0.9, 0.91])
  # Mean curve 2.5, 1.5, 0.6: 1.5 is reached after 20 steps (2 epochs of 0.5 s).
  assert report.reach(ours, 1.5) == (20, 1.0)
  assert report.reach(ours, 0.6) == (30, 1.5)
  assert report.reach(ours, 0.5) == (None, None)
  theirs = record([{10: 1.0, 20: 0.8, 30: 0.9}], [0.8], epoch_time=None)
  assert report.reach(theirs, 0.9) == (20, None)  # not timed: steps only
  problem = report.Problem('p', None, ours, {'x': theirs, 'y': ours})
  assert problem.target == pytest.approx(0.6)  # the lowest final mean of the baselines


def test_a_programs_epoch_time_leaves_out_the_compiling_first_epoch_and_sums_its_chunks():
  state = {'epoch_time_s/1': {'001_000': {'1': 20.0, '2': 1.0, '3': 3.0}, '001_001': {'1': 9.0}}}
  run = Run('unused', {}, {}, [], [], state)
  assert run.epoch_time_s(1) == 2.0 + 9.0  # the median after the first; a lone first epoch
  assert run.epoch_time_s(0) is None


def test_verdicts_against_a_baseline_follow_the_metrics_direction():
  curve = [{10: 1.0}] * 3
  high, low = record(curve, [0.90, 0.91, 0.92]), record(curve, [0.80, 0.81, 0.82])
  assert report.compare(high, low).verdict == 'holds'  # better
  assert report.compare(low, high).verdict == 'does not hold'  # worse
  assert report.compare(high, record(curve, [0.85, 0.91, 0.97])).verdict == 'not resolved'
  loss_low = record(curve, [100.0, 101.0, 102.0], metric='loss')
  loss_high = record(curve, [110.0, 111.0, 112.0], metric='loss')
  assert report.compare(loss_low, loss_high).verdict == 'holds'  # a lower loss is better
  assert report.spread(high).startswith('91 [88.52, 93.48] (3 seeds)')


def test_a_baseline_names_the_machine_that_trained_it_not_this_one(tmp_path):
  rec = record([{10: 1.0}] * 2, [0.9, 0.91]) | {'optimizer': 'adam', 'train_wall_time_s': 60.0}
  there = '16 CPU cores, x86_64, jax 0.11.2 on gpu (NVIDIA H200)'
  path = baselines.write(rec | {'machine': there}, str(tmp_path), 'full', 'mnist_mlp', {})
  saved = json.loads(pathlib.Path(path).read_text())
  assert saved['made_by']['machine'] == there and 'machine' not in saved
  older = baselines.write(rec | {'machine': None}, str(tmp_path), 'full', 'mnist_vae', {})
  assert json.loads(pathlib.Path(older).read_text())['made_by']['machine'] == results.machine()
  # An optimizer trained elsewhere: its times against the baseline's are flagged.
  cpu = '2 CPU cores, x86_64, jax 0.10.2 on cpu (cpu)'
  extra = {'chosen': {'optimizer.learning_rate': 0.01}, 'tuning': {'points': 2, 'diverged': 0}}
  ours = rec | extra | {'optimizer': 'lion', 'machine': cpu, 'edges': []}
  for base, flagged in ((saved, True), (saved | {'made_by': {'machine': cpu}}, False)):
    problem = report.Problem('mnist_mlp', None, ours, {'adam': base})
    text = '\n'.join(report.section(problem, 'lion', report.verdicts([problem])))
    note = f'adam was trained on {there}, lion on {cpu}: times do not compare'
    assert (note in text) == flagged, text


def test_the_reports_verdicts_are_one_holm_family():
  curve = [{10: 1.0}] * 3
  base = [0.50, 0.51, 0.52]
  ours, theirs = record(curve, [v + 0.0253 for v in base]), record(curve, base)
  raw = report.compare(ours, theirs)
  assert raw.verdict == 'holds' and 0.025 < raw.p_value < 0.05  # significant alone
  problems = [report.Problem(n, None, ours, {'adam': theirs}) for n in ('p', 'q')]
  judged = report.verdicts(problems)
  # Two tests at p ≈ 0.03: Holm's smallest adjusted p is 2 · 0.03 > 5%: neither is resolved.
  for key in (('p', 'adam'), ('q', 'adam')):
    assert judged[key].p_adjusted == pytest.approx(2 * raw.p_value)
    assert judged[key].verdict == 'not resolved'
  assert report.word(judged['p', 'adam']).startswith('not resolved (p = 0.0')
  judged = report.verdicts(problems[:1])  # alone, it is
  assert report.word(judged['p', 'adam']).startswith('better (p = ')


# --- the problems and the command line -------------------------------------------------------


@pytest.mark.parametrize('problem', list(problems_config.PROBLEMS))
def test_each_problem_is_a_valid_search_and_quick_is_smaller(problem):
  quick = problems_config.get_config(f'{problem},quick')
  full = problems_config.get_config(f'{problem},b1')
  for config in (quick, full):
    validate.validate(config)
    (program,) = programs.expand(config)  # the whole search: one program
    assert len(program.points) == config.search.points
  assert set(program.swept) == {'optimizer.learning_rate', 'optimizer.b1'}
  assert quick.num_epochs * quick.search.points < full.num_epochs * full.search.points
  assert quick.rerun_seeds == 2 and full.rerun_seeds == 5 and quick.seeds == 1
  assert full.dataset.validation_size > 0 and full.optimizer.schedule == 'constant'


def test_the_full_budget_searches_the_momentum_the_optimizer_takes():
  assert suite.momentum_key('adam', 'full') == 'b1'
  assert suite.momentum_key('nesterov', 'full') == 'momentum'
  assert suite.momentum_key('adagrad', 'full') is None
  assert suite.momentum_key('adam', 'quick') is None
  validate.validate(problems_config.get_config('mnist_mlp,momentum'))  # SGD+Nesterov


def cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
  """``python -m experiments.benchmark ARGS`` (a forked child: tests/forkserver.py)."""
  return forkserver.run(args, cli_env(), timeout=timeout, module='experiments.benchmark')


@pytest.mark.parametrize(
  ('args', 'message'),
  [
    (['--optimizer=nosuch'], "config.optimizer.name = 'nosuch': must be one of"),
    (['--optimizer=adam', '--problems=nosuch'], "--problems: unknown ['nosuch']"),
    (['--optimizer=adam', '--seeds=1'], 'a verdict needs at least 2 seeds'),
    ([], '--optimizer is required'),
  ],
)
def test_bad_usage_is_one_line_and_exit_2(args, message, tmp_path):
  proc = cli(*args, f'--workdir={tmp_path}', timeout=120)
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
  assert message in proc.stderr
  assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_a_benchmark_against_baselines_made_in_the_test(tmp_path):
  """Adam's baselines by the command, a second one by hand, then AdaMax against both."""
  problems = ['mnist_logreg', 'mnist_mlp']
  common = ['--smoke', f'--problems={",".join(problems)}', f'--baselines={tmp_path}/baselines']
  proc = cli('--optimizer=adam', '--baseline', f'--workdir={tmp_path}/adam', *common)
  assert proc.returncode == 0, proc.stderr[-3000:]
  folder = tmp_path / 'baselines' / 'quick_smoke'  # apart from the real budget's
  for problem in problems:
    saved = json.loads((folder / problem / 'adam.json').read_text())
    assert 'experiments.benchmark --optimizer=adam --baseline' in saved['made_by']['benchmark']
    assert f'configs/benchmark.py:{problem},quick,smoke' in saved['made_by']['run']
    assert [s['seed'] for s in saved['seeds']] == [1, 2]  # fresh seeds after the tuning seed
    assert all(len(s['validation_loss']) == 2 and s['epoch_time_s'] > 0 for s in saved['seeds'])
    assert saved['tuning']['points'] == 4 and saved['protocol']['dataset.synthetic'] is True
    # A second baseline by hand: Adam's, ten times its validation loss, 5 points less accurate.
    saved['optimizer'] = 'slow'
    for seed in saved['seeds']:
      seed['validation_loss'] = [[step, 10 * v] for step, v in seed['validation_loss']]
      seed['test']['accuracy'] -= 0.05
    if problem == 'mnist_mlp':
      saved['protocol']['num_epochs'] = 99
    (folder / problem / 'slow.json').write_text(json.dumps(saved))

  proc = cli('--optimizer=adamax', f'--workdir={tmp_path}/adamax', *common)
  assert proc.returncode == 0, proc.stderr[-3000:]
  text = (tmp_path / 'adamax' / 'REPORT.md').read_text()
  assert f'Made on {results.machine()}. Training took' in text  # read from the runs' records
  assert '| problem | adamax: test metric | vs adam | vs slow |' in text
  sections = {s.split('\n', 1)[0]: s for s in text.split('\n## ')}
  records = {p: baselines.record(Run.load(str(tmp_path / 'adamax' / p))) for p in problems}
  judged = report.verdicts(
    [report.Problem(p, None, records[p], baselines.load(str(folder.parent), folder.name, p))
     for p in problems]
  )  # fmt: skip
  for problem in problems:
    ours = records[problem]
    lines = sections[problem].splitlines()
    for name in ('adam', 'slow'):
      theirs = json.loads((folder / problem / f'{name}.json').read_text())
      row = next(line for line in lines if line.startswith(f'| {name} | '))
      assert f'| {report.word(judged[problem, name])} |' in row and report.spread(theirs) in row
      ours_steps, _ = report.reach(ours, report.final_loss(theirs))
      assert f'| {report.steps_text(ours_steps)} / ' in row
    # Ten times Adam's final validation loss: AdaMax reaches it at its first evaluation.
    step = ours['steps_per_epoch']
    assert f'| {step} / ' in next(line for line in lines if line.startswith('| slow | '))
    different = (
      '**Not like for like:** slow was made under another protocol (differs in num_epochs)'
    )
    assert (different in sections[problem]) == (problem == 'mnist_mlp')
  assert '## Performance profile' in text and 'score (steps)' in text
  assert (tmp_path / 'adamax' / 'figures' / 'performance_profile.png').stat().st_size > 10_000
  assert (tmp_path / 'adamax' / 'figures' / 'validation_loss.png').exists()
  assert not (folder / problems[0] / 'adamax.json').exists()
  # --report_only rebuilds the same report from the runs, training nothing.
  before = text
  proc = cli('--optimizer=adamax', f'--workdir={tmp_path}/adamax', '--report_only', *common)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (tmp_path / 'adamax' / 'REPORT.md').read_text() == before
  assert 'experiments.run' not in proc.stdout
