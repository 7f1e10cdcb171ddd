"""End to end: every config's smoke run, the CLI, the files a run leaves, tfds mock data."""

from __future__ import annotations

import glob
import importlib
import json
import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from adam_jax import data, models, sweep, train
from experiments import runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(
  os.path.basename(p)[:-3]
  for p in glob.glob(os.path.join(ROOT, 'configs', '*.py'))
  if not os.path.basename(p).startswith(('_', 'common'))
)
REQUIRED = {'lr_mnist', 'lr_imdb', 'mlp_mnist', 'cnn_cifar', 'vae_mnist', 'perez_mnist', 'reddi'}


def load_config(name: str, arg: str | None = 'smoke'):
  return importlib.import_module(f'configs.{name}').get_config(arg)


def read_metrics(workdir: str) -> list[dict]:
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f if line.strip()]


def test_every_contract_config_exists():
  assert REQUIRED <= set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_has_the_common_keys_and_a_docstring(name):
  config = load_config(name, None)
  for key in (
    'seed',
    'num_epochs',
    'batch_size',
    'dataset.name',
    'model.name',
    'optimizer.name',
    'optimizer.learning_rate',
    'sweep',
  ):
    node = config
    for part in key.split('.'):
      node = node[part]
  with open(os.path.join(ROOT, 'configs', f'{name}.py')) as f:
    module_doc = f.read().split('"""')[1]
  assert 'python -m experiments.run --config=configs/' in module_doc
  assert '§' in module_doc or 'Reddi' in module_doc or 'Pérez' in module_doc


@pytest.mark.parametrize('name', CONFIGS)
def test_smoke_run_of_every_config(name, tmp_path):
  config = load_config(name)
  summary = runner.run(config, str(tmp_path))
  records = read_metrics(str(tmp_path))
  assert records, 'no metrics written'
  for r in records:
    assert {'step', 'epoch', 'split', 'loss', 'grid_index', 'hparams'} <= set(r)
    assert r['split'] in ('train', 'validation', 'test')
  programs = sweep.expand(sweep.flatten(config.sweep.to_dict()))
  num_points = sum(len(p.points) or 1 for p in programs)
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


def test_cli_with_override_and_default_workdir(tmp_path):
  env = {**os.environ, 'PYTHONPATH': ROOT}
  cmd = [
    sys.executable,
    '-m',
    'experiments.run',
    f'--config={ROOT}/configs/lr_mnist.py:smoke',
    '--config.optimizer.learning_rate=0.25',
    '--config.num_epochs=1',
  ]
  proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  workdir = tmp_path / 'runs' / 'lr_mnist_smoke'
  config = json.loads((workdir / 'config.json').read_text())
  assert config['optimizer']['learning_rate'] == 0.25
  assert 'best on validation loss' in proc.stdout  # the results table
  assert 'epoch 1/1' in proc.stderr and 'ETA' in proc.stderr  # progress lines


def test_real_data_pipeline_under_tfds_mock_data(tmp_path):
  tfds = pytest.importorskip('tensorflow_datasets')
  config = load_config('lr_mnist')
  config.dataset.synthetic = False
  config.dataset.validation_size = 16
  config.sweep.optimizer.name = ('adam',)
  with tfds.testing.mock_data(num_examples=96):
    summary = runner.run(config, str(tmp_path))
  assert summary['points'][0]['final']['test']['accuracy'] >= 0.0
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
  for strategy in ('vmap', 'map'):
    grid_trainer = train.GridTrainer(
      task, 'adam', shared, swept, batch_size=64, grid_strategy=strategy
    )
    grid = train.grid_arrays(points, swept)
    state = grid_trainer.init(grid, x)
    for epoch in range(2):
      state, metrics = grid_trainer.train_epoch(state, grid, x, y, epoch)
    for i, point in enumerate(points):
      single = train.GridTrainer(task, 'adam', {**shared, **point}, batch_size=64)
      s = single.init({}, x)
      for epoch in range(2):
        s, m = single.train_epoch(s, {}, x, y, epoch)
      np.testing.assert_allclose(metrics['loss'][i], m['loss'][0], rtol=1e-5)


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
