"""DeepOBS's fmnist_2c2d: the 2c2d network as DeepOBS builds it, and its config end to end.

DeepOBS (github.com/fsschneider/DeepOBS): ``deepobs/tensorflow/testproblems/_2c2d.py`` and
``deepobs/pytorch/testproblems/testproblems_modules.py`` (``net_mnist_2c2d``).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
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
  cmd = [
    sys.executable,
    '-m',
    'experiments.run',
    f'--config={ROOT}/configs/fmnist_2c2d.py:smoke',
    f'--workdir={tmp_path}',
  ]
  env = {**os.environ, 'PYTHONPATH': ROOT}
  proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  records = read_metrics(str(tmp_path))
  tests = [r for r in records if r['split'] == 'test']
  assert tests and all(np.isfinite(r['loss']) and 0 <= r['accuracy'] <= 1 for r in tests)
