"""Small shared helpers for tree arithmetic with float32 hyperparameters.

Every transformation in :mod:`adam_jax.transforms` does its hyperparameter arithmetic
(``1 - b``, ``b**t``) in :func:`hp_dtype` (float32, or float64 under ``jax_enable_x64``)
and casts each result back to the dtype of the buffer it is stored in. That is what
keeps ``b2 = 0.999`` from rounding to 1 when params are bfloat16, and what lets every
hyperparameter be a traced array (for ``jax.vmap`` over a grid).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

Tree = Any


def hp_dtype() -> jnp.dtype:
  """The dtype hyperparameter arithmetic is done in: float64 under x64, else float32."""
  return jnp.dtype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)


def hp(x: Any) -> jax.Array:
  """A hyperparameter (Python number, NumPy or traced JAX scalar) as a :func:`hp_dtype` array."""
  return jnp.asarray(x, dtype=hp_dtype())


def switch(flag: Any) -> jax.Array:
  """A boolean switch (Python bool or traced bool scalar) as a JAX bool array."""
  return jnp.asarray(flag, dtype=jnp.bool_)


def zeros_like(params: Tree, dtype: Any = None) -> Tree:
  """Zeros shaped like ``params``, in ``dtype`` (default: each leaf's own dtype)."""
  return optax.tree.zeros_like(params, dtype=dtype)


def ema(new: Tree, old: Tree, decay: jax.Array) -> Tree:
  """``decay * old + (1 - decay) * new`` leafwise, computed in float32, stored as ``old``."""
  return jax.tree.map(
    lambda n, o: (decay * o + (1 - decay) * n).astype(o.dtype),
    new,
    old,
  )


def ema_sq(new: Tree, old: Tree, decay: jax.Array) -> Tree:
  """``decay * old + (1 - decay) * new**2`` leafwise (the second-moment estimate)."""
  return jax.tree.map(
    lambda n, o: (decay * o + (1 - decay) * jnp.square(n)).astype(o.dtype),
    new,
    old,
  )


def debias(decay: jax.Array, count: jax.Array, on: Any = True) -> jax.Array:
  """The bias-correction denominator ``1 - decay**count``, or 1 where ``on`` is false."""
  return jnp.where(switch(on), 1 - decay ** count.astype(decay.dtype), jnp.ones_like(decay))


def sqrt(x: jax.Array) -> jax.Array:
  """``sqrt(x)`` whose derivative at 0 is 0 instead of inf.

  A coordinate that never had a gradient has v_t = 0; its value is the same either way,
  but differentiating through the update (meta-gradients w.r.t. α) would give 0 * inf = NaN.
  """
  positive = x > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1)), 0)
