"""The report's statistics: one Holm family, tests that say what they test, goals on
intervals, enough digits, the README's findings from the same verdicts, and every compared
choice tested on other seeds than it was made on."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
from scipy import stats as scipy_stats

from experiments import reproduce, significance, stats
from experiments.point import Point
from experiments.report import summary
from tests import report_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_holm_step_down_against_values_computed_by_hand():
  # Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, then 0.04·1 = 0.04 < 0.06: 0.06.
  assert significance.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
  assert significance.holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1
  assert significance.holm([0.02]) == [0.02]  # a family of one is not adjusted
  assert significance.holm([]) == []


def test_a_verdict_comes_from_the_adjusted_p():
  a, b = [0.10, 0.11, 0.12, 0.10, 0.11], [0.13, 0.12, 0.125, 0.14, 0.13]
  raw = significance.compare(a, b, 'less')
  assert raw.verdict == 'holds' and raw.p_value < 0.05
  later = raw.adjusted(min(1.0, 20 * raw.p_value), 7)  # one of twenty tests
  assert later.verdict == 'not resolved' and later.number == 7 and later.p_value == raw.p_value
  assert raw.adjusted(raw.p_value).verdict == 'holds'
  opposite = significance.compare(b, a, 'less').adjusted(0.001)
  assert opposite.verdict == 'does not hold'


DATA = [
  ([92.0, 92.2, 91.9, 92.1], [90.8, 91.0, 90.9, 90.7]),
  ([90.7, 90.9, 90.8, 90.6], [90.8, 91.0, 90.9, 90.7]),
  ([88.0, 88.1, 87.9], [90.0, 90.2, 89.9]),
  ([90.0, 92.0, 88.0], [90.5, 92.5, 88.5]),
  ([91.0, 91.2, 90.9, 91.1, 91.3], [90.1, 90.3, 90.2, 90.0, 90.4]),
]


@pytest.mark.parametrize('a, b', DATA)
@pytest.mark.parametrize('margin', [0.5, 1.0])
def test_an_interval_tests_p_decides_as_its_interval_does(a, b, margin):
  low, high = (c := significance.non_inferior(a, b, margin)).interval
  assert (c.p_value < 0.05) == (low > -margin or high < -margin)
  x, y = np.array(a), np.array(b)
  assert c.p_value == pytest.approx(scipy_stats.ttest_ind(x + margin, y, equal_var=False).pvalue)
  assert c.verdict == (
    'holds' if low > -margin else 'does not hold' if high < -margin else 'not resolved'
  )
  w = significance.within(a, b, margin)
  inside, outside = -margin < low and high < margin, high < -margin or low > margin
  assert (w.p_value < 0.05) == (inside or outside)
  assert w.verdict == ('holds' if inside else 'does not hold' if outside else 'not resolved')


def test_a_goal_whose_interval_contains_the_target_is_not_resolved():
  mlp = [88.95, 88.75, 89.10, 89.05, 88.90]  # mean 88.95, interval about [88.78, 89.12]
  out = significance.reaches(mlp, 89.0)
  assert out.interval[0] < 89.0 < out.interval[1]
  assert out.verdict == 'not resolved'  # a point estimate would say "missed by 0.05"
  assert out.p_value == pytest.approx(scipy_stats.ttest_1samp(mlp, 89.0).pvalue)
  assert significance.reaches([84.4, 84.5, 84.6], 84.0).verdict == 'holds'
  assert significance.reaches([86.0, 86.5, 87.0], 91.5).verdict == 'does not hold'
  assert not significance.reaches([89.5], 89.0).tested  # one seed: no test


def test_a_new_draw_is_significant_exactly_outside_the_prediction_interval():
  ours = [92.1, 91.8, 92.4, 91.9, 92.2]
  low, high = significance.prediction_interval(ours)
  assert significance.new_draw(ours, low - 0.01).verdict == 'does not hold'
  assert significance.new_draw(ours, high + 0.01).verdict == 'does not hold'
  inside = significance.new_draw(ours, (low + high) / 2 + 0.1)
  assert inside.verdict == 'not resolved' and inside.if_significant == 'does not hold'
  assert significance.new_draw(ours, high).p_value == pytest.approx(0.05)
  assert inside.interval == (low, high)  # the interval the verdict uses, to print


def test_means_are_printed_to_two_digits_of_their_standard_error():
  vae = {'mean': 126.5321, 'std': 0.24}  # standard error 0.11 over 5 seeds
  assert stats.format_spread(vae, n=5) == '126.53 ± 0.24'
  cost = {'mean': 0.378812, 'std': 0.0003}
  assert stats.format_spread(cost, n=5) == '0.37881 ± 0.00030'
  assert stats.format_spread({'mean': 0.8647, 'std': 0.018}, 100, 5) == '86.47 ± 1.80'
  assert stats.format_spread(vae) == '126.5 ± 0.24'  # the seeds' count unknown: as before
  assert stats.format_spread({'mean': 0.5, 'std': None}) == '0.5'


# Synthetic runs, written as experiments.run writes them (tests/report_runs.py).

_write_run, _config, _final = report_runs.write_run, report_runs.config, report_runs.final


def _fig1(workdir):
  """Tuning on seed 0, each choice trained again with seeds 1-4: Adam ≈ Nesterov < AdaGrad."""
  cost = {'adam': 0.380, 'nesterov': 0.378, 'adagrad': 0.400}
  points = []
  for program, (name, c) in enumerate(cost.items()):
    for alpha in (0.1, 0.3):
      loss = c + 0.05 * (alpha == 0.3)
      points.append(
        Point(
          len(points),
          program,
          {'optimizer.name': name},
          {'optimizer.learning_rate': alpha, 'seed': 0},
          None,
          _final(loss, 0.84),
        )
      )
  for program, (name, c) in enumerate(cost.items(), start=3):
    for seed in (1, 2, 3, 4):
      loss = c + 0.0004 * (seed - 2.5) * (1 + program % 2)
      points.append(
        Point(
          len(points),
          program,
          {'optimizer.name': name},
          {'optimizer.learning_rate': 0.1, 'seed': seed},
          None,
          _final(loss, 0.84 + 0.001 * seed),
        )
      )
  _write_run(workdir, points, _config('loss'), reruns=(3, 4, 5))


def _perez_lr(workdir):
  """Tuning prefers no dropout for Adam; on the fresh seeds dropout validates better."""
  tuning_val = {
    (True, 'adam'): 0.80,
    (False, 'adam'): 0.85,
    (True, 'adamax'): 0.84,
    (False, 'adamax'): 0.83,
  }
  rerun_test = {
    (True, 'adam'): 0.870,
    (False, 'adam'): 0.845,
    (True, 'adamax'): 0.846,
    (False, 'adamax'): 0.842,
  }
  points, keys = [], list(tuning_val)
  for program, (dropout, name) in enumerate(keys):
    structural = {
      'model.dropout': dropout,
      'model.name': 'logistic_regression',
      'optimizer.name': name,
    }
    points.append(
      Point(
        len(points),
        program,
        structural,
        {'optimizer.learning_rate': 0.03, 'seed': 0},
        None,
        _final(0.4, 0.84, tuning_val[dropout, name]),
      )
    )
  for program, (dropout, name) in enumerate(keys, start=4):
    structural = {
      'model.dropout': dropout,
      'model.name': 'logistic_regression',
      'optimizer.name': name,
    }
    for seed in (1, 2, 3, 4, 5):
      acc = rerun_test[dropout, name] + 0.001 * (seed - 3)
      points.append(
        Point(
          len(points),
          program,
          structural,
          {'optimizer.learning_rate': 0.03, 'seed': seed},
          None,
          _final(0.4, acc, val_acc=acc + 0.01),
        )
      )
  _write_run(workdir, points, _config('accuracy'), reruns=(4, 5, 6, 7))


def _reddi(workdir):
  """Adam ends at +1, AMSGrad at −1 with the lower regret, on both problems."""
  points = []
  for problem in ('online', 'stochastic'):
    for name, x, regret in (('adam', 0.99, 0.2), ('amsgrad', -0.98, 0.01)):
      structural = {'dataset.name': f'reddi_{problem}', 'optimizer.name': name}
      final = {'train': {'loss': regret, 'x': x}}
      points.append(Point(len(points), len(points), structural, {}, None, final))
  config = {**_config('loss'), 'batch_size': 1000, 'dataset': {'name': 'reddi_online'}}
  _write_run(workdir, points, config)


OURS_2C2D = [0.9210, 0.9180, 0.9240, 0.9190, 0.9220]  # their 0.9081 lies outside, 0.9140 not


def _fmnist_2c2d(workdir):
  """DeepOBS's problem at 20 epochs, 5 seeds: accuracies about 92%, losses about 0.30."""
  points = [
    Point(seed, 0, {}, {'seed': seed}, None, _final(0.300 + 0.004 * (seed - 2), acc))
    for seed, acc in enumerate(OURS_2C2D)
  ]
  _write_run(workdir, points, _config('loss'), epochs=20)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp('runs')
  _reddi(str(root / 'reddi'))
  _fmnist_2c2d(str(root / 'fmnist_2c2d'))
  _fig1(str(root / 'fig1_lr'))
  _perez_lr(str(root / 'perez_lr'))
  return str(root)


COMMANDS = {name: f'python -m experiments.run ... {name}' for name in reproduce.BY_NAME}


def test_the_report_is_one_holm_family_with_each_raw_and_adjusted_p(runs, tmp_path):
  from experiments import report

  r = report.build(runs, str(tmp_path), COMMANDS)
  tested = [c for _, _, c in r.tests if c.tested]
  assert len(tested) >= 5  # Figure 1's three, Pérez's goal and its AdaMax test
  assert [c.number for c in tested] == list(range(1, len(tested) + 1))
  expected = significance.holm([c.p_value for c in tested])
  assert [c.p_adjusted for c in tested] == pytest.approx(expected)
  for c in tested:
    assert c.verdict == (c.if_significant if c.p_adjusted < 0.05 else 'not resolved')
  text = pathlib.Path(report.render(r)).read_text()
  assert "Holm's step-down procedure (Holm–Bonferroni)" in text
  assert "## Every test of this report: one family, Holm's correction" in text
  for c in tested:  # each test's raw and adjusted p, in the list of tests
    assert f'| {c.number} |' in text and f'| {c.p_value:.2g} | {c.p_adjusted:.2g} |' in text


def test_a_section_that_tests_differently_in_the_second_pass_is_an_error(
  runs, tmp_path, monkeypatch
):
  from experiments import report

  calls = []

  def flaky(r):
    calls.append(1)
    r.test('x', 'y', significance.compare([1, 2, 3], [2, 3, 4 + len(calls)], 'less'))

  monkeypatch.setattr(report, 'SECTIONS', (flaky,))
  with pytest.raises(RuntimeError, match='differs between the passes'):
    report.build(runs, str(tmp_path), COMMANDS)


def test_the_report_says_what_was_tested(runs, tmp_path):
  from experiments import report

  text = pathlib.Path(report.write(runs, str(tmp_path), COMMANDS)).read_text()
  # Figure 1's margin says where it comes from; Pérez's conclusion is quoted and tested.
  assert 'a margin of ours: the paper says "similar" and gives none' in text
  assert '**Pérez: "Adam generally performs better than AdaMax"**' in text
  assert (
    "| Pérez's conclusions | logistic regression: Adam's test accuracy above AdaMax's |" in text
  )
  # The goal is judged on one protocol, on the interval of the mean.
  assert 'Each goal is judged on one protocol fixed before the runs' in text
  assert 'The goal is met if either reaches it' not in text
  goal = next(line for line in text.splitlines() if line.startswith('| logistic regression, Adam'))
  assert '95% interval [' in goal


def test_deepobs_values_are_tested_against_the_prediction_interval_it_prints(runs, tmp_path):
  from experiments import report

  r = report.build(runs, str(tmp_path), COMMANDS)
  tests = [(claim, c) for experiment, claim, c in r.tests if experiment == 'DeepOBS fmnist_2c2d']
  assert len(tests) == 4  # two seeds of DeepOBS, two metrics
  low, high = significance.prediction_interval(OURS_2C2D)
  assert tests[0][1].interval == pytest.approx((100 * low, 100 * high))  # in points, as printed
  assert tests[0][1].difference == pytest.approx(90.81 - 100 * np.mean(OURS_2C2D))
  assert tests[0][1].p_value < 0.05 < tests[1][1].p_value  # 90.81 outside, 91.40 inside
  [finding] = [f for f in r.findings if f.experiment == 'DeepOBS fmnist_2c2d']
  lies_elsewhere = [c for _, c in tests if c.verdict == 'does not hold']
  assert finding.outcome == ('inconsistent' if lies_elsewhere else 'consistent')
  row = next(line for line in r.lines if line.startswith('| test accuracy %, epoch 20'))
  assert f'[{100 * low:.4g}, {100 * high:.4g}]' in row  # the interval the verdict uses


def test_choices_are_tested_on_other_seeds_than_they_were_made_on(runs, tmp_path):
  from experiments import report
  from experiments.report import perez

  for name in ('fig1_lr', 'perez_lr'):
    config = reproduce.BY_NAME[name].config
    assert 'rerun' in config.split(':')[1].split(',') and 'seeds' not in config
  r = report.build(runs, str(tmp_path), COMMANDS)
  found = perez.chosen_table(r)
  adam = found['logistic_regression', None]['adam']
  # Dropout validated better on the fresh seeds, but the choice is the tuning seed's.
  assert adam.choice.structural['model.dropout'] is False
  assert adam.choice.seeds == [1, 2, 3, 4, 5]  # reported on the rerun's seeds
  text = '\n'.join(r.lines)
  assert 'each choice made on seed 0, then trained again with seeds 1–4' in text  # Figure 1
  assert 'each choice made on seed 0, then trained again with seeds 1–5' in text  # Pérez


def test_the_readme_findings_block_is_the_reports_summary(runs, tmp_path):
  from experiments import report

  readme = tmp_path / 'README.md'
  before, after = '# Project\n\nWhat it is.\n\n', '\n\n## More\n\nThe rest.\n'
  readme.write_text(before + f'{summary.START}\nhand-written, stale\n{summary.END}' + after)
  out = tmp_path / 'out'
  out.mkdir()
  path = report.write(runs, str(out), COMMANDS, readme=str(readme))
  r = report.build(runs, str(out), COMMANDS)
  generated = '\n'.join(summary.summary(r, report.edge_notes(r)))
  text = readme.read_text()
  assert text == before + generated + after  # the block replaced, the rest untouched
  assert (
    summary.block(pathlib.Path(path).read_text()) == generated
  )  # the report prints the same block
  assert 'stale' not in text and 'Holm p' in generated
  assert '**Hold:**' in generated or '**Not resolved:**' in generated
  readme.write_text('no block here\n')
  with pytest.raises(ValueError, match='no findings block'):
    report.write(runs, str(out), COMMANDS, readme=str(readme))


def test_the_committed_readme_has_the_block_the_committed_report_has():
  readme = pathlib.Path(ROOT, 'README.md').read_text()
  assert summary.block(readme) is not None
  path = pathlib.Path(ROOT, 'results', 'REPORT.md')
  committed = path.read_text() if path.exists() else ''
  if summary.block(committed) is not None:  # a report built since the block exists
    assert summary.block(readme) == summary.block(committed)


def test_a_verdict_without_a_test_is_an_observation(runs, tmp_path):
  from experiments import report

  r = report.build(runs, str(tmp_path), COMMANDS)
  reddi = [f for f in r.findings if f.experiment == 'Reddi et al.']
  assert len(reddi) == 2
  for f in reddi:
    assert f.outcome == 'observation' and not f.tests
    assert f.evidence == '**observation** (one run, no test): as the paper says'
  assert not any('Reddi' in experiment for experiment, _, _ in r.tests)
  text = '\n'.join(r.lines)
  assert "the paper's finding **holds**" not in text.split('## Figure 1')[0]
