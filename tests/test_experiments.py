"""End to end: every config's smoke run, the CLI, the files a run leaves, tfds mock data."""

from __future__ import annotations

import glob
import importlib
import json
import math
import os
import subprocess

import forkserver
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from conftest import cli_env, json_from_8_cpu_devices

from adam_jax import data, models, train
from experiments import optimizers, plots, programs, results, sweep, validate
from experiments.run import experiment_kind

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(
  os.path.basename(p)[:-3]
  for p in glob.glob(os.path.join(ROOT, 'configs', '*.py'))
  if not os.path.basename(p).startswith(('_', 'common'))
)
REQUIRED = {'lr_mnist', 'lr_imdb', 'mlp_mnist', 'cnn_cifar', 'vae_mnist', 'perez_mnist', 'reddi'}

ADAM = optimizers.factory('adam')


def load_config(name: str, arg: str | None = 'smoke'):
  return importlib.import_module(f'configs.{name}').get_config(arg)


def run_experiment(config, workdir: str) -> dict:
  """What `python -m experiments.run` does after validation, in-process."""
  return experiment_kind(config.experiment)(config, workdir)


def read_metrics(workdir: str) -> list[dict]:
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f if line.strip()]


def test_every_contract_config_exists():
  assert REQUIRED <= set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_has_the_common_keys_and_a_docstring(name):
  config = load_config(name, None)
  kinds = {
    'seed': int,
    'num_epochs': int,
    'batch_size': int,
    'dataset.name': str,
    'model.name': str,
    'optimizer.name': str,
    'optimizer.learning_rate': float,
    'sweep': ml_collections.ConfigDict,
  }
  for key, kind in kinds.items():
    node = config
    for part in key.split('.'):
      assert part in node, f'{name}: no config.{key}'
      node = node[part]
    assert isinstance(node, kind) and not isinstance(node, bool), (key, node)
  validate.validate(config)  # and each has a value the run accepts
  with open(os.path.join(ROOT, 'configs', f'{name}.py')) as f:
    module_doc = f.read().split('"""')[1]
  assert 'python -m experiments.run --config=configs/' in module_doc
  assert any(source in module_doc for source in ('§', 'Reddi', 'Pérez', 'DeepOBS', 'Wilson'))


def test_a_diverged_thin_curve_does_not_flatten_the_chosen_ones(tmp_path, monkeypatch):
  from experiments.point import Point
  from tests.report_runs import config, final, write_run

  def point(index, program, name, alpha, loss, accuracy):
    hparams = {'optimizer.learning_rate': alpha}
    return Point(index, program, {'optimizer.name': name}, hparams, None, final(loss, accuracy))

  points = [  # program 0: α 0.001 chosen (loss 0.3), α 1 diverged to 1e5; program 1 chosen
    point(0, 0, 'adam', 1e-3, 0.3, 0.9),
    point(1, 0, 'adam', 1.0, 1e5, 0.1),
    point(2, 1, 'sgd', 1e-2, 0.5, 0.8),
  ]
  write_run(str(tmp_path / 'run'), points, config('loss'))
  figures = []
  monkeypatch.setattr(plots.plt, 'close', figures.append)  # keep the figure to look at it
  plots.plot_curves(results.Run.load(str(tmp_path / 'run')), str(tmp_path / 'curves.png'))
  low, high = figures[0].axes[0].get_ylim()  # the training cost, log scale
  # the chosen curves: 0.3 to 0.5 at the last epoch, 1.4× that at the first (write_run)
  assert 0.3 / 1.5 <= low < 0.3 and 0.5 * 1.4 < high <= 0.5 * 1.4 * 1.5


@pytest.mark.parametrize(
  'name', [pytest.param(n, marks=pytest.mark.slow) if n == 'cnn_cifar' else n for n in CONFIGS]
)
def test_smoke_run_of_every_config(name, tmp_path):
  config = load_config(name)
  summary = run_experiment(config, str(tmp_path))
  plots.plot_run(results.Run.load(str(tmp_path)))
  records = read_metrics(str(tmp_path))
  assert records, 'no metrics written'
  for r in records:
    assert {'step', 'epoch', 'split', 'loss', 'grid_index', 'program', 'hparams'} <= set(r)
    assert r['split'] in ('train', 'validation', 'test')
  tuning = programs.expand(config)
  num_points = sum(len(p.points) or 1 for p in tuning + programs.rerun_programs(config, tuning))
  assert len(summary['points']) == num_points
  assert {r['grid_index'] for r in records} == set(range(num_points))
  for fname in ('config.json', 'summary.json'):
    assert os.path.exists(tmp_path / fname)
  assert glob.glob(str(tmp_path / '*.png'))
  if config.experiment == 'train':
    assert any(r['split'] == 'test' for r in records)
    assert os.listdir(tmp_path / 'tensorboard')
    assert os.listdir(tmp_path / 'checkpoints')
    if config.model.name != 'vae':
      assert all('accuracy' in r for r in records)
  if config.plot == 'figure4':
    assert os.path.exists(tmp_path / 'figure4.png')


def run_smoke_cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
  """`python -m experiments.run` of lr_mnist's smoke config for one epoch, plus ``args``."""
  argv = [f'--config={ROOT}/configs/lr_mnist.py:smoke', '--config.num_epochs=1', *args]
  return forkserver.run(argv, cli_env(), cwd=cwd)


def test_cli_with_override_and_default_workdir(tmp_path):
  proc = run_smoke_cli('--config.optimizer.learning_rate=0.25', cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  workdir = tmp_path / 'runs' / 'lr_mnist_smoke'
  config = json.loads((workdir / 'config.json').read_text())
  assert config['optimizer']['learning_rate'] == 0.25
  assert 'best on validation loss' in proc.stdout  # the results table
  assert 'epoch 1/1' in proc.stderr and 'ETA' in proc.stderr  # progress lines


def test_real_data_pipeline_under_tfds_mock_data(tmp_path, monkeypatch):
  tfds = pytest.importorskip('tensorflow_datasets')
  monkeypatch.setenv('XDG_DATA_HOME', str(tmp_path / 'xdg'))  # not the MNIST make install wrote
  config = load_config('lr_mnist')
  config.dataset.synthetic = False
  config.dataset.validation_size = 16
  config.sweep.optimizer.name = ('adam',)
  with tfds.testing.mock_data(num_examples=96):
    summary = run_experiment(config, str(tmp_path))
  final = summary['points'][0]['final']
  assert 0.0 <= final['test']['accuracy'] <= 1.0 and math.isfinite(final['test']['loss'])
  assert set(final) == {'train', 'validation', 'test'}
  records = read_metrics(str(tmp_path))
  assert records[-1]['step'] == 2 * (80 // config.batch_size)


def test_grid_points_equal_single_runs():
  """Each point of a vmapped grid trains exactly as a run of that point alone."""
  ds = data.synthetic('fashion_mnist', num_train=512)
  x, y = jnp.asarray(ds.train[0]), jnp.asarray(ds.train[1])
  model = models.get_model('mlp', num_classes=10, hidden=(32, 32), dropout=True)
  task = train.Task(model, 'classifier')
  points = [
    {'optimizer.learning_rate': lr, 'optimizer.b2': b2}
    for lr, b2 in [(1e-3, 0.999), (3e-3, 0.99), (1e-2, 0.999)]
  ]
  swept = ('optimizer.learning_rate', 'optimizer.b2')
  shared = {'optimizer.learning_rate': 1e-3, 'optimizer.b2': 0.999, 'seed': 0}
  singles = []
  for point in points:
    single = train.GridTrainer(task, ADAM, {**shared, **point}, batch_size=64)
    s = single.init({}, x)
    for epoch in range(2):
      s, m = single.train_epoch(s, {}, x, y, epoch)
    singles.append(m['loss'][0])
  for strategy in ('vmap', 'map'):
    grid_trainer = train.GridTrainer(
      task, ADAM, shared, swept, batch_size=64, grid_strategy=strategy
    )
    grid = train.grid_arrays(points, swept)
    state = grid_trainer.init(grid, x)
    for epoch in range(2):
      state, metrics = grid_trainer.train_epoch(state, grid, x, y, epoch)
    for i, single in enumerate(singles):
      np.testing.assert_allclose(metrics['loss'][i], single, rtol=1e-5, err_msg=strategy)


def test_sweep_splits_structural_and_vmapped_keys():
  programs = sweep.expand(
    {
      'optimizer.name': ['adam', 'sgd'],
      'model.dropout': [True, False],
      'optimizer.learning_rate': [1e-3, 1e-2, 1e-1],
      'optimizer.bias_correction': [True, False],
      'seed': [0, 1],
    }
  )
  assert len(programs) == 4
  assert all(len(p.points) == 12 for p in programs)
  assert programs[1].first_grid_index == 12
  assert set(programs[0].swept) == {'optimizer.learning_rate', 'optimizer.bias_correction', 'seed'}
  assert sweep.expand({})[0].points == [{}]  # a single run: one program, one point


def test_chunked_grid_equals_whole_grid(tmp_path):
  config = load_config('vae_mnist')
  config.num_epochs = 1
  sweep.set_path(config.sweep, 'optimizer.b2', (0.99,))
  whole = run_experiment(config, str(tmp_path / 'whole'))
  config.grid_chunk_size = 3  # 8 points: chunks of 3, the last padded
  chunked = run_experiment(config, str(tmp_path / 'chunked'))
  for a, b in zip(whole['points'], chunked['points'], strict=True):
    assert a['hparams'] == b['hparams']
    np.testing.assert_allclose(a['final']['train']['loss'], b['final']['train']['loss'], rtol=1e-5)
  assert len(read_metrics(str(tmp_path / 'chunked'))) == 8 * 3


def test_a_diverging_point_does_not_spoil_the_others(tmp_path):
  config = load_config('lr_mnist')
  config.sweep = ml_collections.ConfigDict()
  sweep.set_path(config.sweep, 'optimizer.learning_rate', (0.01, 1e38, 0.03))
  summary = run_experiment(config, str(tmp_path / 'grid'))
  diverged = [p for p in summary['points'] if p['diverged_step'] is not None]
  assert [p['hparams']['optimizer.learning_rate'] for p in diverged] == [1e38]
  assert diverged[0]['diverged_step'] >= 1
  assert summary['best_grid_index'] != diverged[0]['grid_index']
  for point in (0, 2):  # the finite points equal single runs of themselves
    single_config = load_config('lr_mnist')
    single_config.sweep = ml_collections.ConfigDict()
    single_config.optimizer.learning_rate = (0.01, 1e38, 0.03)[point]
    single = run_experiment(single_config, str(tmp_path / f'single{point}'))
    ours = summary['points'][point]['final']['test']['loss']
    np.testing.assert_allclose(ours, single['points'][0]['final']['test']['loss'], rtol=1e-5)
  records = read_metrics(str(tmp_path / 'grid'))
  assert any(r.get('diverged_step') for r in records if r['grid_index'] == 1)


def test_sweep_flag_on_the_command_line(tmp_path):
  proc = run_smoke_cli(
    f'--workdir={tmp_path}',
    '--sweep=optimizer.name=adam,amsgrad',
    '--sweep=optimizer.b2=0.99,0.999',
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  summary = json.loads((tmp_path / 'summary.json').read_text())
  assert len(summary['points']) == 2 * 2 * 2  # names x b2 x the config's two learning rates
  assert {p['structural']['optimizer.name'] for p in summary['points']} == {'adam', 'amsgrad'}
  assert {p['program'] for p in summary['points']} == {0, 1}


MESH_SCRIPT = r"""
import json, sys
import jax, jax.numpy as jnp, numpy as np
from adam_jax import data, models, train
from experiments import optimizers
ADAM = optimizers.factory('adam')
assert jax.device_count() == 8, jax.devices()
ds = data.synthetic('fashion_mnist', num_train=512)
x, y = jnp.asarray(ds.train[0]), jnp.asarray(ds.train[1])
task = train.Task(models.get_model('mlp', num_classes=10, hidden=(32,), dropout=True), 'classifier')
swept = ('optimizer.learning_rate',)
points = [{'optimizer.learning_rate': lr} for lr in np.geomspace(1e-4, 1e-1, 8)]
shared = {'optimizer.learning_rate': 1e-3, 'seed': 0}
out = {}
for name, (g, d) in {'one': (1, 1), 'grid4x2': (4, 2), 'grid8': (8, 1)}.items():
  t = train.GridTrainer(task, ADAM, shared, swept, batch_size=64, mesh=train.make_mesh(g, d))
  grid = t.shard(train.grid_arrays(points, swept))
  xs, ys = t.shard((x, y), grid_axis=False)
  s = t.shard(t.init(grid, xs))
  for e in range(2):
    s, m = t.train_epoch(s, grid, xs, ys, e)
  out[name] = np.asarray(m['loss']).tolist()
for name, (g, d) in {'single': (1, 1), 'data8': (1, 8)}.items():
  t = train.GridTrainer(task, ADAM, shared, (), batch_size=64, mesh=train.make_mesh(g, d))
  xs, ys = t.shard((x, y), grid_axis=False)
  s = t.shard(t.init({}, xs))
  for e in range(2):
    s, m = t.train_epoch(s, {}, xs, ys, e)
  out[name] = np.asarray(m['loss']).tolist()
  out[name + '_sharding'] = str(s.params['output']['kernel'].sharding)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_sharded_grid_and_data_parallel_equal_one_device():
  out = json_from_8_cpu_devices(MESH_SCRIPT)
  np.testing.assert_allclose(out['grid4x2'], out['one'], rtol=1e-5)
  np.testing.assert_allclose(out['grid8'], out['one'], rtol=1e-5)
  np.testing.assert_allclose(out['data8'], out['single'], rtol=1e-5)
  assert 'NamedSharding' in out['data8_sharding']


def _config_args():
  from configs import common

  for name in CONFIGS:
    module = importlib.import_module(f'configs.{name}')
    own = getattr(module, 'ARGS', {})
    for arg in [None, *own, *getattr(module, 'COMMON_ARGS', common.COMMON_ARGS)]:
      yield name, arg


@pytest.mark.parametrize(('name', 'arg'), list(_config_args()))
def test_every_config_and_each_of_its_arguments_passes_validation(name, arg):
  from experiments import validate

  validate.validate(load_config(name, arg))


def test_an_unknown_config_argument_is_refused_with_the_known_ones():
  with pytest.raises(ValueError, match='unknown config argument bogus.*dropout'):
    load_config('mlp_mnist', 'bogus')


def test_training_flops_counts_dense_and_convolution_layers():
  """3x the forward FLOPs; a convolution counted tap by tap, not as 6 * params."""
  x = jnp.zeros((1, 28, 28, 1))
  lr = train.Task(models.get_model('logistic_regression', num_classes=10), 'classifier')
  matmul = 2 * 784 * 10 * 128
  assert matmul * 3 <= train.training_flops(lr, x, 128) <= matmul * 3 * 1.1
  cnn = train.Task(models.get_model('perez_cnn', num_classes=10), 'classifier')
  # The second convolution alone: 2 FLOPs per multiply-add at every output position
  # (14x14), less the taps that fall on the 'SAME' padding, which XLA does not count.
  conv = 2 * 14 * 14 * (25 * 32) * 64 * 128
  assert train.training_flops(cnn, x, 128) > 3 * 0.8 * conv


@pytest.mark.skipif(jax.default_backend() != 'cpu', reason='accelerators always vmap')
def test_auto_grid_strategy_maps_compute_bound_points_on_cpu():
  x = jnp.zeros((1, 28, 28, 1))

  def task(name):
    return train.Task(models.get_model(name, num_classes=10), 'classifier')

  assert train.auto_grid_strategy(task('logistic_regression'), x, 128) == 'vmap'
  assert train.auto_grid_strategy(task('perez_cnn'), x, 128) == 'map'
  assert train.auto_grid_strategy(task('mlp'), x, 128) == 'map'
  assert train.auto_grid_strategy(task('mlp'), x, 8) == 'vmap'  # small steps batch


def test_compilation_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
  from experiments import run as run_cli  # noqa: PLC0415

  before = jax.config.jax_compilation_cache_dir
  try:
    jax.config.update('jax_compilation_cache_dir', None)
    monkeypatch.setenv(run_cli.CACHE_ENV, 'off')
    assert run_cli.enable_compilation_cache() is None
    assert not jax.config.jax_compilation_cache_dir
    monkeypatch.setenv(run_cli.CACHE_ENV, str(tmp_path))
    assert run_cli.enable_compilation_cache() == str(tmp_path)
    assert jax.config.jax_compilation_cache_dir == str(tmp_path)
    monkeypatch.setenv(run_cli.CACHE_ENV, 'off')  # JAX's own setting is left alone
    assert run_cli.enable_compilation_cache() == str(tmp_path)
  finally:
    jax.config.update('jax_compilation_cache_dir', before)
