"""JAX behaviour (vmap over traced hyperparameters, jit caching, dtypes, grad), Optax pipelines."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference as ref
from conftest import assert_trajectories_close, run_optimizer, scan_optimizer

import adam_jax
from adam_jax.problems import reddi_online, reddi_slopes

GRADS = ref.gradient_sequence(num_steps=200).astype(np.float32)
THETA0 = np.random.default_rng(1).normal(size=GRADS.shape[1]).astype(np.float32)

# Every numeric hyperparameter and boolean switch of every Adam-family optimizer, as a grid.
VMAP_GRIDS = {
  'adam': dict(
    learning_rate=[1e-3, 1e-2],
    b1=[0.0, 0.9],
    b2=[0.99, 0.999],
    eps=[1e-8, 1e-3],
    bias_correction=[True, False],
  ),
  'adam_ablations': dict(eps_root=[0.0, 1e-6], bias_correction=[True, False], b1_decay=[1.0, 0.99]),
  'adamax': dict(
    learning_rate=[2e-3, 1e-2],
    b1=[0.5, 0.9],
    b2=[0.9, 0.999],
    eps=[0.0, 1e-4],
    bias_correction=[True, False],
  ),
  'amsgrad': dict(learning_rate=[1e-3, 1e-2], b1=[0.5, 0.9], b2=[0.99, 0.999], eps=[1e-8, 1e-3]),
  'nadam': dict(learning_rate=[1e-3, 1e-2], b1=[0.5, 0.9], b2=[0.99, 0.999], eps=[1e-8, 1e-3]),
  'adamw': dict(learning_rate=[1e-3, 1e-2], b2=[0.99, 0.999], weight_decay=[0.0, 0.1]),
  'swats': dict(learning_rate=[1e-3, 1e-2], b1=[0.5, 0.9], b2=[0.99, 0.999], eps=[1e-9, 1e-3]),
  'nd_adam': dict(learning_rate=[1e-3, 1e-2], b1=[0.5, 0.9], b2=[0.99, 0.999], eps=[1e-8, 1e-3]),
}


def _grid(hparams):
  names = list(hparams)
  points = list(itertools.product(*(hparams[n] for n in names)))
  columns = {n: jnp.asarray([p[i] for p in points]) for i, n in enumerate(names)}
  return names, points, columns


@pytest.mark.parametrize('name', sorted(VMAP_GRIDS))
def test_vmap_over_grid_equals_separate_runs(name):
  names, points, columns = _grid(VMAP_GRIDS[name])

  optimizer = {'adam_ablations': 'adam'}.get(name, name)

  def run(hparams):
    opt = adam_jax.get_optimizer(optimizer, **hparams)
    return run_optimizer_traced(opt)

  batched = np.asarray(jax.jit(jax.vmap(run))(columns))
  assert batched.shape == (len(points), *GRADS.shape)
  for i, point in enumerate(points):
    opt = adam_jax.get_optimizer(optimizer, **dict(zip(names, point, strict=True)))
    single = run_optimizer(opt, GRADS, THETA0)
    # float32: the batched program may fuse and round differently, a few ulps per step.
    assert_trajectories_close(batched[i], single, THETA0, rtol=1e-5)


def run_optimizer_traced(opt):
  return scan_optimizer(opt, jnp.asarray(GRADS), jnp.asarray(THETA0))[0]


def test_vmap_over_bias_correction_switch_matches_python_bool():
  flags = jnp.array([True, False])
  batched = jax.vmap(lambda bc: run_optimizer_traced(adam_jax.adam(1e-2, bias_correction=bc)))(
    flags
  )
  for i, flag in enumerate([True, False]):
    single = run_optimizer(adam_jax.adam(1e-2, bias_correction=flag), GRADS, THETA0)
    np.testing.assert_allclose(batched[i], single, rtol=1e-6)
  assert np.abs(batched[0] - batched[1]).max() > 1e-3


@pytest.mark.parametrize('name', ['adam', 'adamax', 'amsgrad', 'nadam', 'adamw'])
def test_bfloat16_params_keep_dtype_and_stay_finite(name):
  params = {'w': jnp.linspace(-1, 1, 8, dtype=jnp.bfloat16)}
  grads = {'w': jnp.linspace(-0.5, 0.7, 8, dtype=jnp.bfloat16)}
  # Traced float32 hyperparameters (as in a sweep) must not promote bfloat16 updates.
  for lr in (1e-3, jnp.float32(1e-3)):
    opt = adam_jax.get_optimizer(name, learning_rate=lr)
    state = opt.init(params)
    p = params
    for _ in range(5):
      updates, state = jax.jit(opt.update)(grads, state, p)
      assert updates['w'].dtype == jnp.bfloat16
      p = optax.apply_updates(p, updates)
      assert p['w'].dtype == jnp.bfloat16
      assert bool(jnp.all(jnp.isfinite(p['w'].astype(jnp.float32))))
    # m in the params' dtype (mu_dtype, as optax); the second moments in float32.
    (adam_state,) = [x for x in jax.tree.leaves(state, is_leaf=_is_adam) if _is_adam(x)]
    assert adam_state.mu['w'].dtype == jnp.bfloat16
    for field in ('nu', 'nu_max'):
      if hasattr(adam_state, field):
        assert getattr(adam_state, field)['w'].dtype == jnp.float32


def _is_adam(x) -> bool:
  return hasattr(x, 'mu') and hasattr(x, 'nu')


@pytest.mark.parametrize(
  'name', ['adam', 'adamax', 'amsgrad', 'nadam', 'adamw', 'swats', 'nd_adam']
)
def test_bfloat16_params_get_float32_second_moments(name):
  params = {'w': jnp.ones((3, 4), jnp.bfloat16), 'b': jnp.zeros(4, jnp.bfloat16)}
  state = adam_jax.get_optimizer(name, learning_rate=1e-3).init(params)
  holders = [x for x in jax.tree.leaves(state, is_leaf=_is_adam) if _is_adam(x)]
  moments = [getattr(h, f) for h in holders for f in ('nu', 'nu_max') if hasattr(h, f)]
  assert moments
  assert {leaf.dtype for m in moments for leaf in jax.tree.leaves(m)} == {jnp.dtype('float32')}


@pytest.mark.parametrize('name', ['adam', 'adamax', 'amsgrad', 'nadam', 'adamw'])
def test_bfloat16_second_moments_keep_moving(name):
  # A bfloat16 buffer cannot take a step of 0.001·x: after 2,000 steps of g = 1 a bfloat16
  # nu stops at 0.25 (ours before) or 0.5 (optax's), not 1 − 0.999^2000 = 0.865. Ours keeps
  # it in float32, so the updates of bfloat16 params follow float32 ones (to the ~2-3% at
  # which a bfloat16 m, as optax's, settles near its target; with a bfloat16 nu they were
  # 27-86% off).
  def run(dtype):
    params = jnp.ones((3, 4), dtype)
    opt = adam_jax.get_optimizer(name, learning_rate=1e-3)
    state = opt.init(params)

    def step(state, g):
      updates, state = opt.update(jnp.full((3, 4), g, dtype), state, params)
      return state, updates[0, 0].astype(jnp.float32)

    schedule = jnp.concatenate([jnp.ones(2000), jnp.full(2000, 0.1)])
    return jax.lax.scan(step, state, schedule)[1]

  low, full = run(jnp.bfloat16), run(jnp.float32)
  np.testing.assert_allclose(low[-1], full[-1], rtol=5e-2)


def test_bfloat16_temporal_average_reaches_the_params():
  opt = adam_jax.temporal_average(0.999)
  params = jnp.ones(4, jnp.bfloat16)
  state = opt.init(params)
  for _ in range(3):  # jit: one compile
    state = jax.jit(
      lambda s: jax.lax.fori_loop(
        0, 1000, lambda _, s: opt.update(jnp.zeros_like(params), s, params)[1], s
      )
    )(state)
  averaged = adam_jax.averaged_params(state)
  np.testing.assert_allclose(np.asarray(averaged, np.float32), 1.0, rtol=1e-3)  # bf16: 0.264


def test_bfloat16_keeps_b2_below_one():
  """In bfloat16, 0.999 rounds to 1.0: then 1 − β2^t = 0 and the first step is 0/0."""
  assert float(jnp.asarray(0.999, jnp.bfloat16)) == 1.0
  tx = adam_jax.scale_by_adam(eps=0.0)
  params = jnp.ones(4, jnp.bfloat16)
  grads = jnp.array([0.5, -2.0, 3.0, -0.25], jnp.bfloat16)
  direction, _ = tx.update(grads, tx.init(params))
  np.testing.assert_allclose(np.asarray(direction, np.float32), np.sign(grads), rtol=1e-2)


def test_count_is_int32_and_state_is_namedtuple():
  tx = adam_jax.scale_by_adam()
  state = tx.init(jnp.ones(2))
  assert isinstance(state, adam_jax.ScaleByAdamState)
  assert state.count.dtype == jnp.int32
  _, state = tx.update(jnp.ones(2), state)
  assert state.count.dtype == jnp.int32 and int(state.count) == 1


@pytest.mark.parametrize('name', ['adam', 'adamax', 'amsgrad', 'nadam', 'adamw'])
def test_differentiable_through_the_update(name):
  """A meta-gradient d loss(θ_T) / d α through 20 steps is finite and matches finite differences."""

  def final_loss(lr):
    opt = adam_jax.get_optimizer(name, learning_rate=lr)
    theta = jnp.array([1.0, -2.0, 0.0, 0.5])  # coordinate 2: zero gradient throughout

    def step(carry, _):
      theta, state = carry
      grads = jax.grad(lambda t: jnp.sum(t**2 * jnp.array([1.0, 3.0, 0.0, 0.5])))(theta)
      updates, state = opt.update(grads, state, theta)
      return (optax.apply_updates(theta, updates), state), None

    (theta, _), _ = jax.lax.scan(step, (theta, opt.init(theta)), None, length=20)
    return jnp.sum(theta**2)

  with jax.enable_x64(True):
    lr = jnp.float64(0.05)
    g = jax.grad(final_loss)(lr)
    h = 1e-6
    fd = (final_loss(lr + h) - final_loss(lr - h)) / (2 * h)
    assert np.isfinite(g)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_adamax_gradient_finite_where_u_is_zero():
  def loss(g_scale):
    tx = adam_jax.scale_by_adamax()
    direction, _ = tx.update(jnp.array([1.0, 0.0]) * g_scale, tx.init(jnp.zeros(2)))
    return jnp.sum(direction)

  assert bool(jnp.all(jnp.isfinite(jax.grad(loss)(2.0))))


# --- composability with real Optax pipelines -------------------------------------------


def test_chain_with_clip_and_decayed_weights_matches_optax(x64):
  grads, theta0 = ref.gradient_sequence().astype(float), THETA0.astype(float)
  ours = optax.chain(
    optax.clip_by_global_norm(1.0),
    optax.add_decayed_weights(1e-3),
    adam_jax.scale_by_adam(),
    optax.scale_by_learning_rate(1e-2),
  )
  theirs = optax.chain(
    optax.clip_by_global_norm(1.0),
    optax.add_decayed_weights(1e-3),
    optax.scale_by_adam(),
    optax.scale_by_learning_rate(1e-2),
  )
  assert_trajectories_close(
    run_optimizer(ours, grads, theta0), run_optimizer(theirs, grads, theta0), theta0
  )


def test_inject_hyperparams():
  opt = optax.inject_hyperparams(adam_jax.adam)(learning_rate=1e-2, b1=0.9)
  params = jnp.ones(3)
  state = opt.init(params)
  updates, state = opt.update(jnp.ones(3), state, params)
  np.testing.assert_allclose(updates, -1e-2, rtol=1e-5)
  state.hyperparams['learning_rate'] = jnp.asarray(1e-1)
  updates, state = jax.jit(opt.update)(jnp.ones(3), state, params)
  np.testing.assert_allclose(updates, -1e-1, rtol=1e-5)


def test_multi_steps_equals_adam_on_averaged_gradients(x64):
  grads = ref.gradient_sequence().astype(float)
  theta0 = THETA0.astype(float)
  every = optax.MultiSteps(adam_jax.adam(1e-2), 2, accumulator_dtype=jnp.float64)
  traj = run_optimizer(every, grads, theta0)
  averaged = (grads[0::2] + grads[1::2]) / 2
  expected = ref.adam(averaged, theta0, 1e-2)
  assert_trajectories_close(traj[1::2], expected, theta0)


def test_apply_if_finite_skips_non_finite_gradients():
  opt = optax.apply_if_finite(adam_jax.adam(1e-2), max_consecutive_errors=3)
  params = jnp.ones(2)
  state = opt.init(params)
  updates, state = opt.update(jnp.array([jnp.nan, 1.0]), state, params)
  np.testing.assert_array_equal(updates, 0.0)
  assert int(state.notfinite_count) == 1
  updates, state = opt.update(jnp.array([1.0, 1.0]), state, params)
  np.testing.assert_allclose(updates, -1e-2, rtol=1e-5)
  assert int(state.inner_state[0].count) == 1  # the NaN step never reached the moments


def test_temporal_average_chained_last_in_optax_pipeline():
  opt = optax.chain(
    optax.clip_by_global_norm(10.0), adam_jax.adam(1e-1), adam_jax.temporal_average(0.9)
  )
  params = jnp.array([2.0, -3.0])
  state = opt.init(params)
  trajectory, averages = [], []
  for _ in range(300):
    grads = jax.grad(lambda p: jnp.sum(p**2))(params)
    updates, state = opt.update(grads, state, params)
    params = optax.apply_updates(params, updates)
    trajectory.append(np.asarray(params))
    averages.append(np.asarray(adam_jax.averaged_params(state)))
  # The average of the params after the whole chain's update (§7.2), while they still move.
  expected = ref.temporal_average(np.asarray(trajectory, np.float64), 0.9)
  np.testing.assert_allclose(averages[:30], expected[:30], rtol=1e-5)
  assert np.abs(expected[:30] - np.asarray(trajectory[:30])).max() > 0.1  # not the params
  assert float(np.abs(averages[-1]).max()) < 0.05
  with pytest.raises(ValueError, match='exactly one TemporalAverageState'):
    adam_jax.averaged_params(adam_jax.adam().init(params))


@pytest.mark.parametrize('size', [3, 4])  # 3: as many params as grid points (broadcasts)
def test_averaged_params_of_a_vmapped_grid_state(size):
  # A grid's state has one bias-correction weight per point: it divides that point's row.
  decays = jnp.array([0.5, 0.9, 0.99])
  params = jnp.arange(1.0, size + 1.0)

  def run(decay):
    opt = adam_jax.temporal_average(decay)
    state, p = opt.init(params), params
    for k in range(3):
      p = p + k
      _, state = opt.update(jnp.zeros_like(p), state, p)
    return state

  states = jax.vmap(run)(decays)
  expected = jax.vmap(adam_jax.averaged_params)(states)
  np.testing.assert_allclose(adam_jax.averaged_params(states), expected, rtol=1e-6)
  for i, d in enumerate([0.5, 0.9, 0.99]):  # θ_t = params, params+1, params+3
    w = [(1 - d) * d**2, (1 - d) * d, 1 - d]
    mean = sum(wk * (params + s) for wk, s in zip(w, [0, 1, 3], strict=True)) / sum(w)
    np.testing.assert_allclose(expected[i], mean, rtol=1e-5)


# --- registry ----------------------------------------------------------------------------


def test_get_optimizer_errors():
  with pytest.raises(ValueError, match='valid names: adadelta, adagrad, adam, adamax'):
    adam_jax.get_optimizer('adm')
  with pytest.raises(ValueError, match='takes no hyperparameter beta1.*learning_rate, b1'):
    adam_jax.get_optimizer('adam', beta1=0.9)
  with pytest.raises(ValueError, match='variant must be one of'):
    adam_jax.amsgrad(variant='pytorch')


def _baseline_reference(name, grads, theta0, lr=0.1):
  """NumPy transcriptions of the baselines' update rules, with optax's defaults.

  momentum/nesterov: t = g + μ·t (Nesterov's step g + μ·t); adagrad: s = 0.1 + Σg²,
  g/√(s + 1e-7); rmsprop: ν = 0.9ν + 0.1g², g/√(ν + 1e-8); adadelta: Zeiler's rule with
  ρ = 0.9, ε = 1e-6.
  """
  theta, out = np.array(theta0, float), []
  trace, sums, nu, e_g, e_x = (np.zeros_like(theta) for _ in range(5))
  sums += 0.1
  for g in grads:
    if name == 'sgd':
      step = g
    elif name in ('momentum', 'nesterov'):
      trace = g + 0.9 * trace
      step = trace if name == 'momentum' else g + 0.9 * trace
    elif name == 'adagrad':
      sums = sums + g * g
      step = g / np.sqrt(sums + 1e-7)
    elif name == 'rmsprop':
      nu = 0.9 * nu + 0.1 * g * g
      step = g / np.sqrt(nu + 1e-8)
    else:  # adadelta
      e_g = 0.9 * e_g + 0.1 * g * g
      step = np.sqrt(e_x + 1e-6) / np.sqrt(e_g + 1e-6) * g
      e_x = 0.9 * e_x + 0.1 * step * step
    theta = theta - lr * step
    out.append(theta)
  return np.array(out)


BASELINES = ('sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adadelta')


@pytest.mark.parametrize('name', BASELINES)
def test_baselines_come_from_optax(name, x64):
  """Each baseline is optax's own factory (or optax.sgd with momentum: optax's TraceState),
  and its steps are those of the rule optax documents, transcribed in NumPy."""
  factory = adam_jax.OPTIMIZERS[name]
  if name in ('momentum', 'nesterov'):
    state = factory(0.1).init(jnp.zeros(2))
    assert [type(s) for s in jax.tree.leaves(state, is_leaf=_is_trace)] == [optax.TraceState]
  else:
    assert factory is getattr(optax, name)
  grads, theta0 = ref.gradient_sequence().astype(float), THETA0.astype(float)
  np.testing.assert_allclose(
    run_optimizer(adam_jax.get_optimizer(name, learning_rate=0.1), grads, theta0),
    _baseline_reference(name, grads, theta0),
    rtol=1e-12,
    atol=1e-12,
  )


def _is_trace(x):
  return isinstance(x, optax.TraceState)


# --- Reddi et al.'s counterexample --------------------------------------------------------


def test_reddi_counterexample_adam_fails_amsgrad_converges():
  """With β1 = 0.9, β2 = 0.99 and α/√t, Adam ends near x = +1, AMSGrad near the optimum −1."""
  lr = adam_jax.inverse_sqrt_decay(0.5)
  adam_run = reddi_online(adam_jax.adam(lr, 0.9, 0.99), 200_000)
  ams_run = reddi_online(adam_jax.amsgrad(lr, 0.9, 0.99), 200_000)
  assert float(adam_run.x[-101:].mean()) > 0.95
  assert float(ams_run.x[-101:].mean()) < -0.95
  # AMSGrad's average regret R_t/t decreases towards 0; Adam's stays bounded away from it.
  assert float(ams_run.avg_regret[-1]) < 0.5 * float(ams_run.avg_regret[999])
  assert float(adam_run.avg_regret[-1]) > 2 * float(ams_run.avg_regret[-1])


def test_reddi_stochastic_variant():
  key = jax.random.key(0)
  lr = adam_jax.inverse_sqrt_decay(1.0)
  adam_run = reddi_online(adam_jax.adam(lr, 0.9, 0.99), 100_000, stochastic=True, key=key)
  ams_run = reddi_online(adam_jax.amsgrad(lr, 0.9, 0.99), 100_000, stochastic=True, key=key)
  assert float(adam_run.x[-1000:].mean()) > 0.9
  assert float(ams_run.x[-1000:].mean()) < 0.0
  with pytest.raises(ValueError, match='needs a PRNG key'):
    reddi_online(adam_jax.adam(), 10, stochastic=True)


def test_reddi_gradients_are_the_papers():
  # Online: 1010 at t = 1, 102, 203, ... (t mod 101 = 1), −10 otherwise.
  online = np.asarray(reddi_slopes(203))
  assert list(np.flatnonzero(online == 1010.0)) == [0, 101, 202]
  assert set(np.unique(online)) == {1010.0, -10.0}
  # Stochastic (Reddi et al. §5): 1010 with probability 0.01 (expected gradient +0.2), not
  # 1/101 (+0.099). 4·10⁷ draws: the standard error of the frequency is 1.6e-5.
  keys = jax.random.split(jax.random.key(3), 4)
  big = sum(int((reddi_slopes(10_000_000, stochastic=True, key=k) > 0).sum()) for k in keys)
  assert abs(big / 40_000_000 - 0.01) < 5e-5
