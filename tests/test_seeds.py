"""Seeds as replicates, per-step curves and optimizer diagnostics (issue 13's contract keys)."""

from __future__ import annotations

import importlib
import json
import math
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from scipy import stats as scipy_stats

import adam_jax
from adam_jax import data, diagnostics, models, train
from adam_jax.transforms import ScaleByAdamState
from experiments import (
  console,
  optimizers,
  plots,
  programs,
  results,
  select,
  significance,
  stats,
  sweep,
  validate,
)
from experiments.point import Point
from experiments.run import experiment_kind

ADAM = optimizers.factory('adam')


def load_config(name: str, arg: str = 'smoke'):
  return importlib.import_module(f'configs.{name}').get_config(arg)


def run_experiment(config, workdir) -> dict:
  return experiment_kind(config.experiment)(config, str(workdir))


def read_metrics(workdir) -> list[dict]:
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f if line.strip()]


# --- statistics ----------------------------------------------------------------------


def test_describe_is_mean_sample_std_and_student_t_interval():
  values = [0.91, 0.93, 0.92, 0.95, 0.90]
  out = stats.describe(values)
  x = np.asarray(values)
  assert out['mean'] == pytest.approx(x.mean())
  assert out['std'] == pytest.approx(x.std(ddof=1))
  low, high = scipy_stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=scipy_stats.sem(x))
  assert out['ci95'] == pytest.approx([low, high])
  assert stats.describe([0.5, math.nan]) == {'mean': 0.5, 'std': None, 'ci95': None}
  assert stats.describe([]) == {'mean': None, 'std': None, 'ci95': None}


def test_compare_says_holds_does_not_hold_or_not_resolved():
  low, high = [0.10, 0.11, 0.12, 0.10, 0.11], [0.20, 0.21, 0.19, 0.22, 0.20]
  assert significance.compare(low, high, 'less').verdict == 'holds'
  assert significance.compare(high, low, 'less').verdict == 'does not hold'
  assert significance.compare(high, low, 'greater').verdict == 'holds'
  overlapping = significance.compare([0.10, 0.30, 0.20], [0.15, 0.25, 0.22], 'less')
  assert overlapping.verdict == 'not resolved'
  assert overlapping.p_value > 0.05
  assert 'Welch' in overlapping.test
  assert significance.compare([0.1], [0.2], 'less').verdict == 'not resolved'  # one seed each
  # Seeds that change nothing are no replicates: no verdict from zero spread.
  assert significance.compare([1.0, 1.0], [1.1, 1.1], 'less').verdict == 'not resolved'
  with pytest.raises(ValueError, match='claim'):
    significance.compare(low, high, 'smaller')


def test_compare_is_welchs_two_sided_test():
  # Unequal sizes and spreads: the pooled t test would call this significant (p = 0.003),
  # and so would a one-sided Welch test (0.034); the two-sided Welch p is 0.069.
  a, b = [1.0, 1.4, 0.7, 1.2, 0.9, 1.3, 1.1], [1.8, 1.65, 2.55]
  welch = scipy_stats.ttest_ind(a, b, equal_var=False).pvalue
  assert scipy_stats.ttest_ind(a, b).pvalue < 0.01
  out = significance.compare(a, b, 'less')
  assert out.p_value == pytest.approx(welch, rel=1e-12)
  assert out.n == (7, 3)
  assert 0.05 < out.p_value < 0.10  # one-sided it would be significant
  assert out.verdict == 'not resolved'


def _point(gi, program, lr, seed, val_acc, diverged=None):
  p = Point(gi, program, {}, {'optimizer.learning_rate': lr, 'seed': seed})
  p.final = {'validation': {'accuracy': val_acc, 'loss': 1 - val_acc}}
  p.diverged_step = diverged
  return p


def test_configurations_are_chosen_by_their_mean_not_their_luckiest_seed():
  points = [
    _point(0, 0, 0.1, 0, 0.99),  # the luckiest single seed ...
    _point(1, 0, 0.1, 1, 0.50),
    _point(2, 0, 0.1, 2, 0.52),
    _point(3, 0, 0.01, 0, 0.80),  # ... against a better mean
    _point(4, 0, 0.01, 1, 0.81),
    _point(5, 0, 0.01, 2, 0.79),
    _point(6, 0, 0.03, 0, 0.95),  # the best mean of its finished seeds, but one diverged
    _point(7, 0, 0.03, 1, 0.95),
    _point(8, 0, 0.03, 2, math.nan, diverged=17),
  ]
  assert select.best(points, 'accuracy').grid_index == 0  # what a seed sweep did before
  summary = select.summarize(points, 1, 'accuracy', 0.0)
  configs = summary['configurations']
  assert [c['hparams'] for c in configs] == [
    {'optimizer.learning_rate': v} for v in (0.1, 0.01, 0.03)
  ]
  assert summary['best_configuration'] == 1
  assert summary['best_grid_index'] == 3  # the chosen configuration's first seed
  assert summary['seeds'] == [0, 1, 2]
  diverged = configs[2]
  assert (diverged['n'], diverged['diverged'], diverged['diverged_step']) == (2, 1, 17)
  assert diverged['final']['validation']['accuracy']['mean'] == pytest.approx(0.95)
  assert configs[1]['final']['validation']['accuracy']['mean'] == pytest.approx(0.80)


def test_a_seed_whose_evaluation_is_not_finite_counts_as_diverged():
  # Its training loss stayed finite, but its last update broke the params: the mean of the
  # other seeds must not make the configuration look best.
  points = [
    _point(0, 0, 0.1, 0, 0.95),
    _point(1, 0, 0.1, 1, math.nan),
    _point(2, 0, 0.01, 0, 0.93),
    _point(3, 0, 0.01, 1, 0.93),
  ]
  summary = select.summarize(points, 1, 'accuracy', 0.0)
  first = summary['configurations'][0]
  assert (first['n'], first['diverged']) == (1, 1)
  assert summary['best_configuration'] == 1


def test_a_rerun_configuration_with_a_diverged_seed_is_reported_not_dropped():
  # Tuning chose α = 0.1 in program 0 and 0.01 in program 1; their reruns are programs 2, 3.
  points = [
    _point(0, 0, 0.1, 0, 0.9),
    _point(1, 1, 0.01, 0, 0.8),
    _point(2, 2, 0.1, 1, 0.91),
    _point(3, 2, 0.1, 2, math.nan, diverged=40),  # a fresh seed diverged: a result
    _point(4, 3, 0.01, 1, 0.8),
    _point(5, 3, 0.01, 2, 0.81),
  ]
  summary = select.summarize(points, 1, 'accuracy', 0.0, reruns=[2, 3])
  configs = summary['configurations']
  chosen = [configs[i] for i in summary['best_configuration_per_program']]
  assert [(c['program'], c['n'], c['diverged']) for c in chosen] == [
    (0, 1, 0),
    (1, 1, 0),
    (2, 1, 1),
    (3, 2, 0),
  ]
  assert configs[summary['best_configuration']]['program'] == 3  # a choice: never unstable


# --- runs with seeds -----------------------------------------------------------------


def test_a_seeds_run_aggregates_what_its_seeds_gave(tmp_path):
  config = load_config('lr_mnist')
  config.seeds = 3
  config.seed = 4
  summary = run_experiment(config, tmp_path)
  points = {p['grid_index']: p for p in summary['points']}
  configurations = sum(len(p.points) for p in programs.expand(load_config('lr_mnist')))
  assert len(points) == 3 * configurations
  assert len(summary['configurations']) == configurations
  for c in summary['configurations']:
    assert c['seeds'] == [4, 5, 6]
    assert c['n'] + c['diverged'] == 3
    members = [points[gi] for gi in c['grid_indices']]
    assert [m['hparams']['seed'] for m in members] == [4, 5, 6]
    assert all(
      {k: v for k, v in m['hparams'].items() if k != 'seed'} == c['hparams'] for m in members
    )
    for split, metrics in c['final'].items():
      for metric, got in metrics.items():
        values = [m['final'][split][metric] for m in members if m['diverged_step'] is None]
        x = np.asarray(values)
        assert got['mean'] == pytest.approx(x.mean())
        assert got['std'] == pytest.approx(x.std(ddof=1))
        ci = scipy_stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=scipy_stats.sem(x))
        assert got['ci95'] == pytest.approx(list(ci))
  # The seeds really differ (initialisation and data order), and each is a replicate.
  losses = {
    points[gi]['final']['train']['loss'] for gi in summary['configurations'][0]['grid_indices']
  }
  assert len(losses) == 3
  run = results.Run.load(str(tmp_path))
  text = console.table(run)
  assert '±' in text and 'seeds 4, 5, 6' in text
  assert len(run.best_configurations()) == len(programs.expand(load_config('lr_mnist')))
  plots.plot_run(run)


@pytest.mark.slow
def test_a_chunked_grid_with_seeds_equals_an_unchunked_one(tmp_path):
  config = load_config('vae_mnist')
  config.num_epochs = 1
  config.seeds = 2
  sweep.set_path(config.sweep, 'optimizer.learning_rate', (1e-3, 1e-2))
  sweep.set_path(config.sweep, 'optimizer.b2', (0.99,))  # 8 configurations, 16 points
  whole = run_experiment(config, tmp_path / 'whole')
  config.grid_chunk_size = 3  # points of one configuration land in different chunks
  chunked = run_experiment(config, tmp_path / 'chunked')
  assert len(whole['configurations']) == len(chunked['configurations']) > 1
  for a, b in zip(whole['configurations'], chunked['configurations'], strict=True):
    assert (a['hparams'], a['seeds'], a['grid_indices']) == (
      b['hparams'],
      b['seeds'],
      b['grid_indices'],
    )
    for stat in ('mean', 'std'):
      x, y = a['final']['train']['loss'][stat], b['final']['train']['loss'][stat]
      assert (x is None) == (y is None)
      if x is not None:
        np.testing.assert_allclose(x, y, rtol=1e-5)
  assert whole['best_configuration'] == chunked['best_configuration']


def test_seed_points_of_a_grid_equal_single_runs_of_each_seed():
  ds = data.synthetic('fashion_mnist', num_train=256)
  x, y = jnp.asarray(ds.train[0]), jnp.asarray(ds.train[1])
  task = train.Task(
    models.get_model('mlp', num_classes=10, hidden=(16,), dropout=True), 'classifier'
  )
  shared = {'optimizer.learning_rate': 1e-3, 'seed': 0}
  grid = train.grid_arrays([{'seed': 0}, {'seed': 1}, {'seed': 2}], ('seed',))
  trainer = train.GridTrainer(task, ADAM, shared, ('seed',), batch_size=32)
  state = trainer.init(grid, x)
  state, metrics = trainer.train_epoch(state, grid, x, y, 0)
  for seed in range(3):
    single = train.GridTrainer(task, ADAM, {**shared, 'seed': seed}, batch_size=32)
    s, m = single.train_epoch(single.init({}, x), {}, x, y, 0)
    np.testing.assert_allclose(metrics['loss'][seed], m['loss'][0], rtol=1e-5)
  assert not np.allclose(metrics['loss'][0], metrics['loss'][1])


def test_seeds_are_validated():
  config = load_config('lr_mnist')
  config.seeds = 0
  with pytest.raises(validate.ConfigError, match='seeds'):
    validate.validate(config)
  config = load_config('lr_mnist')
  config.seeds = 3
  sweep.set_path(config.sweep, 'seed', (0, 1))
  with pytest.raises(validate.ConfigError, match='give one'):
    validate.validate(config)
  config = load_config('lr_mnist')
  config.seeds = 3
  program = programs.expand(config)[0]
  assert [p['seed'] for p in program.points[:3]] == [0, 1, 2]  # seeds vary fastest
  config.rerun_seeds, config.rerun_by = 2, ('seed',)
  with pytest.raises(validate.ConfigError, match='seed is a replicate'):
    validate.validate(config)


@pytest.mark.parametrize('how', ['seeds', 'sweep'])
def test_rerun_seeds_come_after_every_tuning_seed(how):
  config = load_config('lr_mnist')
  if how == 'seeds':
    config.seeds = 3
  else:
    sweep.set_path(config.sweep, 'seed', (0, 4, 2))
  config.rerun_seeds = 2
  validate.validate(config)
  tuning = programs.expand(config)
  reruns = programs.rerun_programs(config, tuning)
  tuned = {pt['seed'] for p in tuning for pt in p.points}
  fresh = {pt['seed'] for p in reruns for pt in p.points}
  assert fresh == {max(tuned) + 1, max(tuned) + 2}


# --- per-step curves -----------------------------------------------------------------


def test_log_every_steps_records_window_means_of_the_training_loss(tmp_path):
  config = load_config('mlp_mnist')
  config.sweep = ml_collections.ConfigDict()
  config.batch_size = 16  # 4 steps an epoch: a window of 3, then one cut short by the epoch
  config.log_every_steps = 1
  run_experiment(config, tmp_path / 'every1')
  records = read_metrics(tmp_path / 'every1')
  for epoch in range(1, config.num_epochs + 1):
    steps = [r for r in records if r['split'] == 'train_steps' and r['epoch'] == epoch]
    [whole] = [r for r in records if r['split'] == 'train' and r['epoch'] == epoch]
    assert [r['step'] for r in steps] == list(
      range(whole['step'] - len(steps) + 1, whole['step'] + 1)
    )
    assert np.mean([r['loss'] for r in steps]) == pytest.approx(whole['loss'], rel=1e-6)
  config.log_every_steps = 3
  run_experiment(config, tmp_path / 'every3')
  windows = [r for r in read_metrics(tmp_path / 'every3') if r['split'] == 'train_steps']
  per_step = [r for r in records if r['split'] == 'train_steps']
  steps_per_epoch = len(per_step) // config.num_epochs
  assert len(windows) == config.num_epochs * math.ceil(steps_per_epoch / 3)
  first = windows[0]
  assert first['step'] == 3
  expected = np.mean([r['loss'] for r in per_step[:3]])
  assert first['loss'] == pytest.approx(expected, rel=1e-6)
  assert results.Run.load(str(tmp_path / 'every3')).records  # read back
  # The figure gets a per-iteration panel.
  run = results.Run.load(str(tmp_path / 'every3'))
  x, values = run.seed_curves(run.configurations[0], 'train_steps', 'loss', steps=True)
  assert list(x) == [w['step'] for w in windows]


# --- optimizer diagnostics -----------------------------------------------------------


def test_layer_statistics_of_an_adam_state():
  nu = {'dense': {'kernel': jnp.array([1e-20, 4e-4, 1e-2, 0.0]), 'bias': jnp.array([9.0])}}
  state = ScaleByAdamState(jnp.asarray(2, jnp.int32), nu, nu)
  updates = {'dense': {'kernel': jnp.array([3.0, 4.0, 0.0, 0.0]), 'bias': jnp.array([-2.0])}}
  out = diagnostics.layer_statistics(updates, (state,), b2=0.9, eps=1e-8)
  c2 = 1 - 0.9**2
  root = np.sqrt(np.array([1e-20, 4e-4, 1e-2, 0.0]) / c2)
  kernel = out['params/dense/kernel']
  assert float(kernel['update_rms']) == pytest.approx(np.sqrt((9 + 16) / 4))
  assert float(kernel['eps_dominated']) == pytest.approx(np.mean(root < 1e-8))  # 2 of 4
  assert float(kernel['eps_dominated']) == 0.5
  assert float(kernel['sqrt_v_hat_median']) == pytest.approx(np.median(root), rel=1e-6)
  raw = diagnostics.layer_statistics(updates, state, b2=0.9, eps=1e-8, bias_correction=False)
  assert float(raw['params/dense/bias']['sqrt_v_hat_median']) == pytest.approx(3.0)
  assert set(out) == {'params/dense/kernel', 'params/dense/bias'}


@pytest.mark.parametrize('size', [1, 2, 7, 1000, 4097])
def test_nonnegative_median_is_numpys_median_without_a_sort(size):
  rng = np.random.default_rng(size)
  x = (rng.standard_normal(size) ** 4).astype(np.float32)
  x[: size // 3] = np.round(x[: size // 3], 1)  # ties, zeros among them
  cases = [x, np.zeros(size, np.float32), np.full(size, 3.5, np.float32)]
  cases.append(np.where(np.arange(size) % 4 == 1, np.inf, x).astype(np.float32))
  cases.append(np.where(np.arange(size) == size // 2, -0.0, x).astype(np.float32))
  median = jax.jit(diagnostics.nonnegative_median)
  for case in cases:
    assert float(median(case)) == np.median(case)  # exactly
  assert np.isnan(median(np.where(np.arange(size) == 0, np.nan, x)))
  batched = jax.vmap(median)(jnp.stack([jnp.asarray(c) for c in cases]))
  np.testing.assert_array_equal(batched, [np.median(c) for c in cases])
  assert 'sort' not in str(jax.make_jaxpr(diagnostics.nonnegative_median)(x))


def test_diagnostics_find_adam_inside_chains_and_skip_other_optimizers():
  params = {'w': jnp.ones((3,))}
  grads = {'w': jnp.array([1.0, -2.0, 0.5])}
  for opt in (adam_jax.adamw(1e-3), optax.chain(optax.clip(1.0), optax.adam(1e-3))):
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    assert diagnostics.second_moment_state(state) is not None
    assert 'eps_dominated' in diagnostics.layer_statistics(updates, state)['params/w']
  opt = optax.adagrad(0.1)
  updates, state = opt.update(grads, opt.init(params), params)
  assert set(diagnostics.layer_statistics(updates, state)['params/w']) == {'update_rms'}


def test_diagnostics_leave_training_unchanged_and_run_under_a_grid():
  ds = data.synthetic('fashion_mnist', num_train=256)
  x, y = jnp.asarray(ds.train[0]), jnp.asarray(ds.train[1])
  task = train.Task(models.get_model('mlp', num_classes=10, hidden=(16,)), 'classifier')
  shared = {'optimizer.learning_rate': 1e-3, 'optimizer.b2': 0.999, 'seed': 0}
  swept = ('optimizer.b2', 'optimizer.bias_correction')
  points = [
    {'optimizer.b2': 0.99, 'optimizer.bias_correction': True},
    {'optimizer.b2': 0.999, 'optimizer.bias_correction': False},
  ]
  grid = train.grid_arrays(points, swept)
  out = {}
  for flag in (False, True):
    trainer = train.GridTrainer(task, ADAM, shared, swept, batch_size=32, diagnostics=flag)
    state = trainer.init(grid, x)
    state, metrics = trainer.train_epoch(state, grid, x, y, 0)
    out[flag] = (state, metrics)
  (plain, plain_m), (diag, diag_m) = out[False], out[True]
  np.testing.assert_allclose(plain_m['loss'], diag_m['loss'], rtol=1e-6)
  for a, b in zip(jax.tree.leaves(plain.params), jax.tree.leaves(diag.params), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
  stats_ = diag_m[train.DIAGNOSTICS]
  assert set(stats_) == set(diagnostics.leaf_paths(jax.tree.map(lambda v: v[0], diag.params)))
  kernel = stats_['params/hidden_0/kernel']
  assert kernel['eps_dominated'].shape == (2,)
  assert np.all(
    (np.asarray(kernel['eps_dominated']) >= 0) & (np.asarray(kernel['eps_dominated']) <= 1)
  )
  # Each point's √v̂ uses its own β2 and bias-correction switch.
  for i, p in enumerate(points):
    st = diagnostics.second_moment_state(jax.tree.map(lambda v, i=i: v[i], diag.opt_state))
    root = diagnostics.sqrt_v_hat(st, p['optimizer.b2'], p['optimizer.bias_correction'])
    expected = np.median(np.asarray(root['hidden_0']['kernel']))
    assert float(kernel['sqrt_v_hat_median'][i]) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize('name', ['nadam', 'adamw', 'amsgrad', 'sgd'])
def test_diagnostics_run_with_every_kind_of_optimizer_state(name):
  ds = data.synthetic('fashion_mnist', num_train=64)
  x, y = jnp.asarray(ds.train[0]), jnp.asarray(ds.train[1])
  task = train.Task(models.get_model('logistic_regression', num_classes=10), 'classifier')
  trainer = train.GridTrainer(
    task,
    optimizers.factory(name),
    {'optimizer.learning_rate': 1e-3, 'seed': 0},
    batch_size=32,
    diagnostics=True,
  )
  _, metrics = trainer.train_epoch(trainer.init({}, x), {}, x, y, 0)
  stats_ = metrics[train.DIAGNOSTICS]['params/linear/kernel']
  adam_like = name in ('nadam', 'adamw')  # states with Adam's v_t
  assert ('eps_dominated' in stats_) == adam_like
  assert np.all(np.isfinite(np.asarray(stats_['update_rms'])))


@pytest.mark.slow
def test_diagnostics_records_and_figure(tmp_path):
  config = load_config('perez_mnist', 'cnn,smoke')  # §6.3's diagnostics run is on this CNN
  config.sweep = ml_collections.ConfigDict()
  config.num_epochs = 2
  config.diagnostics = True
  run_experiment(config, tmp_path)
  records = [r for r in read_metrics(tmp_path) if r['split'] == 'optimizer']
  params = {r['param'] for r in records}
  assert 'params/conv_0/kernel' in params
  assert len(records) == 2 * len(params)  # once per epoch and leaf
  for r in records:
    assert {'step', 'epoch', 'param', 'update_rms', 'eps_dominated', 'sqrt_v_hat_median'} <= set(r)
    assert 0.0 <= r['eps_dominated'] <= 1.0
  paths = plots.plot_run(results.Run.load(str(tmp_path)))
  assert any(p.endswith('diagnostics.png') for p in paths)


# --- DeepOBS's protocol: tune on one seed, rerun the choice with several ----------------


def test_rerun_seeds_retrain_each_groups_choice_with_seeds(tmp_path):
  config = load_config('vae_mnist')
  config.num_epochs = 1
  config.rerun_seeds = 2
  config.rerun_by = ('optimizer.b2', 'optimizer.bias_correction')
  summary = run_experiment(config, tmp_path)
  assert summary['rerun_programs'] == [1]
  tuning = [Point.from_json(p) for p in summary['points'] if p['program'] == 0]
  rerun = [p for p in summary['points'] if p['program'] == 1]
  b2s, switches = config.sweep.optimizer.b2, config.sweep.optimizer.bias_correction
  assert len(rerun) == len(b2s) * len(switches) * 2
  for b2 in b2s:
    for switch in switches:
      cell = [p for p in tuning if p.get('optimizer.b2') == b2]
      cell = [p for p in cell if p.get('optimizer.bias_correction') == switch]
      chosen = select.best(cell, 'loss')  # one seed: the best point of the cell
      cell_values = {'optimizer.b2': b2, 'optimizer.bias_correction': switch}
      again = [p for p in rerun if cell_values.items() <= p['hparams'].items()]
      assert [p['hparams']['seed'] for p in again] == [1, 2]  # fresh: not the tuning seed
      for p in again:
        assert {k: v for k, v in p['hparams'].items() if k != 'seed'} == chosen.hparams
  run = results.Run.load(str(tmp_path))
  assert [c.program for c in run.best_configurations()] == [1]
  # One tuning seed per point, two fresh ones per rerun: no one list of seeds to name.
  assert "mean ± std over the row's seeds" in console.seeds_table(run)
  best = summary['configurations'][summary['best_configuration']]
  assert best['program'] == 1 and best['n'] + best['diverged'] == 2


def _scipy_welch_interval(x, y) -> tuple[float, float]:
  """scipy's 95% Welch interval of mean(x) − mean(y), to check ours against."""
  ci = scipy_stats.ttest_ind(np.array(x), np.array(y), equal_var=False).confidence_interval(0.95)
  return ci.low, ci.high


def test_within_a_margin_by_the_welch_interval_of_the_difference():
  close = significance.within([91.0, 91.2, 90.9, 91.1], [90.8, 91.0, 90.9, 90.7], 1.0)
  assert close.verdict == 'holds'
  low, high = close.interval
  assert -1.0 <= low <= close.difference <= high <= 1.0
  far = significance.within([93.0, 93.1, 92.9], [90.0, 90.2, 89.9], 1.0)
  assert far.verdict == 'does not hold' and far.interval[0] > 1.0
  noisy = significance.within([91.0, 93.0, 89.0], [90.0, 92.5, 88.0], 1.0)
  assert noisy.verdict == 'not resolved'
  assert significance.within([91.0], [90.5], 1.0).verdict == 'not resolved'
  # The interval is the Welch one: scipy's for the same data.
  expected = _scipy_welch_interval([91.0, 91.2, 90.9, 91.1], [90.8, 91.0, 90.9, 90.7])
  assert close.interval == pytest.approx(expected)


def test_counts_and_prediction_intervals():
  many = significance.compare_counts(9, 10, 1, 10, 'greater')  # diverged 9 of 10 against 1 of 10
  assert many.verdict == 'holds' and many.p_value < 0.01
  assert significance.compare_counts(1, 10, 9, 10, 'greater').verdict == 'does not hold'
  assert significance.compare_counts(3, 6, 1, 6, 'greater').verdict == 'not resolved'  # p = 0.55
  x = np.array([0.90, 0.91, 0.92, 0.915, 0.905])
  low, high = significance.prediction_interval(x)
  half = scipy_stats.t.ppf(0.975, 4) * x.std(ddof=1) * np.sqrt(1 + 1 / 5)
  assert (low, high) == pytest.approx((x.mean() - half, x.mean() + half))
  assert significance.prediction_interval([0.9]) is None


def test_non_inferior_by_the_welch_interval_against_the_margin():
  """'a is no worse than b by more than the margin': the lower end of the interval decides."""
  better = significance.non_inferior([92.0, 92.2, 91.9, 92.1], [90.8, 91.0, 90.9, 90.7], 0.5)
  assert better.verdict == 'holds' and better.interval[0] > 0  # better passes, of course
  slightly_worse = significance.non_inferior(
    [90.7, 90.9, 90.8, 90.6], [90.8, 91.0, 90.9, 90.7], 0.5
  )
  assert slightly_worse.verdict == 'holds' and -0.5 <= slightly_worse.interval[0] < 0
  worse = significance.non_inferior([88.0, 88.1, 87.9], [90.0, 90.2, 89.9], 0.5)
  assert worse.verdict == 'does not hold' and worse.interval[1] < -0.5
  noisy = significance.non_inferior([90.0, 92.0, 88.0], [90.5, 92.5, 88.5], 0.5)
  assert noisy.verdict == 'not resolved'
  assert significance.non_inferior([91.0], [90.5], 0.5).verdict == 'not resolved'
  expected = _scipy_welch_interval([90.7, 90.9, 90.8, 90.6], [90.8, 91.0, 90.9, 90.7])
  assert slightly_worse.interval == pytest.approx(expected)
