"""Learning-rate schedules of the Adam paper."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from adam_jax import _tree


def inverse_sqrt_decay(init_value: jax.typing.ArrayLike) -> optax.Schedule:
  r"""The schedule :math:`\alpha_t = \alpha / \sqrt{t}` with t = 1, 2, ... the step being taken.

  Optax calls a schedule with the number of steps already taken (0 for the first step),
  so the schedule returns ``init_value / sqrt(count + 1)``: the first step uses α itself.

  Examples:
    >>> import adam_jax
    >>> schedule = adam_jax.inverse_sqrt_decay(0.1)
    >>> [round(float(schedule(c)), 4) for c in range(4)]
    [0.1, 0.0707, 0.0577, 0.05]

  Args:
    init_value: α, the step size of the first step (may be a traced scalar).

  Returns:
    A schedule ``count -> α / sqrt(count + 1)`` in float32 (float64 under x64).

  References:
    Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015: §4 (Theorem 4.1)
    and §6.1 (logistic regression with α_t = α/√t).
  """

  def schedule(count: jax.typing.ArrayLike) -> jax.Array:
    alpha = _tree.hp(init_value)
    return alpha / jnp.sqrt(jnp.asarray(count, alpha.dtype) + 1)

  return schedule
