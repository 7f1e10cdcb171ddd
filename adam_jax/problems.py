"""Synthetic problems of the papers: Reddi et al.'s counterexample to Adam's convergence."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

REDDI_PERIOD = 101  # online: the large gradient comes once every 101 steps
REDDI_PROBABILITY = 0.01  # stochastic: the large gradient's probability at each step
REDDI_BIG = 1010.0
REDDI_SMALL = -10.0


class OnlineResult(NamedTuple):
  """Trajectory of an online optimization run."""

  x: jax.Array  # x_t, t = 1..T: the point played at each step (before its update).
  avg_regret: jax.Array  # R_t / t with R_t = Σ_{i≤t} f_i(x_i) − min_{x∈[−1,1]} Σ_{i≤t} f_i(x).


def reddi_slopes(num_steps: int, *, stochastic: bool = False, key: jax.Array | None = None):
  """The gradients f_t'(x) of Reddi et al.'s linear problem, t = 1..T (float32).

  Online: 1010 when t mod 101 = 1, else −10 (average +0.099). Stochastic: 1010 with
  probability 0.01 at each step, else −10 (expected +0.2), as in Reddi et al.'s §5.
  """
  if not stochastic:
    big = jnp.arange(1, num_steps + 1) % REDDI_PERIOD == 1
  elif key is None:
    raise ValueError('the stochastic variant needs a PRNG key')
  else:
    big = jax.random.bernoulli(key, REDDI_PROBABILITY, (num_steps,))
  return jnp.where(big, REDDI_BIG, REDDI_SMALL).astype(jnp.float32)


def reddi_online(
  optimizer: optax.GradientTransformation,
  num_steps: int,
  *,
  stochastic: bool = False,
  key: jax.Array | None = None,
  x0: float = 0.0,
) -> OnlineResult:
  r"""Runs ``optimizer`` on Reddi et al.'s linear counterexample on [−1, 1] (one compiled scan).

  Online: :math:`f_t(x) = 1010\,x` if :math:`t \bmod 101 = 1`, else :math:`-10\,x`.
  Stochastic: :math:`f_t(x) = 1010\,x` with probability 0.01, else :math:`-10\,x`.
  Both have their optimum at x = −1 (the average gradient is positive), yet with
  β1 = 0.9, β2 = 0.99 Adam drifts to x = +1: the rare large gradient is forgotten by v_t
  before it comes again. After each step x is projected back onto [−1, 1].

  Args:
    optimizer: any Optax transformation (e.g. ``adam_jax.adam(inverse_sqrt_decay(0.5))``).
    num_steps: T.
    stochastic: the stochastic variant (needs ``key``).
    key: PRNG key for the stochastic variant.
    x0: the starting point.

  Returns:
    :class:`OnlineResult` with x_t and the average regret R_t/t, t = 1..T.

  References:
    Reddi, Kale & Kumar, *On the Convergence of Adam and Beyond*, ICLR 2018: §3 and §5.
  """
  slopes = reddi_slopes(num_steps, stochastic=stochastic, key=key)

  def step(carry, slope):
    x, state = carry
    updates, state = optimizer.update(slope, state, x)
    x_next = jnp.clip(optax.apply_updates(x, updates), -1.0, 1.0)
    return (x_next, state), x

  x_init = jnp.asarray(x0, jnp.float32)
  _, xs = jax.lax.scan(step, (x_init, optimizer.init(x_init)), slopes)
  losses = jnp.cumsum(slopes * xs)
  cum_slopes = jnp.cumsum(slopes)
  best = -jnp.abs(cum_slopes)  # min over x ∈ [−1, 1] of (Σ slopes)·x
  return OnlineResult(xs, (losses - best) / jnp.arange(1, num_steps + 1))
