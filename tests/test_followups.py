"""SWATS, ND-Adam, AdamWR and RMSProp with Nesterov momentum against the papers' pseudocode.

Each is held to 1e-10 against an independent float64 NumPy transcription in
``reference.py``, then checked under ``jit``/``vmap`` over its numeric hyperparameters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference as ref
from conftest import assert_trajectories_close, run_optimizer, scan_optimizer

import adam_jax


def _settling_gradients(num_steps=300, dim=12, seed=0):
  """A drift plus noise that fades: the projected step size settles, so SWATS switches."""
  rng = np.random.default_rng(seed)
  drift = rng.normal(size=dim)
  fade = 0.5 ** np.arange(num_steps)[:, None]
  return drift + fade * rng.normal(size=(num_steps, dim))


def _swats_run(grads, theta0, **hparams):
  opt = adam_jax.swats(**hparams)
  trajectory, state = jax.jit(lambda g, t: scan_optimizer(opt, g, t))(grads, theta0)
  return np.asarray(trajectory), int(adam_jax.swats_switched_at(state))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_swats_matches_algorithm_1_and_switches_where_it_does(x64, seed):
  grads = _settling_gradients(seed=seed)
  theta0 = np.random.default_rng(10 + seed).normal(size=grads.shape[1])
  # ε is also the switch test's tolerance: 1e-9 (the paper's) needs thousands of steps.
  hparams = dict(alpha=1e-2, b1=0.9, b2=0.99, eps=1e-4)
  expected, expected_switch = ref.swats(grads, theta0, **hparams)
  assert 2 < expected_switch < len(grads) - 50  # both phases are exercised
  hparams['learning_rate'] = hparams.pop('alpha')
  trajectory, switched = _swats_run(grads, theta0, **hparams)
  assert switched == expected_switch
  assert_trajectories_close(trajectory, expected, theta0)


def test_swats_without_a_switch_is_the_papers_adam_and_takes_a_schedule(x64):
  grads, theta0 = ref.gradient_sequence(), np.linspace(-1, 1, 16)
  schedule = adam_jax.inverse_sqrt_decay(3e-3)
  expected, expected_switch = ref.swats(grads, theta0, alpha=ref.inverse_sqrt_lr(3e-3))
  trajectory, switched = _swats_run(grads, theta0, learning_rate=schedule)
  assert expected_switch == switched == 0
  assert_trajectories_close(trajectory, expected, theta0)


def test_swats_grid_switches_point_by_point_in_one_program():
  grads = _settling_gradients(seed=0).astype(np.float32)
  theta0 = np.zeros(grads.shape[1], np.float32)
  eps = jnp.asarray([1e-4, 1e-3, 1e-9, 0.0])  # 0: the test |·| < 0 never passes

  def run(eps):
    trajectory, state = scan_optimizer(adam_jax.swats(learning_rate=1e-2, eps=eps), grads, theta0)
    return trajectory, adam_jax.swats_switched_at(state)

  trajectories, switched = jax.jit(jax.vmap(run))(eps)
  for i, e in enumerate(np.asarray(eps)):
    single, single_switch = _swats_run(grads, theta0, learning_rate=1e-2, eps=float(e))
    assert int(switched[i]) == single_switch
    assert_trajectories_close(trajectories[i], single, theta0, rtol=1e-5)
  assert int(switched[0]) > int(switched[1]) > 0 and int(switched[3]) == 0


def test_swats_switched_at_needs_exactly_one_swats_state():
  with pytest.raises(ValueError, match='exactly one SwatsState, found 0'):
    adam_jax.swats_switched_at(adam_jax.adam().init(jnp.zeros(2)))


def test_nd_adam_matches_algorithm_1_on_vectors_and_adam_elsewhere(x64):
  rng = np.random.default_rng(0)
  kernel_grads = rng.normal(size=(150, 5, 3))
  bias_grads = ref.gradient_sequence(num_steps=150)[:, [0, 4, 12]]  # dense, sparse, zero
  params0 = {'kernel': 2.0 * rng.normal(size=(5, 3)), 'bias': np.array([0.5, -1.0, 0.0])}
  opt = adam_jax.nd_adam(learning_rate=1e-2, b1=0.9, b2=0.99)
  grads = {'kernel': jnp.asarray(kernel_grads), 'bias': jnp.asarray(bias_grads)}
  out = run_optimizer(opt, grads, params0)
  expected = ref.nd_adam(kernel_grads, params0['kernel'], alpha=1e-2, b1=0.9, b2=0.99)
  assert_trajectories_close(out['kernel'], expected)
  np.testing.assert_allclose(np.linalg.norm(out['kernel'], axis=1), 1.0, rtol=1e-12)
  adam = ref.adam(bias_grads, params0['bias'], 1e-2, 0.9, 0.99)
  assert_trajectories_close(out['bias'], adam, params0['bias'])


def test_nd_adam_vector_mask_and_conv_kernels(x64):
  rng = np.random.default_rng(1)
  conv = rng.normal(size=(3, 3, 2, 4))  # (h, w, in, out): vector j is conv[..., j]
  grads = rng.normal(size=(40, 3, 3, 2, 4))
  opt = adam_jax.nd_adam(learning_rate=1e-2)
  out = run_optimizer(opt, jnp.asarray(grads), jnp.asarray(conv))
  expected = ref.nd_adam(grads.reshape(40, 18, 4), conv.reshape(18, 4), alpha=1e-2)
  assert_trajectories_close(out.reshape(40, 18, 4), expected)
  as_adam = adam_jax.nd_adam(learning_rate=1e-2, vector_mask=lambda p: False)
  out = run_optimizer(as_adam, jnp.asarray(grads), jnp.asarray(conv))
  plain = run_optimizer(adam_jax.adam(1e-2), grads, conv)
  assert_trajectories_close(out, plain, conv)


def test_nd_adam_vmap_over_hyperparameters_equals_separate_runs():
  rng = np.random.default_rng(2)
  grads = jnp.asarray(rng.normal(size=(60, 4, 3)), jnp.float32)
  w0 = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)
  grid = {'learning_rate': jnp.asarray([1e-3, 1e-2]), 'b2': jnp.asarray([0.99, 0.999])}

  def run(hparams):
    return scan_optimizer(adam_jax.nd_adam(**hparams), grads, w0)[0]

  batched = jax.jit(jax.vmap(run))(grid)
  for i in range(2):
    single = run_optimizer(adam_jax.nd_adam(**{k: float(v[i]) for k, v in grid.items()}), grads, w0)
    np.testing.assert_allclose(batched[i], single, rtol=1e-5, atol=1e-6)


def test_nd_adam_needs_params():
  opt = adam_jax.nd_adam()
  with pytest.raises(ValueError, match='needs the current parameters'):
    opt.update(jnp.ones((2, 2)), opt.init(jnp.ones((2, 2))))


def test_rmsprop_with_nesterov_is_algorithm_8_6_at_the_look_ahead_point(x64):
  """optax's rmsprop(momentum, nesterov=True) tracks φ = θ + μv of the book's Algorithm 8.6.

  The book takes the gradient at the interim point θ + μv; substituting φ = θ + μv turns
  its update into φ_t = φ_{t−1} + μv_t − ε g/√(δ + r_t), with g taken at φ: what optax's
  trace(nesterov=True) computes. So the params optax holds are the book's interim points.
  """
  rng = np.random.default_rng(3)
  a = rng.normal(size=(6, 6))
  hessian, target = a @ a.T + np.eye(6), rng.normal(size=6)

  def grad_fn(x):
    return hessian @ (x - target)

  theta0 = rng.normal(size=6)
  # δ = 0.1 keeps the map contracting: with δ = 1e-8, near the minimum g/√r is so
  # sensitive that the two orders of rounding part by 1e-7 within 40 steps.
  hparams = dict(lr=1e-2, rho=0.9, momentum=0.9, delta=0.1)
  thetas, velocities = ref.rmsprop_nesterov(grad_fn, theta0, num_steps=200, **hparams)
  opt = adam_jax.get_optimizer(
    'rmsprop', learning_rate=1e-2, decay=0.9, eps=0.1, momentum=0.9, nesterov=True
  )

  @jax.jit
  def run(phi0):
    def step(carry, _):
      phi, state = carry
      updates, state = opt.update(hessian @ (phi - target), state, phi)
      phi = optax.apply_updates(phi, updates)
      return (phi, state), phi

    return jax.lax.scan(step, (phi0, opt.init(phi0)), None, length=200)[1]

  phis = np.asarray(run(jnp.asarray(theta0)))
  assert_trajectories_close(phis, thetas + 0.9 * velocities, theta0)
  assert np.linalg.norm(phis[-1] - target) < 1e-4 * np.linalg.norm(theta0 - target)


@pytest.mark.parametrize('period_mult', [2.0, 1.0, 1.5])
def test_warm_restarts_matches_sgdr(x64, period_mult):
  schedule = jax.jit(adam_jax.warm_restarts(0.1, 7, period_mult=period_mult, min_value=1e-3))
  steps = np.arange(400)
  ours = np.asarray(jax.vmap(schedule)(jnp.asarray(steps)))
  expected = [ref.sgdr(t, 0.1, 7, period_mult, 1e-3) for t in steps]
  np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


def test_warm_restarts_vmaps_over_its_values_and_min():
  tops, bottoms = jnp.asarray([0.1, 0.01]), jnp.asarray([0.0, 1e-3])

  def values(top, bottom):
    schedule = adam_jax.warm_restarts(top, 5, min_value=bottom)
    return jax.vmap(schedule)(jnp.arange(40))

  batched = jax.jit(jax.vmap(values))(tops, bottoms)
  for i in range(2):
    expected = [ref.sgdr(t, float(tops[i]), 5, 2.0, float(bottoms[i])) for t in range(40)]
    np.testing.assert_allclose(batched[i], expected, rtol=1e-5, atol=1e-7)


def test_warm_restarts_restarts_exactly_at_period_ends_in_float32():
  schedule = jax.jit(adam_jax.warm_restarts(1.0, 10, period_mult=2.0))
  starts = [0, 10, 30, 70, 150, 310, 630, 1270, 2550, 5110, 10230]
  for start in starts:
    assert float(schedule(start)) == 1.0
    if start:
      assert float(schedule(start - 1)) < 0.03  # the end of the period before
  with pytest.raises(ValueError, match='period_mult must be >= 1'):
    adam_jax.warm_restarts(1.0, 10, period_mult=0.5)
  with pytest.raises(ValueError, match='first_period must be a positive'):
    adam_jax.warm_restarts(1.0, 0)


def test_adamw_with_warm_restarts_is_adamwr(x64):
  """Algorithm 2 of Loshchilov & Hutter: θ ← θ − η_t(α·m̂/(√v̂+ε) + λθ).

  ``adamw`` multiplies the decay by its learning rate (as torch does), so AdamWR with the
  paper's λ is ``adamw(warm_restarts(α, ...), weight_decay=λ/α)``, which
  ``normalized_weight_decay(..., learning_rate=α)`` gives.
  """
  grads, theta0 = ref.gradient_sequence(), np.linspace(-1, 1, 16)
  alpha, lam = 1e-2, ref.normalized_weight_decay(0.05, 128, 60_000, 3)
  assert adam_jax.normalized_weight_decay(0.05, 128, 60_000, 3) == pytest.approx(lam, rel=1e-15)
  decay = adam_jax.normalized_weight_decay(0.05, 128, 60_000, 3, learning_rate=alpha)
  opt = adam_jax.adamw(adam_jax.warm_restarts(alpha, 20), weight_decay=decay)
  expected = ref.adamw_r(grads, theta0, alpha, weight_decay=lam, eta=lambda s: ref.sgdr(s, 1.0, 20))
  assert_trajectories_close(run_optimizer(opt, grads, theta0), expected, theta0)


def test_normalized_weight_decay_refuses_nonsense():
  with pytest.raises(ValueError, match='batch_size must be positive'):
    adam_jax.normalized_weight_decay(0.05, 0, 100, 1)
  with pytest.raises(ValueError, match='num_epochs must be positive'):
    adam_jax.normalized_weight_decay(0.05, 10, 100, 0)
  with pytest.raises(ValueError, match='learning_rate must be positive'):
    adam_jax.normalized_weight_decay(0.05, 10, 100, 1, learning_rate=0.0)
