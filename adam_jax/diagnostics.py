"""Per-layer optimizer diagnostics: update size, and how much ε dominates Adam's √v̂.

§6.3 of the Adam paper says that in its CNN "the second moment estimate v̂_t vanishes to
zeros after a few epochs and is dominated by the ε in algorithm 1". :func:`layer_statistics`
measures that claim per parameter leaf: the fraction of coordinates where √v̂_t < ε, the
median √v̂_t, and the RMS of the step's update. Pure functions of an update and an optimizer
state: they run inside a compiled training step (and under ``vmap``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax import lax

from adam_jax import _tree
from adam_jax.transforms import ScaleByAdamState

Tree = Any
# States whose ``nu`` is Adam's second raw moment v_t (adam, adamw, nadam; optax's adam).
SECOND_MOMENT_STATES = (ScaleByAdamState, optax.ScaleByAdamState)


def second_moment_state(opt_state: Any) -> ScaleByAdamState | None:
  """The first Adam-style state (``count``, ``mu``, ``nu``) inside ``opt_state``, or None.

  Found anywhere in a chain (``optax.chain``, ``inject_hyperparams``, ...). AdaMax's and
  AMSGrad's states are not among them: their ``nu`` is not v_t.
  """
  found = _tree.find_states(opt_state, SECOND_MOMENT_STATES)
  return found[0] if found else None


def sqrt_v_hat(state: ScaleByAdamState, b2: Any = 0.999, bias_correction: Any = True) -> Tree:
  """√v̂_t = √(v_t / (1 − β2^t)) per coordinate (√v_t without bias correction).

  Args:
    state: An Adam-style state (:func:`second_moment_state`).
    b2: β2 the state was built with (a float or a traced scalar).
    bias_correction: Whether the optimizer corrects v_t (a bool or a traced bool).

  Returns:
    A tree like ``state.nu``.
  """
  c2 = _tree.decay(b2).debias(state.count, bias_correction)
  return jax.tree.map(lambda v: _tree.sqrt(v / c2), state.nu)


def leaf_paths(tree: Tree, prefix: str = 'params') -> list[str]:
  """'params/Conv_0/kernel' for each leaf of a parameter tree, in ``jax.tree.leaves`` order."""

  def name(key: Any) -> str:
    for attr in ('key', 'name', 'idx'):
      if hasattr(key, attr):
        return str(getattr(key, attr))
    return str(key)

  paths = jax.tree_util.tree_flatten_with_path(tree)[0]
  return ['/'.join([prefix, *(name(k) for k in path)]) for path, _ in paths]


def _order_statistic(bits: jax.Array, k: jax.Array | int) -> jax.Array:
  """The ``k``-th smallest (from 0) of non-negative float32 values given as their bits.

  Non-negative floats order as their bit patterns do as integers, so a bisection over
  [0, bits of +inf] that counts the entries at or below the midpoint finds it exactly in 31
  passes over the array.
  """

  def halve(_, bounds):
    lo, hi = bounds
    mid = lo + (hi - lo) // 2
    enough = jnp.sum(bits <= mid) > k
    return jnp.where(enough, lo, mid + 1), jnp.where(enough, mid, hi)

  lo, _ = lax.fori_loop(0, 31, halve, (jnp.int32(0), jnp.int32(0x7F800000)))
  return lax.bitcast_convert_type(lo, jnp.float32)


def nonnegative_median(x: jax.Array) -> jax.Array:
  """``jnp.median(x)`` of non-negative float32 values (+inf allowed, NaN if any is NaN).

  The same value, found without sorting: the middle order statistics by bisection on the
  floats' bits. For 10^6 entries 8 ms on 2 CPU cores against 240 ms for ``jnp.median``,
  which made the diagnostics cost more than a small model's training epoch.
  """
  x = x.astype(jnp.float32).ravel()
  bits = lax.bitcast_convert_type(jnp.maximum(x, 0.0), jnp.int32)  # -0.0 as +0.0
  n = x.size
  low = _order_statistic(bits, (n - 1) // 2)
  middle = low if n % 2 else (low + _order_statistic(bits, n // 2)) / 2
  return jnp.where(jnp.any(jnp.isnan(x)), jnp.nan, middle)


def layer_statistics(
  updates: Tree,
  opt_state: Any,
  *,
  b2: Any = 0.999,
  eps: Any = 1e-8,
  bias_correction: Any = True,
) -> dict[str, dict[str, jax.Array]]:
  r"""Per parameter leaf: the update's RMS; for the Adam family, how ε compares with √v̂.

  ``update_rms`` for every optimizer; ``eps_dominated`` and ``sqrt_v_hat_median`` when
  ``opt_state`` holds an Adam-style state (:func:`second_moment_state`):

  .. math::
    \text{update\_rms} = \sqrt{\operatorname{mean}(\Delta\theta^2)},\quad
    \text{eps\_dominated} = \operatorname{mean}[\sqrt{\hat v_t} < \epsilon]

  Args:
    updates: The step's updates (what ``optax.apply_updates`` adds to the params).
    opt_state: The optimizer state after the step.
    b2: β2 of the Adam-family optimizer (a float or traced).
    eps: Its ε (a float or traced).
    bias_correction: Whether it corrects v_t (a bool or traced).

  Returns:
    ``{path: {statistic: scalar}}``, paths as :func:`leaf_paths` names them.

  References:
    Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015: §6.3 (v̂_t
    "dominated by the ε"), Algorithm 1.
  """
  paths = leaf_paths(updates)
  out = {
    path: {'update_rms': jnp.sqrt(jnp.mean(jnp.square(jnp.abs(u).astype(jnp.float32))))}
    for path, u in zip(paths, jax.tree.leaves(updates), strict=True)
  }
  state = second_moment_state(opt_state)
  if state is not None:
    roots = jax.tree.leaves(sqrt_v_hat(state, b2, bias_correction))
    for path, root in zip(paths, roots, strict=True):
      root = root.astype(jnp.float32)
      out[path]['eps_dominated'] = jnp.mean((root < _tree.hp(eps)).astype(jnp.float32))
      out[path]['sqrt_v_hat_median'] = nonnegative_median(root)
  return out
