"""Each update rule against the papers' pseudocode (NumPy), optax, and its §2/§5/§7 properties."""

from __future__ import annotations

import jax
import numpy as np
import optax
import pytest
import reference as ref
from conftest import assert_trajectories_close, run_optimizer

import adam_jax

GRADS = ref.gradient_sequence()
THETA0 = np.random.default_rng(1).normal(size=GRADS.shape[1])

# (name, adam_jax optimizer factory, NumPy reference) over >= 200 steps of GRADS.
CASES = [
  ('adam', lambda: adam_jax.adam(), lambda g, t: ref.adam(g, t)),
  (
    'adam_custom',
    lambda: adam_jax.adam(3e-2, b1=0.5, b2=0.99, eps=1e-6),
    lambda g, t: ref.adam(g, t, 3e-2, 0.5, 0.99, 1e-6),
  ),
  (
    'adam_no_bias_correction',
    lambda: adam_jax.adam(1e-2, bias_correction=False),
    lambda g, t: ref.adam(g, t, 1e-2, bias_correction=False),
  ),
  (
    'adam_b1_decay',
    lambda: adam_jax.adam(1e-2, b1_decay=0.99),
    lambda g, t: ref.adam(g, t, 1e-2, b1_decay=0.99),
  ),
  (
    'adam_eps_root',
    lambda: adam_jax.adam(1e-2, eps_root=1e-4),
    lambda g, t: ref.adam(g, t, 1e-2, eps_root=1e-4),
  ),
  (
    'adam_inverse_sqrt',
    lambda: adam_jax.adam(adam_jax.inverse_sqrt_decay(0.1)),
    lambda g, t: ref.adam(g, t, lr=ref.inverse_sqrt_lr(0.1)),
  ),
  ('adamax', lambda: adam_jax.adamax(), lambda g, t: ref.adamax(g, t)),
  (
    'adamax_custom',
    lambda: adam_jax.adamax(1e-2, b1=0.5, b2=0.9, eps=1e-4),
    lambda g, t: ref.adamax(g, t, 1e-2, 0.5, 0.9, 1e-4),
  ),
  (
    'adamax_no_bias_correction',
    lambda: adam_jax.adamax(bias_correction=False),
    lambda g, t: ref.adamax(g, t, bias_correction=False),
  ),
  *[
    (
      f'amsgrad_{variant}',
      lambda variant=variant: adam_jax.amsgrad(1e-2, b2=0.99, variant=variant),
      lambda g, t, variant=variant: ref.amsgrad(g, t, 1e-2, b2=0.99, variant=variant),
    )
    for variant in ('paper', 'optax', 'torch')
  ],
  ('nadam', lambda: adam_jax.nadam(), lambda g, t: ref.nadam(g, t)),
  (
    'adamw',
    lambda: adam_jax.adamw(1e-2, weight_decay=0.1),
    lambda g, t: ref.adamw(g, t, 1e-2, weight_decay=0.1),
  ),
]


@pytest.mark.parametrize('name,make_opt,numpy_rule', CASES, ids=[c[0] for c in CASES])
def test_matches_numpy_pseudocode(x64, name, make_opt, numpy_rule):
  assert_trajectories_close(
    run_optimizer(make_opt(), GRADS, THETA0), numpy_rule(GRADS, THETA0), THETA0
  )


def test_temporal_average_matches_numpy(x64):
  for bias_correction in (True, False):
    opt = optax.chain(
      adam_jax.adam(1e-2), adam_jax.temporal_average(0.9, bias_correction=bias_correction)
    )
    trajectory = ref.adam(GRADS, THETA0, 1e-2)
    expected = ref.temporal_average(trajectory, 0.9, bias_correction=bias_correction)

    def averaged_trajectory(opt=opt):
      import jax

      def step(carry, g):
        theta, state = carry
        updates, state = opt.update(g, state, theta)
        theta = optax.apply_updates(theta, updates)
        return (theta, state), adam_jax.averaged_params(state)

      _, out = jax.lax.scan(step, (THETA0, opt.init(THETA0)), GRADS)
      return np.asarray(out)

    assert_trajectories_close(averaged_trajectory(), expected, 0.0)


# --- against optax, where it implements the same rule ---------------------------------

OPTAX_TWINS = [
  ('adam', lambda: adam_jax.adam(3e-3, b2=0.99), lambda: optax.adam(3e-3, b2=0.99)),
  ('adam_eps_root', lambda: adam_jax.adam(eps_root=1e-5), lambda: optax.adam(1e-3, eps_root=1e-5)),
  ('nadam', lambda: adam_jax.nadam(1e-2), lambda: optax.nadam(1e-2)),
  ('adamax_eps', lambda: adam_jax.adamax(eps=1e-8), lambda: optax.adamax(2e-3, eps=1e-8)),
  (
    'amsgrad_optax',
    lambda: adam_jax.amsgrad(1e-2, variant='optax'),
    lambda: optax.amsgrad(1e-2),
  ),
  (
    'adamw',
    lambda: adam_jax.adamw(1e-2, weight_decay=0.05),
    lambda: optax.adamw(1e-2, weight_decay=0.05),
  ),
  (
    'adam_inverse_sqrt',
    lambda: adam_jax.adam(adam_jax.inverse_sqrt_decay(0.1)),
    lambda: optax.adam(lambda count: 0.1 * jax.lax.rsqrt(count + 1.0)),
  ),
]


@pytest.mark.parametrize('name,ours,theirs', OPTAX_TWINS, ids=[c[0] for c in OPTAX_TWINS])
def test_matches_optax(x64, name, ours, theirs):
  assert_trajectories_close(
    run_optimizer(ours(), GRADS, THETA0), run_optimizer(theirs(), GRADS, THETA0), THETA0
  )


def test_amsgrad_conventions_really_differ(x64):
  dense = ref.gradient_sequence(seed=3)[:, :4]
  origin = np.zeros(4)
  runs = {
    v: run_optimizer(adam_jax.amsgrad(1e-2, variant=v), dense, origin)
    for v in ('paper', 'optax', 'torch')
  }
  for a, b in [('paper', 'optax'), ('paper', 'torch'), ('optax', 'torch')]:
    rel = np.abs(runs[a][199] - runs[b][199]) / np.abs(runs[b][199])
    assert rel.max() > 0.02, (a, b, rel)


# --- the paper's properties ------------------------------------------------------------


def _steps(trajectory, theta0):
  return np.diff(np.concatenate([theta0[None], trajectory]), axis=0)


def _cauchy_schwarz_bound(alpha, b1, b2, t):
  """The exact bound on |Δ_t| (ε = 0): α·√(Σ_k w_k²/u_k) with w, u the moments' weights."""
  k = np.arange(t)
  w = (1 - b1) * b1**k / (1 - b1**t)
  u = (1 - b2) * b2**k / (1 - b2**t)
  return alpha * np.sqrt(np.sum(w**2 / u))


@pytest.mark.parametrize('b1,b2', [(0.9, 0.999), (0.9, 0.99), (0.0, 0.999), (0.95, 0.99)])
def test_section_2_1_step_size_bound(x64, b1, b2):
  """§2.1: |Δ_t| ≲ α·(1−β1)/√(1−β2) if (1−β1) > √(1−β2), else ≲ α (ε ≈ 0).

  The paper writes ≲: the bound holds for gradients of steady scale and is attained in the
  sparse case, but it is not a strict bound. The strict one is Cauchy-Schwarz on the two
  moments' weights, which heavy-tailed (Cauchy) gradients approach. Both need β1² < β2:
  otherwise m_t/√v_t grows as (β1/√β2)^k through a run of zero gradients.
  """
  num_steps = 3000
  rng = np.random.default_rng(0)
  grads = np.zeros((num_steps, 5))
  grads[:, 0] = rng.normal(size=num_steps)  # steady scale
  grads[:, 1] = rng.normal(size=num_steps) * (rng.random(num_steps) < 0.01)  # sparse
  grads[:, 2] = 1.0  # constant: |Δ| = α exactly
  grads[-1, 3] = 5.0  # sparse worst case: one gradient after a long silence
  grads[:, 4] = rng.standard_cauchy(num_steps)  # heavy tails
  alpha, theta0 = 1e-3, np.zeros(5)
  opt = adam_jax.adam(alpha, b1, b2, eps=1e-300)  # ε only so that 0/0 reads 0
  steps = np.abs(_steps(run_optimizer(opt, grads, theta0), theta0))
  paper_bound = alpha * max((1 - b1) / np.sqrt(1 - b2), 1.0)
  assert steps[:, :4].max() <= paper_bound * (1 + 1e-12)
  np.testing.assert_allclose(steps[:, 2], alpha, rtol=1e-12)
  # The sparse case attains (1−β1)/√(1−β2), up to the bias-correction factors.
  t = num_steps
  worst = (1 - b1) / np.sqrt(1 - b2) * np.sqrt(1 - b2**t) / (1 - b1**t)
  np.testing.assert_allclose(steps[-1, 3], alpha * worst, rtol=1e-10)
  strict = np.array([_cauchy_schwarz_bound(alpha, b1, b2, s) for s in range(1, t + 1)])
  assert np.all(steps.T <= strict * (1 + 1e-10))


def test_section_2_1_bound_is_approximate():
  """Gradients growing by β2/β1 a step exceed §2.1's ≲ α but stay under the strict bound."""
  b1, b2, alpha, t = 0.9, 0.99, 1e-3, 400
  grads = (b2 / b1) ** np.arange(t)[:, None]  # Cauchy-Schwarz equality case
  steps = np.abs(
    _steps(run_optimizer(adam_jax.adam(alpha, b1, b2, 0.0), grads, np.zeros(1)), np.zeros(1))
  )
  assert steps.max() > 2 * alpha
  assert steps.max() <= _cauchy_schwarz_bound(alpha, b1, b2, t) * (1 + 1e-6)


@pytest.mark.parametrize(
  'make_opt',
  [
    lambda: adam_jax.adam(1e-2, eps=0.0),
    lambda: adam_jax.adam(1e-2, eps=0.0, bias_correction=False),
    lambda: adam_jax.adamax(1e-2),
    lambda: adam_jax.amsgrad(1e-2, eps=0.0),
    lambda: adam_jax.nadam(1e-2, eps=0.0),
  ],
  ids=['adam', 'adam_no_bc', 'adamax', 'amsgrad', 'nadam'],
)
@pytest.mark.parametrize('c', [1e-3, 7.0, 1e4])
def test_invariant_to_gradient_scale(x64, make_opt, c):
  grads = ref.gradient_sequence()[:, :10]  # coordinates that see a gradient early
  grads[0] += 0.1
  theta0 = THETA0[:10]
  base = run_optimizer(make_opt(), grads, theta0)
  assert_trajectories_close(run_optimizer(make_opt(), c * grads, theta0), base, theta0)


def test_adamax_step_bounded_by_alpha(x64):
  """§7.1: |Δ_t| ≤ α. Exact for β1 = 0 and for gradients of non-growing scale."""
  alpha = 2e-3
  theta0 = np.zeros(GRADS.shape[1])
  for b1, b2 in [(0.9, 0.999), (0.0, 0.9), (0.0, 0.0), (0.5, 0.99)]:
    steps = _steps(run_optimizer(adam_jax.adamax(alpha, b1, b2), GRADS, theta0), theta0)
    assert np.all(np.isfinite(steps))
    assert np.abs(steps).max() <= alpha * (1 + 1e-12)
    assert np.all(steps[:, 12] == 0)  # never a gradient: never a step, never NaN


def test_adamax_bound_with_growing_gradients(x64):
  """Gradients shrinking by β2 a step tie every β2^(t−i)|g_i| at the max of u_t.

  Then |Δ_t| → α·Σ(β1/β2)^k/Σβ1^k.

  That is 1.009·α for the defaults: §7.1's bound is exact only up to this factor, which we
  pin down here (the strict bound is α(1−β1)Σ_{k<t}(β1/β2)^k/(1−β1^t)).
  """
  b1, b2, alpha, t = 0.9, 0.999, 2e-3, 2000
  grads = b2 ** np.arange(t, dtype=float)[:, None]
  steps = np.abs(
    _steps(run_optimizer(adam_jax.adamax(alpha, b1, b2), grads, np.zeros(1)), np.zeros(1))
  )
  k = np.arange(t)
  strict = alpha * (1 - b1) * np.sum((b1 / b2) ** k) / (1 - b1**t)
  np.testing.assert_allclose(steps[-1, 0], strict, rtol=1e-9)
  assert 1.008 * alpha < steps.max() <= strict * (1 + 1e-9)


def test_efficient_form_equals_algorithm_1_with_rescaled_eps(x64):
  """§2: α_t = α√(1−β2^t)/(1−β1^t), m_t/(√v_t + ε̂) is Algorithm 1 with ε = ε̂/√(1−β2^t)."""
  eps_hat, b2 = 1e-3, 0.999
  efficient = ref.adam_efficient(GRADS, THETA0, 1e-2, 0.9, b2, eps_hat)
  # The same rule with a per-step ε: Algorithm 1 whose ε_t = ε̂ / √(1 − β2^t).
  algorithm_1 = []
  theta, m, v = THETA0.copy(), 0.0, 0.0
  for t, g in enumerate(GRADS, start=1):
    m, v = 0.9 * m + 0.1 * g, b2 * v + (1 - b2) * g * g
    eps_t = eps_hat / np.sqrt(1 - b2**t)
    theta = theta - 1e-2 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - b2**t)) + eps_t)
    algorithm_1.append(theta)
  assert_trajectories_close(np.array(algorithm_1), efficient, THETA0)
  # With ε̂ = 0 the two forms and adam_jax.adam(eps=0) coincide exactly; with ε > 0 they
  # differ, which is why the rescaling matters.
  dense = GRADS[:, :4]
  assert_trajectories_close(
    run_optimizer(adam_jax.adam(1e-2, eps=0.0), dense, THETA0[:4]),
    ref.adam_efficient(dense, THETA0[:4], 1e-2, eps_hat=0.0),
    THETA0[:4],
  )
  plain = run_optimizer(adam_jax.adam(1e-2, eps=eps_hat), GRADS, THETA0)
  assert np.abs(plain - efficient).max() > 1e-6


def test_section_5_adagrad_limit(x64):
  """β1 = 0, β2 → 1, α_t = α/√t with bias correction is AdaGrad (ε = 0)."""
  grads = ref.gradient_sequence(seed=5)[:, :4]  # dense: every coordinate moves at t = 1
  theta0 = np.zeros(4)
  ours = adam_jax.adam(adam_jax.inverse_sqrt_decay(0.1), b1=0.0, b2=1 - 1e-9, eps=0.0)
  got = run_optimizer(ours, grads, theta0)
  assert_trajectories_close(got, ref.adagrad(grads, theta0, 0.1), theta0, rtol=1e-6)
  # ... and with optax's AdaGrad (no initial accumulator, no ε).
  theirs = optax.adagrad(0.1, initial_accumulator_value=0.0, eps=0.0)
  assert_trajectories_close(got, run_optimizer(theirs, grads, theta0), theta0, rtol=1e-6)
  # A β2 far from 1 is not AdaGrad: the limit is what makes them equal.
  far = run_optimizer(
    adam_jax.adam(adam_jax.inverse_sqrt_decay(0.1), b1=0.0, b2=0.9, eps=0.0), grads, theta0
  )
  assert np.abs(far - got).max() > 1e-3


def test_no_bias_correction_is_rmsprop_with_momentum(x64):
  """§6.4: without bias correction Adam is RMSProp with (EMA) momentum on the gradient."""
  b2, eps = 0.99, 1e-8
  # β1 = 0: plain RMSProp (Tieleman & Hinton), as optax implements it.
  ours = run_optimizer(adam_jax.adam(1e-2, 0.0, b2, eps, bias_correction=False), GRADS, THETA0)
  theirs = run_optimizer(optax.rmsprop(1e-2, decay=b2, eps=eps, eps_in_sqrt=False), GRADS, THETA0)
  assert_trajectories_close(ours, theirs, THETA0)
  # β1 > 0: the momentum is an EMA of the raw gradient, divided by √v_t.
  rmsprop_momentum = []
  theta, m, v = THETA0.copy(), 0.0, 0.0
  for g in GRADS:
    v = b2 * v + (1 - b2) * g * g
    m = 0.9 * m + 0.1 * g
    theta = theta - 1e-2 * m / (np.sqrt(v) + eps)
    rmsprop_momentum.append(theta)
  ours = run_optimizer(adam_jax.adam(1e-2, 0.9, b2, eps, bias_correction=False), GRADS, THETA0)
  assert_trajectories_close(ours, np.array(rmsprop_momentum), THETA0)
  # The first step shows what bias correction does: √(1−β2)/(1−β1) times smaller without.
  with_bc = run_optimizer(adam_jax.adam(1e-2, 0.9, b2, 0.0), GRADS[:1, :4], THETA0[:4])
  without = run_optimizer(
    adam_jax.adam(1e-2, 0.9, b2, 0.0, bias_correction=False), GRADS[:1, :4], THETA0[:4]
  )
  np.testing.assert_allclose(
    (without - THETA0[:4]) / (with_bc - THETA0[:4]), 0.1 / np.sqrt(1 - b2), rtol=1e-12
  )


def test_b1_decay_approaches_adam_when_lambda_is_one(x64):
  """§4's λ = 1 − 1e-8 is Adam to within 1e-4 over 240 steps; λ = 1 is exactly Adam."""
  base = run_optimizer(adam_jax.adam(1e-2), GRADS, THETA0)
  exact = run_optimizer(adam_jax.adam(1e-2, b1_decay=1.0), GRADS, THETA0)
  near = run_optimizer(adam_jax.adam(1e-2, b1_decay=1 - 1e-8), GRADS, THETA0)
  np.testing.assert_array_equal(exact, base)
  assert_trajectories_close(near, base, THETA0, rtol=1e-4)
  assert np.abs(near - base).max() > 0
