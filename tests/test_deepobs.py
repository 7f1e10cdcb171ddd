"""DeepOBS's fmnist_2c2d: the 2c2d network as DeepOBS builds it, and its config end to end.

DeepOBS (github.com/fsschneider/DeepOBS): ``deepobs/tensorflow/testproblems/_2c2d.py`` and
``deepobs/pytorch/testproblems/testproblems_modules.py`` (``net_mnist_2c2d``).
"""

from __future__ import annotations

import json
import math

import flax.linen as nn
import forkserver
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import cli_env
from test_experiments import ROOT, read_metrics

from adam_jax import layers, models
from configs import fmnist_2c2d
from experiments import validate

MNIST = (28, 28, 1)
KEY = jax.random.key(0)

# By hand from DeepOBS's layers: a 5x5 Conv(c_in -> c_out) has 5*5*c_in*c_out + c_out
# parameters, Dense(n_in -> n_out) n_in*n_out + n_out. Two 2x2 stride-2 'same' pools take
# 28 -> 14 -> 7, so the flatten is 7*7*64 = 3136 (DeepOBS: `tf.reshape(x, [-1, 7 * 7 * 64])`).
DEEPOBS_LAYERS = {
  'conv_0': ((5, 5, 1, 32), 5 * 5 * 1 * 32 + 32),  # 832
  'conv_1': ((5, 5, 32, 64), 5 * 5 * 32 * 64 + 64),  # 51_264
  'dense': ((7 * 7 * 64, 1024), 7 * 7 * 64 * 1024 + 1024),  # 3_212_288
  'output': ((1024, 10), 1024 * 10 + 10),  # 10_250
}
DEEPOBS_PARAMS = 3_274_634  # the sum; Pérez's CNN has the same widths, so the same count

STDDEV = 0.05  # tf.truncated_normal_initializer(stddev=0.05), cut at ±2σ
BIAS = 0.05  # tf.initializers.constant(0.05)


def truncated_std(stddev: float, cut: float = 2.0) -> float:
  """Standard deviation of N(0, stddev²) truncated to ±cut·stddev."""
  phi = math.exp(-cut * cut / 2) / math.sqrt(2 * math.pi)
  mass = math.erf(cut / math.sqrt(2))
  return stddev * math.sqrt(1 - 2 * cut * phi / mass)


def init_2c2d(key=KEY, shape=MNIST):
  model = models.get_model('deepobs_2c2d', num_classes=10)
  return model, model.init(key, jnp.zeros((2, *shape), jnp.float32))


def test_param_count_and_layer_shapes_are_deepobs():
  assert sum(n for _, n in DEEPOBS_LAYERS.values()) == DEEPOBS_PARAMS
  model = models.get_model('deepobs_2c2d', num_classes=10)
  variables = jax.eval_shape(lambda: model.init(KEY, jnp.zeros((2, *MNIST))))
  assert set(variables) == {'params'}
  params = variables['params']
  assert set(params) == set(DEEPOBS_LAYERS)
  for name, (kernel_shape, count) in DEEPOBS_LAYERS.items():
    assert params[name]['kernel'].shape == kernel_shape, name
    assert params[name]['bias'].shape == kernel_shape[-1:], name
    assert models.count_params(params[name]) == count, name
  assert models.count_params(variables) == DEEPOBS_PARAMS


def test_output_shape_with_and_without_a_channel_axis():
  model, variables = init_2c2d()
  x = jax.random.uniform(jax.random.key(1), (3, 28, 28))
  logits = model.apply(variables, x[..., None])
  assert logits.shape == (3, 10)
  np.testing.assert_array_equal(model.apply(variables, x), logits)
  # No dropout: `train` changes nothing and needs no rng.
  np.testing.assert_array_equal(model.apply(variables, x, train=True), logits)


def test_initialisation_is_deepobs_truncated_normal_and_constant_bias():
  _, variables = init_2c2d()
  expected_std = truncated_std(STDDEV)
  assert abs(expected_std - 0.04398) < 1e-5  # 0.05 · 0.8796
  for name in DEEPOBS_LAYERS:
    p = variables['params'][name]
    np.testing.assert_array_equal(p['bias'], np.full(p['bias'].shape, BIAS, np.float32))
    w = np.asarray(p['kernel'], np.float64).ravel()
    assert np.all(np.abs(w) <= 2 * STDDEV + 1e-7), name  # cut at ±2σ
    assert np.abs(w).max() > 1.5 * STDDEV, name  # but a normal, not a narrow uniform
    # Sampling error of the std is about std/√(2n): 5 of those is ≤ 13% for conv_0's 800.
    tol = 5 / math.sqrt(2 * w.size)
    assert abs(w.std() / expected_std - 1) < tol, (name, w.std())
    assert abs(w.mean()) < 5 * expected_std / math.sqrt(w.size), name
  # Each layer draws its own kernel.
  a = np.asarray(variables['params']['dense']['kernel'][:10, :10])
  b = np.asarray(variables['params']['output']['kernel'][:10, :10])
  assert not np.allclose(a, b)


def test_two_by_two_pool_is_tf_same_pooling():
  """layers.max_pool_same at 2x2/2 is 'SAME' pooling: no padding on 28 and 14, one on 7."""
  for size in (28, 14, 7):
    x = jax.random.normal(jax.random.key(size), (2, size, size, 3))
    ours = layers.max_pool_same(x, window_shape=(2, 2), strides=(2, 2))
    ref = nn.max_pool(x, (2, 2), strides=(2, 2), padding='SAME')
    assert ours.shape == (2, -(-size // 2), -(-size // 2), 3)
    np.testing.assert_array_equal(ours, ref)


def test_forward_pass_equals_deepobs_layer_order():
  """conv → ReLU → 2x2 pool (DeepOBS's order), flatten in HWC order, ReLU dense, dense."""
  model, variables = init_2c2d()
  p = variables['params']
  x = jax.random.uniform(jax.random.key(2), (4, *MNIST))

  def reference(x):
    for name in ('conv_0', 'conv_1'):
      x = jax.lax.conv_general_dilated(
        x, p[name]['kernel'], (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC')
      )
      x = nn.relu(x + p[name]['bias'])
      x = nn.max_pool(x, (2, 2), strides=(2, 2), padding='SAME')
    x = x.reshape(x.shape[0], 7 * 7 * 64)
    x = nn.relu(x @ p['dense']['kernel'] + p['dense']['bias'])
    return x @ p['output']['kernel'] + p['output']['bias']

  np.testing.assert_allclose(model.apply(variables, x), reference(x), rtol=1e-5, atol=1e-5)


def test_config_is_deepobs_problem_with_adam_at_its_tuned_alpha():
  config = fmnist_2c2d.get_config(None)
  assert config.model.name == 'deepobs_2c2d'
  assert config.dataset.name == 'fashion_mnist'
  assert config.dataset.validation_size == 0  # DeepOBS trains on all 60,000 images
  assert config.batch_size == 128
  assert config.num_epochs == 20
  assert config.model.l2 == 0.0
  assert config.optimizer.name == 'adam'
  assert config.optimizer.schedule == 'constant'
  assert config.optimizer.learning_rate == pytest.approx(10**-3.6, rel=1e-9)
  assert (config.optimizer.b1, config.optimizer.b2, config.optimizer.eps) == (0.9, 0.999, 1e-8)
  assert config.eval.select_metric == 'accuracy'
  assert fmnist_2c2d.get_config('long').num_epochs == 100  # DeepOBS's own count
  assert fmnist_2c2d.get_config('quick').num_epochs == 1
  for arg in (None, 'long', 'quick', 'fmnist', 'smoke'):
    validate.validate(fmnist_2c2d.get_config(arg))


@pytest.mark.slow
def test_smoke_run_from_the_command_line(tmp_path):
  argv = [f'--config={ROOT}/configs/fmnist_2c2d.py:smoke', f'--workdir={tmp_path}']
  proc = forkserver.run(argv, cli_env(), cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  records = read_metrics(str(tmp_path))
  tests = [r for r in records if r['split'] == 'test']
  assert tests and all(np.isfinite(r['loss']) and 0 <= r['accuracy'] <= 1 for r in tests)


def fake_run(tmp_path, accuracies: dict[int, list[float]]):
  """A finished fmnist_2c2d run: one point per seed, test accuracy after each epoch as given."""
  from experiments import select
  from experiments.point import Point
  from experiments.results import Run

  points, records = [], []
  for gi, (seed, accs) in enumerate(accuracies.items()):
    final = {'train': {'loss': 0.1, 'accuracy': 0.96}, 'test': {'loss': 0.25, 'accuracy': accs[-1]}}
    points.append(Point(gi, 0, {}, {'seed': seed}, None, final))
    for e, a in enumerate(accs, 1):
      records += [
        {'epoch': e, 'split': 'test', 'accuracy': a, 'loss': 1.2 - a, 'grid_index': gi},
        {'epoch': e, 'split': 'train', 'accuracy': a, 'loss': 0.5 / e, 'grid_index': gi},
      ]
  summary = select.summarize(points, len(accs), 'accuracy', 0.0)
  return Run(str(tmp_path / 'fmnist_2c2d'), {'seed': 0}, summary, points, records, {})


def fake_peer(here: dict[int, list[float]], published: dict[int, list[float]]) -> dict:
  """The peer JSON's layout: per-run lists indexed by epoch (0: before training)."""

  def runs(accs):
    return [
      {
        'seed': s,
        'test_accuracy': [0.1, *a],
        'test_loss': [2.3, *(1.3 - x for x in a)],
        'train_eval_loss': [2.3, *(0.4 / (e + 1) for e in range(len(a)))],
        'train_minibatch_loss': [0.6 / (e + 1) for e in range(len(a))],
      }
      for s, a in accs.items()
    ]

  return {
    'description': 'PEER DESCRIPTION',
    'runs': runs(here),
    'published': {'runs': runs(published), 'steps_per_epoch': 468},
  }


def render(tmp_path, monkeypatch, peer: dict | None, ours: dict[int, list[float]]) -> list[str]:
  from experiments.report import Report, deepobs, deepobs_peer

  path = tmp_path / 'peer.json'
  if peer is not None:
    path.write_text(json.dumps(peer))
  monkeypatch.setattr(deepobs_peer, 'PEER_FILE', str(path))
  report = Report(str(tmp_path), str(tmp_path / 'out'), {'fmnist_2c2d': 'its command'})
  report.loaded['fmnist_2c2d'] = fake_run(tmp_path, ours)
  deepobs.section(report)
  return report.lines


def test_the_report_holds_deepobs_code_run_here_against_ours_and_the_published_runs(
  tmp_path, monkeypatch
):
  ours = {0: [0.85, 0.920], 1: [0.86, 0.921], 2: [0.87, 0.922]}
  peer = fake_peer(
    here={45: [0.855, 0.919], 47: [0.857, 0.923]}, published={45: [0.84, 0.90], 47: [0.83, 0.91]}
  )
  lines = render(tmp_path, monkeypatch, peer, ours)
  start = lines.index("### DeepOBS's own code, run here")
  assert lines[start + 2] == 'PEER DESCRIPTION'
  rows = [line for line in lines[start:] if line.startswith('| ')]
  # Epoch 1: ours mean ± std over 3 seeds; theirs seed by seed (45, 47), in percent; loss.
  assert (
    rows[1]
    == '| 1 | 86.00 ± 1.00 | 85.5, 85.7 | 84, 83 | 0.3400 ± 0.0100 | 0.445, 0.443 | 0.46, 0.47 |'
  )
  assert rows[2].startswith('| 2 | 92.100 ± 0.100 | 91.9, 92.3 | 90, 91 |')
  assert rows[3] == '| best of epochs 1–2 | 92.100 ± 0.100 | 91.9, 92.3 | 90, 91 |  |  |  |'
  # Training loss: our mean minibatch loss, theirs, their train-eval losses.
  assert rows[5] == '| 1 | 0.5 ± 0 | 0.6, 0.6 | 0.4, 0.4 | 0.4, 0.4 |'
  [verdict] = [line for line in lines if line.startswith('After 2 epochs')]
  assert "ours 92.10% (mean), DeepOBS's code here 92.10%, published 90.50%" in verdict
  assert 'ours − published +1.60' in verdict
  assert '2 of 2 runs of their code here, 0 of 2 published runs' in verdict
  assert 'agrees with ours; the published runs are below both' in verdict
  # Their code here below ours as the published runs are: said so.
  peer = fake_peer(
    here={45: [0.84, 0.905], 47: [0.83, 0.908]}, published={45: [0.84, 0.90], 47: [0.83, 0.91]}
  )
  [verdict] = [x for x in render(tmp_path, monkeypatch, peer, ours) if x.startswith('After 2')]
  assert "DeepOBS's code run here differs from ours**, as the published runs do" in verdict


def test_without_the_peer_file_the_section_has_no_peer_comparison(tmp_path, monkeypatch):
  lines = render(tmp_path, monkeypatch, None, {0: [0.85, 0.92], 1: [0.86, 0.921]})
  assert not any('run here' in line for line in lines)
  assert any(line.startswith('| test accuracy %') for line in lines)


def test_deepobs_12s_shorter_epochs_are_held_against_the_published_runs_after_as_many_steps():
  from experiments.report import deepobs_peer

  peer = fake_peer(here={45: [0.85]}, published={45: [0.8 + e / 100 for e in range(1, 8)]})
  assert deepobs_peer.by_steps(peer) == []  # no run of DeepOBS 1.2's pipeline
  split = {'seed': 45, 'epochs': 7, 'train_images': 50_000, 'steps_per_epoch': 390}
  split |= {'test_accuracy': [0.1, *(0.7 + e / 100 for e in range(1, 8))]}
  split |= {'test_loss': [2.3, *(0.5 - e / 100 for e in range(1, 8))]}
  peer['runs_validation_split'] = [split]
  [line, blank] = deepobs_peer.by_steps(peer)
  # 6 epochs of 390 steps are 5 of 468: the only epoch with a published twin.
  assert 'trains on the other 50,000 (390 steps an epoch)' in line
  assert line.endswith(
    'seed 45 after 6 epochs (2,340 steps) 76.00% test accuracy, test loss 0.4400; the '
    'published runs after 5 epochs (the same steps) 85.00%, test loss 0.4500.'
  )
  assert line.count('seed 45 after') == 1 and blank == ''


def test_with_only_deepobs_12s_pipeline_run_the_section_compares_by_steps(tmp_path, monkeypatch):
  peer = fake_peer(here={}, published={45: [0.8 + e / 100 for e in range(1, 8)]})
  peer['runs_validation_split'] = [
    {'seed': 45, 'epochs': 6, 'train_images': 50_000, 'steps_per_epoch': 390}
    | {'test_accuracy': [0.1] + [0.9] * 6, 'test_loss': [2.3] + [0.3] * 6}
  ]
  lines = render(tmp_path, monkeypatch, peer, {0: [0.85, 0.92], 1: [0.86, 0.921]})
  start = lines.index("### DeepOBS's own code, run here")
  assert not any(line.startswith('| 1 |') for line in lines[start:])  # no epoch table
  assert lines[-2].endswith(
    'the published runs after 5 epochs (the same steps) 85.00%, test loss 0.4500.'
  )


def test_the_peer_file_is_whole_and_its_published_runs_are_the_sections_epoch_20_values():
  from experiments.report import deepobs, deepobs_peer

  peer = deepobs_peer.load()
  assert peer is not None, deepobs_peer.PEER_FILE
  for r in peer['runs'] + peer['runs_validation_split']:
    assert len(r['test_accuracy']) == len(r['test_loss']) == r['epochs'] + 1
    assert len(r['train_eval_loss']) == r['epochs'] + 1 == len(r['train_minibatch_loss']) + 1
    assert r['steps_per_epoch'] == r['train_images'] // 128
  published = peer['published']['runs']
  assert [r['seed'] for r in published] == list(deepobs.DEEPOBS_SEEDS)
  for metric in ('accuracy', 'loss'):
    values = [r[f'test_{metric}'][20] for r in published]
    assert values == pytest.approx(deepobs.DEEPOBS_EPOCH20[metric], abs=5e-5)
