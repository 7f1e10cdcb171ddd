"""Learning-rate schedules: the Adam paper's α/√t, and SGDR's warm restarts (AdamWR)."""

from __future__ import annotations

import math

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


def warm_restarts(
  init_value: jax.typing.ArrayLike,
  first_period: int,
  *,
  period_mult: float = 2.0,
  min_value: jax.typing.ArrayLike = 0.0,
) -> optax.Schedule:
  r"""SGDR: cosine annealing with warm restarts (periods counted in steps).

  Period i lasts :math:`T_i = T_0 \cdot \text{period\_mult}^i` steps and starts where
  period i − 1 ended; within it, after :math:`T_{cur}` of its steps,

  .. math::
    \alpha_t = \alpha_{min} + \tfrac12 (\alpha_0 - \alpha_{min})
    \left(1 + \cos(\pi\, T_{cur} / T_i)\right).

  With :func:`adam_jax.adamw` it is AdamWR: the learning rate multiplies the decoupled
  decay too (``adamw`` takes λ·α, as ``torch.optim.AdamW``), so the schedule's factor
  :math:`\eta_t = \alpha_t/\alpha_0` multiplies both, as in the paper's Algorithm 2.

  Examples:
    >>> import adam_jax
    >>> schedule = adam_jax.warm_restarts(1.0, 2, period_mult=2.0)
    >>> [round(float(schedule(t)), 3) for t in range(7)]
    [1.0, 0.5, 1.0, 0.854, 0.5, 0.146, 1.0]

  Args:
    init_value: α_0, the value at the start of every period (may be a traced scalar).
    first_period: T_0, the first period's length in steps.
    period_mult: T_{i+1} / T_i (≥ 1; 1 restarts every ``first_period`` steps).
    min_value: α_min, the value the cosine anneals towards (may be traced).

  Returns:
    A schedule ``count -> α_t`` (count = steps already taken).

  References:
    Loshchilov & Hutter, *SGDR: Stochastic Gradient Descent with Warm Restarts*, ICLR
    2017: Eq. (5); *Decoupled Weight Decay Regularization*, ICLR 2019: Algorithm 2, §4.
  """
  if first_period <= 0:
    raise ValueError(f'first_period must be a positive number of steps, got {first_period}')
  if period_mult < 1:
    raise ValueError(f'period_mult must be >= 1, got {period_mult}')

  def schedule(count: jax.typing.ArrayLike) -> jax.Array:
    dtype = _tree.hp_dtype()
    t = jnp.asarray(count, dtype)
    t0 = jnp.asarray(first_period, dtype)
    if period_mult == 1:
      start, period = jnp.floor(t / t0) * t0, t0
    else:
      mult = jnp.asarray(period_mult, dtype)

      def start_of(i):
        return t0 * (mult**i - 1) / (mult - 1)

      guess = jnp.floor(jnp.log1p(t * (mult - 1) / t0) / jnp.log(mult))
      # Rounding can put a step on the wrong side of a restart: settle it exactly.
      i = jnp.where(start_of(guess) > t, guess - 1, guess)
      i = jnp.where(start_of(i + 1) <= t, i + 1, i)
      start, period = start_of(i), t0 * mult**i
    top, bottom = _tree.hp(init_value), _tree.hp(min_value)
    return bottom + 0.5 * (top - bottom) * (1 + jnp.cos(jnp.pi * (t - start) / period))

  return schedule


def normalized_weight_decay(
  norm: float,
  batch_size: int,
  num_examples: int,
  num_epochs: float,
  *,
  learning_rate: float | None = None,
) -> float:
  r"""Loshchilov & Hutter's normalized weight decay: :math:`\lambda = \lambda_{norm}\sqrt{b/(BT)}`.

  The same λ_norm then suits runs of different lengths and batch sizes. The paper's λ
  multiplies the schedule multiplier η_t alone (θ ← θ − η_t(α·m̂/(√v̂+ε) + λθ)), while
  :func:`adam_jax.adamw`, like optax and torch, multiplies its ``weight_decay`` by the
  learning rate: give ``learning_rate=α`` to get λ/α, the ``weight_decay`` for ``adamw``.

  Examples:
    >>> import adam_jax
    >>> round(adam_jax.normalized_weight_decay(0.05, 128, 50_000, 20), 6)
    0.000566
    >>> round(adam_jax.normalized_weight_decay(0.05, 128, 50_000, 20, learning_rate=1e-3), 4)
    0.5657

  Args:
    norm: λ_norm.
    batch_size: b, examples per step.
    num_examples: B, examples per epoch.
    num_epochs: T, the number of epochs (of a warm-restart period, for AdamWR).
    learning_rate: α of the ``adamw`` it is for (its peak, with a schedule); None: λ.

  Returns:
    λ, the decay factor per step; with ``learning_rate``, λ/α (``adamw``'s weight_decay).

  References:
    Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019: §B.1
    (Appendix, normalized weight decay).
  """
  for name, value in (('batch_size', batch_size), ('num_examples', num_examples)):
    if value <= 0:
      raise ValueError(f'{name} must be positive, got {value}')
  if num_epochs <= 0:
    raise ValueError(f'num_epochs must be positive, got {num_epochs}')
  if learning_rate is not None and learning_rate <= 0:
    raise ValueError(f'learning_rate must be positive, got {learning_rate}')
  decay = float(norm) * math.sqrt(batch_size / (num_examples * num_epochs))
  return decay if learning_rate is None else decay / learning_rate
