"""Tests of adam_jax.models and adam_jax.losses: shapes, exact parameter counts, dropout."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adam_jax import losses, models

MNIST = (28, 28, 1)
CIFAR = (32, 32, 3)
KEY = jax.random.key(0)

# Parameter counts by hand: Dense(n_in -> n_out) has n_in*n_out + n_out parameters,
# a 5x5 Conv(c_in -> c_out) has 5*5*c_in*c_out + c_out. SAME padding and stride-2 pools
# take 32 -> 16 -> 8 -> 4 and 28 -> 14 -> 7 -> 4 (ceil(n / 2)).
EXPECTED_PARAMS = {
  # 784 pixels -> 10 logits.
  ('logistic_regression', MNIST): 784 * 10 + 10,  # = 7850
  # 784 -> 1000 -> 1000 -> 10.
  ('mlp', MNIST): (784 * 1000 + 1000) + (1000 * 1000 + 1000) + (1000 * 10 + 10),  # = 1_796_010
  # c64-c64-c128 on 32x32x3, flatten 4*4*128 = 2048, FC 1000, classifier 10.
  ('cnn', CIFAR): (
    (5 * 5 * 3 * 64 + 64)  # conv_0: 4864
    + (5 * 5 * 64 * 64 + 64)  # conv_1: 102464
    + (5 * 5 * 64 * 128 + 128)  # conv_2: 204928
    + (4 * 4 * 128 * 1000 + 1000)  # dense: 2049000
    + (1000 * 10 + 10)  # output: 10010
  ),  # = 2_371_266
  # Same net on 28x28x1: 28 -> 14 -> 7 -> 4, so the flatten is again 4*4*128.
  ('cnn', MNIST): (
    (5 * 5 * 1 * 64 + 64)  # conv_0: 1664
    + (5 * 5 * 64 * 64 + 64)
    + (5 * 5 * 64 * 128 + 128)
    + (4 * 4 * 128 * 1000 + 1000)
    + (1000 * 10 + 10)
  ),  # = 2_368_066
  # Pérez CNN: c32-c64 on 28x28x1, 28 -> 14 -> 7, flatten 7*7*64 = 3136, FC 1024, 10.
  ('perez_cnn', MNIST): (
    (5 * 5 * 1 * 32 + 32)  # conv_0: 832
    + (5 * 5 * 32 * 64 + 64)  # conv_1: 51264
    + (7 * 7 * 64 * 1024 + 1024)  # dense: 3212288
    + (1024 * 10 + 10)  # output: 10250
  ),  # = 3_274_634
}

# VAE 784-500-(50, 50) / 50-500-784.
VAE_PARAMS = (
  (784 * 500 + 500)  # enc_hidden: 392500
  + 2 * (500 * 50 + 50)  # enc_mean, enc_logvar: 2 * 25050
  + (50 * 500 + 500)  # dec_hidden: 25500
  + (500 * 784 + 784)  # dec_output: 392784
)  # = 860_884


def _init(model, shape, batch=2):
  return model.init(KEY, jnp.zeros((batch, *shape), jnp.float32))


def _abstract_init(model, shape, batch=2):
  """Shapes of the variables, traced but not computed (fast for the full-size models)."""
  return jax.eval_shape(lambda: _init(model, shape, batch))


@pytest.mark.parametrize(('name', 'shape'), list(EXPECTED_PARAMS))
def test_classifier_shapes_and_param_counts(name, shape):
  model = models.get_model(name, num_classes=10)
  variables = _abstract_init(model, shape)
  assert set(variables) == {'params'}
  assert models.count_params(variables['params']) == EXPECTED_PARAMS[(name, shape)]
  x = jax.ShapeDtypeStruct((3, *shape), jnp.float32)
  assert jax.eval_shape(model.apply, variables, x).shape == (3, 10)


def test_hand_counts_spelled_out():
  assert EXPECTED_PARAMS[('logistic_regression', MNIST)] == 7850
  assert EXPECTED_PARAMS[('mlp', MNIST)] == 1_796_010
  assert EXPECTED_PARAMS[('cnn', CIFAR)] == 2_371_266
  assert EXPECTED_PARAMS[('cnn', MNIST)] == 2_368_066
  assert EXPECTED_PARAMS[('perez_cnn', MNIST)] == 3_274_634
  assert VAE_PARAMS == 860_884


def test_dropout_does_not_change_param_count():
  for name in ('mlp', 'cnn'):
    shape = CIFAR if name == 'cnn' else MNIST
    variables = _abstract_init(models.get_model(name, num_classes=10, dropout=True), shape)
    assert models.count_params(variables) == EXPECTED_PARAMS[(name, shape)]


def test_logistic_regression_flattens_any_trailing_shape():
  model = models.LogisticRegression(num_classes=2)
  variables = model.init(KEY, jnp.zeros((1, 10_000)))
  assert models.count_params(variables) == 10_000 * 2 + 2
  assert model.apply(variables, jnp.ones((4, 10_000))).shape == (4, 2)


def test_channel_less_images_get_a_channel_axis():
  model = models.get_model('perez_cnn', num_classes=10, features=(2, 4), dense=8)
  variables = _init(model, (12, 12, 1))
  x = jax.random.uniform(KEY, (2, 12, 12))
  np.testing.assert_allclose(model.apply(variables, x), model.apply(variables, x[..., None]))


SMALL = {
  'mlp': (dict(hidden=(16, 16)), (8, 8, 1)),
  'cnn': (dict(features=(4, 4, 8), dense=16), (8, 8, 3)),
  'perez_cnn': (dict(features=(4, 8), dense=16), (8, 8, 1)),
}


@pytest.mark.parametrize('name', list(SMALL))
def test_dropout_semantics(name):
  kwargs, shape = SMALL[name]
  model = models.get_model(name, num_classes=10, dropout=True, **kwargs)
  variables = _init(model, shape)
  x = jax.random.normal(jax.random.key(1), (4, *shape))
  apply = jax.jit(model.apply, static_argnames='train')
  plain = apply(variables, x)
  # Evaluation: deterministic, no rng needed, same with any rng.
  np.testing.assert_array_equal(plain, apply(variables, x, train=False))
  np.testing.assert_array_equal(
    plain, apply(variables, x, train=False, rngs={'dropout': jax.random.key(5)})
  )
  # Training: stochastic, rng-dependent, reproducible for a fixed rng.
  a = apply(variables, x, train=True, rngs={'dropout': jax.random.key(2)})
  b = apply(variables, x, train=True, rngs={'dropout': jax.random.key(3)})
  a2 = apply(variables, x, train=True, rngs={'dropout': jax.random.key(2)})
  assert not np.allclose(a, b)
  assert not np.allclose(a, plain)
  np.testing.assert_array_equal(a, a2)
  # dropout=False: train is ignored, no rng needed.
  det = models.get_model(name, num_classes=10, dropout=False, **kwargs)
  np.testing.assert_allclose(det.apply(variables, x, train=True), plain, rtol=1e-6, atol=1e-6)


def test_vae_shapes_params_and_sampling():
  model = models.get_model('vae')
  x = (jax.random.uniform(KEY, (3, *MNIST)) > 0.5).astype(jnp.float32)
  variables = model.init({'params': KEY, 'latent': KEY}, x)
  assert models.count_params(variables) == VAE_PARAMS
  logits, mean, logvar = model.apply(variables, x, rngs={'latent': jax.random.key(1)})
  assert logits.shape == (3, *MNIST)
  assert mean.shape == logvar.shape == (3, 50)
  # A sample is drawn in evaluation too, so the latent rng matters in both modes.
  other, _, _ = model.apply(variables, x, rngs={'latent': jax.random.key(2)})
  assert not np.allclose(logits, other)
  with pytest.raises(Exception, match='latent'):
    model.apply(variables, x)
  loss = losses.negative_elbo(logits, x, mean, logvar)
  assert loss.shape == (3,)
  assert np.all(np.isfinite(loss)) and np.all(loss > 0)
  # At init the decoder is near p = 1/2 on each of 784 pixels: about 784 log 2 nats.
  assert np.all(np.abs(loss - 784 * math.log(2)) < 200)


def test_get_model_unknown_name_lists_valid_names():
  with pytest.raises(ValueError, match='perez_cnn') as info:
    models.get_model('resnet', num_classes=10)
  for name in models.MODELS:
    assert name in str(info.value)


def test_softmax_cross_entropy_uniform_logits_is_log_num_classes():
  loss = losses.softmax_cross_entropy(jnp.zeros((4, 10)), jnp.array([0, 3, 7, 9]))
  assert loss.shape == (4,)
  np.testing.assert_allclose(loss, np.log(10.0), rtol=1e-6)


def test_softmax_cross_entropy_matches_numpy():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(5, 7)).astype(np.float32)
  labels = rng.integers(0, 7, size=5)
  expected = np.log(np.exp(logits).sum(-1)) - logits[np.arange(5), labels]
  np.testing.assert_allclose(losses.softmax_cross_entropy(logits, labels), expected, rtol=1e-5)


def test_accuracy():
  logits = jnp.array([[0.0, 1.0, 0.0], [2.0, 0.0, 1.0], [0.0, 0.0, 3.0]])
  acc = losses.accuracy(logits, jnp.array([1, 2, 2]))
  np.testing.assert_array_equal(acc, [1.0, 0.0, 1.0])
  assert acc.dtype == jnp.float32


def test_l2_penalty():
  params = {'w': jnp.array([[1.0, 2.0], [3.0, 0.0]]), 'b': jnp.array([-1.0, 2.0])}
  # (1 + 4 + 9 + 0) + (1 + 4) = 19.
  np.testing.assert_allclose(losses.l2_penalty(params, 0.5), 0.5 * 19)
  np.testing.assert_allclose(losses.l2_penalty(params, 0.5, exclude_biases=True), 0.5 * 14)
  np.testing.assert_allclose(losses.l2_penalty(params, jnp.float32(2.0)), 38.0)
  grad = jax.grad(lambda p: losses.l2_penalty(p, 0.5))(params)
  np.testing.assert_allclose(grad['w'], params['w'])  # d/dθ λθ² = 2λθ = θ at λ = 1/2.
  np.testing.assert_allclose(losses.l2_penalty({}, 1.0), 0.0)


def test_gaussian_kl():
  np.testing.assert_allclose(losses.gaussian_kl(jnp.zeros((2, 50)), jnp.zeros((2, 50))), 0.0)
  mean = jnp.array([[1.0, 0.0]])
  logvar = jnp.array([[0.0, math.log(2.0)]])
  # KL(N(mu, s^2) || N(0, 1)) = (s^2 + mu^2 - 1 - log s^2) / 2 per dimension.
  expected = 0.5 * (1.0 + 1.0 - 1.0 - 0.0) + 0.5 * (2.0 + 0.0 - 1.0 - math.log(2.0))
  np.testing.assert_allclose(losses.gaussian_kl(mean, logvar), [expected], rtol=1e-6)
  assert np.all(losses.gaussian_kl(*jax.random.normal(KEY, (2, 4, 3))) >= 0)


def test_bernoulli_nll_matches_numpy():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(3, 4, 4, 1)).astype(np.float32) * 3
  x = (rng.uniform(size=(3, 4, 4, 1)) > 0.5).astype(np.float32)
  p = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
  expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(3, -1).sum(-1)
  got = losses.bernoulli_nll(logits, x)
  assert got.shape == (3,)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_negative_elbo_is_nll_plus_kl():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(2, 6)).astype(np.float32)
  x = rng.uniform(size=(2, 6)).astype(np.float32)
  mean, logvar = rng.normal(size=(2, 2, 3)).astype(np.float32)
  np.testing.assert_allclose(
    losses.negative_elbo(logits, x, mean, logvar),
    losses.bernoulli_nll(logits, x) + losses.gaussian_kl(mean, logvar),
    rtol=1e-6,
  )


def test_initialization_compiled_for_speed_gives_the_same_bits():
  """The trainer compiles a run's initialization at LLVM level 1 (3-4x faster to compile).

  Pérez's CNN has both kinds of layer (and initializer) of every model: convolutions and
  dense layers; the input is small, the kernels full size.
  """
  from adam_jax import train  # noqa: PLC0415

  model = models.get_model('perez_cnn', num_classes=10)

  def init(seed, x):
    key = jax.random.PRNGKey(seed)
    return model.init({'params': key, 'dropout': key, 'latent': key}, x, train=False)

  fast_options = train.compiler_options(init=True)
  assert fast_options.items() >= train.CPU_INIT_COMPILER_OPTIONS.items()
  # XLA:CPU's own fusion emitters, which the suite's XLA_FLAGS turn off (tests/conftest.py),
  # so that both sides compile as a user's run does (how many threads generate the code
  # changes no instruction).
  users = {'xla_cpu_use_fusion_emitters': True}
  x = jnp.zeros((1, 8, 8, 1), jnp.float32)
  fast = jax.jit(init, compiler_options={**users, **fast_options})(3, x)
  default_level = {**users, 'xla_backend_optimization_level': 2}
  default = jax.jit(init, compiler_options=default_level)(3, x)
  for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(default), strict=True):
    np.testing.assert_array_equal(a, b)
