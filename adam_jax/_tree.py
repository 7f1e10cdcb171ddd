"""Small shared helpers for tree arithmetic with float32 hyperparameters.

Every transformation in :mod:`adam_jax.transforms` does its hyperparameter arithmetic
(``1 - b``, ``b**t``) in :func:`hp_dtype` (float32, or float64 under ``jax_enable_x64``)
and casts each result back to the dtype of the buffer it is stored in. That is what
keeps ``b2 = 0.999`` from rounding to 1 when params are bfloat16, and what lets every
hyperparameter be a traced array (for ``jax.vmap`` over a grid): a value gives the same
numbers whether it comes as a Python float or inside a vmapped grid.

The one exception is a decay rate given as a Python float that float32 cannot hold
apart from 1 (the paper's λ = 1 − 10⁻⁸): :func:`decay` then keeps its complement
1 − β, which float32 holds well, and works with ``log1p``/``expm1`` instead of ``β**t``.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

Tree = Any

NO_PARAMS_MSG = (
  'this transformation needs the current parameters: call update(updates, state, params)'
)


def hp_dtype() -> jnp.dtype:
  """The dtype hyperparameter arithmetic is done in: float64 under x64, else float32."""
  return jnp.dtype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)


def hp(x: Any) -> jax.Array:
  """A hyperparameter (Python number, NumPy or traced JAX scalar) as a :func:`hp_dtype` array."""
  return jnp.asarray(x, dtype=hp_dtype())


def switch(flag: Any) -> jax.Array:
  """A boolean switch (Python bool or traced bool scalar) as a JAX bool array."""
  return jnp.asarray(flag, dtype=jnp.bool_)


class Decay(NamedTuple):
  """A decay rate β as the pair (β, 1 − β) in :func:`hp_dtype`.

  ``exact_complement`` (static) says that 1 − β was taken from a Python float because
  :func:`hp_dtype` rounds β itself to 1: powers then go through ``log1p(−(1 − β))``.
  """

  rate: jax.Array
  complement: jax.Array
  exact_complement: bool = False

  def average(self, old: jax.Array, new: jax.Array) -> jax.Array:
    """``β·old + (1 − β)·new``, computed in float32 and stored in ``old``'s dtype."""
    return (self.rate * old + self.complement * new).astype(old.dtype)

  def power(self, t: jax.Array) -> jax.Array:
    """β^t."""
    t = jnp.asarray(t).astype(self.rate.dtype)
    if self.exact_complement:
      return jnp.exp(t * jnp.log1p(-self.complement))
    return self.rate**t

  def debias(self, t: jax.Array, on: Any = True) -> jax.Array:
    """The bias-correction denominator 1 − β^t, or 1 where ``on`` is false."""
    t = jnp.asarray(t).astype(self.rate.dtype)
    if self.exact_complement:
      value = -jnp.expm1(t * jnp.log1p(-self.complement))
    else:
      value = 1 - self.rate**t
    return jnp.where(switch(on), value, jnp.ones_like(value))

  def times_power(self, other: Decay, t: jax.Array) -> Decay:
    """The decay β·λ^t (β1,t of the paper's §4), keeping exact complements exact."""
    if not (self.exact_complement or other.exact_complement):
      rate = self.rate * other.power(t)
      return Decay(rate, 1 - rate)
    t = jnp.asarray(t).astype(self.rate.dtype)
    log = jnp.log1p(-self.complement) + t * jnp.log1p(-other.complement)
    return Decay(jnp.exp(log), -jnp.expm1(log), True)


def decay(b: Any) -> Decay:
  """β as a :class:`Decay`; a Python float that rounds to 1 keeps its exact 1 − β."""
  rate = hp(b)
  python_float = isinstance(b, numbers.Real) and not isinstance(b, bool)
  if python_float and b != 1 and np.asarray(b, hp_dtype()) == 1:
    return Decay(rate, hp(1.0 - float(b)), True)
  return Decay(rate, 1 - rate)


def find_states(tree: Any, types: type | tuple[type, ...]) -> list[Any]:
  """Every state of the given NamedTuple type(s) inside an optimizer state, in tree order.

  Finds them anywhere in a chain (``optax.chain``, ``inject_hyperparams``, ``masked``, ...).
  """

  def is_state(x: Any) -> bool:
    return isinstance(x, types)

  return [s for s in jax.tree.leaves(tree, is_leaf=is_state) if is_state(s)]


def real_dot(a: Tree, b: Tree) -> jax.Array:
  """The real inner product Σ Re(conj(a)·b) over all leaves, in :func:`hp_dtype`."""
  products = jax.tree.map(lambda x, y: jnp.sum(jnp.real(jnp.conj(x) * y).astype(hp_dtype())), a, b)
  return sum(jax.tree.leaves(products), jnp.zeros([], hp_dtype()))


def as_arrays(tree: Tree) -> Tree:
  """Python-scalar leaves (``{'a': 1.0}``) as JAX arrays.

  Arrays, ``None`` and abstract ``jax.ShapeDtypeStruct`` leaves stay as they are.
  """
  return jax.tree.map(lambda x: jnp.asarray(x) if isinstance(x, numbers.Number) else x, tree)


def _dtype(leaf: Any) -> jnp.dtype:
  return jnp.dtype(leaf.dtype) if hasattr(leaf, 'dtype') else jnp.result_type(leaf)


def float_dtype(dtype: Any) -> jnp.dtype:
  """``dtype`` if it is inexact (real or complex), else the default float dtype."""
  dtype = jnp.dtype(dtype)
  return dtype if jnp.issubdtype(dtype, jnp.inexact) else hp_dtype()


def real_dtype(dtype: Any) -> jnp.dtype:
  """The real dtype of ``dtype``'s magnitude: float32 for complex64, itself for reals."""
  return jnp.finfo(float_dtype(dtype)).dtype


def zeros_like(params: Tree, dtype: Any = None) -> Tree:
  """Zeros shaped like ``params``, in ``dtype`` (default: each leaf's own float dtype)."""
  if dtype is not None:
    return optax.tree.zeros_like(params, dtype=dtype)
  return jax.tree.map(lambda p: jnp.zeros_like(p, float_dtype(_dtype(p))), params)


def accumulator_dtype(dtype: Any, real: bool = False) -> jnp.dtype:
  """The dtype of a slow average of a leaf of ``dtype``: at least float32 (or complex64).

  A bfloat16 buffer cannot take a step of 0.001·x (half its spacing is 0.002·x): an
  average with β = 0.999 would stop moving (optax's bfloat16 ``nu`` does). ``real``: of
  the leaf's magnitude (second moments of complex params are real).
  """
  dtype = real_dtype(dtype) if real else float_dtype(dtype)
  return jnp.promote_types(dtype, jnp.float32)  # complex64 stays complex64


def accumulator_zeros_like(params: Tree, real: bool = False) -> Tree:
  """Zeros for slow averages of ``params``: at least float32 (:func:`accumulator_dtype`).

  ``real``: for second moments (real, also for complex params).
  """
  return jax.tree.map(lambda p: jnp.zeros_like(p, accumulator_dtype(_dtype(p), real)), params)


def abs_sq(x: jax.Array) -> jax.Array:
  """:math:`|x|^2`, real, for real and complex ``x`` (``x**2`` itself for reals)."""
  if jnp.iscomplexobj(x):
    return jnp.square(x.real) + jnp.square(x.imag)
  return jnp.square(x)


def ema(new: Tree, old: Tree, rate: Decay) -> Tree:
  """``β * old + (1 − β) * new`` leafwise, computed in float32, stored as ``old``."""
  return jax.tree.map(lambda n, o: rate.average(o, n), new, old)


def ema_sq(new: Tree, old: Tree, rate: Decay) -> Tree:
  """``β * old + (1 − β) * |new|**2`` leafwise (the second-moment estimate)."""
  return jax.tree.map(lambda n, o: rate.average(o, abs_sq(n)), new, old)


def out_dtype(g: jax.Array) -> jnp.dtype:
  """The dtype of an update for gradient ``g``: its own, or float for an integer leaf."""
  return float_dtype(g.dtype)


def sqrt(x: jax.Array) -> jax.Array:
  """``sqrt(x)`` whose derivative at 0 is 0 instead of inf; NaN stays NaN.

  A coordinate that never had a gradient has v_t = 0; its value is the same either way,
  but differentiating through the update (meta-gradients w.r.t. α) would give 0 * inf = NaN.
  A NaN (a 0/0 upstream) must come out NaN so that ``optax.apply_if_finite`` sees it.
  """
  zero = x == 0
  return jnp.where(zero, 0, jnp.sqrt(jnp.where(zero, 1, x)))
