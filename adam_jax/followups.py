"""Follow-ups of Adam that no mainstream library ships: SWATS and ND-Adam.

Both are optimizers (they need the learning rate inside the rule, not after it): each
returns the updates to add to the params. Every numeric hyperparameter may be a traced
scalar, so a grid of them runs as one ``jax.vmap``; the state is a ``NamedTuple`` of
arrays, so it survives ``jit``, checkpointing and resumption.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from adam_jax import _tree
from adam_jax._tree import Tree

ArrayLike = jax.typing.ArrayLike
LearningRate = ArrayLike | optax.Schedule


def _learning_rate(learning_rate: LearningRate, count: jax.Array) -> jax.Array:
  """α_t for the step being taken (``count`` = steps already taken), in the hp dtype."""
  return _tree.hp(learning_rate(count) if callable(learning_rate) else learning_rate)


class SwatsState(NamedTuple):
  """State of :func:`swats`. The phase is SGD once ``switched_at`` > 0."""

  count: jax.Array  # int32: k, the number of steps taken.
  mu: Tree  # m_k, Adam's first moment.
  nu: Tree  # a_k, Adam's second moment (real).
  trace: Tree  # v_k, the momentum of the SGD phase.
  projection: jax.Array  # λ_k, the moving average of the projected step sizes γ_k.
  sgd_learning_rate: jax.Array  # Λ = λ_k/(1 − β2^k) at the switch (0 before it).
  switched_at: jax.Array  # int32: the step k at which the phase became SGD; 0 = still Adam.


def swats(
  learning_rate: LearningRate = 1e-3,
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-9,
) -> optax.GradientTransformation:
  r"""SWATS: Adam until the projected SGD step size settles, then SGD with momentum.

  Adam phase, with :math:`\alpha_k` the learning rate of step k (ε before the bias
  correction, as the paper prints it, unlike :func:`adam_jax.scale_by_adam`):

  .. math::
    m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k, \qquad a_k = \beta_2 a_{k-1} + (1-\beta_2) g_k^2 \\
    p_k &= -\alpha_k \frac{\sqrt{1-\beta_2^k}}{1-\beta_1^k} \frac{m_k}{\sqrt{a_k}+\epsilon},
    \qquad \theta_k = \theta_{k-1} + p_k

  and, where :math:`p_k^\top g_k \ne 0` (dot products over the whole parameter tree):
  :math:`\gamma_k = p_k^\top p_k / (-p_k^\top g_k)`,
  :math:`\lambda_k = \beta_2 \lambda_{k-1} + (1-\beta_2)\gamma_k`. Once
  :math:`k > 1` and :math:`|\lambda_k/(1-\beta_2^k) - \gamma_k| < \epsilon` the phase
  switches to SGD with :math:`\Lambda = \lambda_k/(1-\beta_2^k)`, and from the next step on

  .. math::
    v_k = \beta_1 v_{k-1} + g_k, \qquad \theta_k = \theta_{k-1} - (1-\beta_1)\Lambda v_k .

  The phase is traced state (``switched_at``), so a vmapped grid switches point by point,
  inside one compiled program, and a resumed run switches exactly where it would have.
  The SGD phase uses Λ alone, as Algorithm 1 prints it: a learning-rate schedule acts on
  the Adam phase only. Read the switch step with :func:`swats_switched_at`. Complex
  params use the real inner product :math:`\operatorname{Re}(p^H g)`.

  Args:
    learning_rate: α of the Adam phase (scalar, traced array or schedule of the step count).
    b1: β1: Adam's first-moment decay, and the SGD phase's momentum.
    b2: β2: Adam's second-moment decay, and the decay of the λ_k average.
    eps: ε of Adam's denominator, and the tolerance of the switch test.

  Returns:
    An :class:`optax.GradientTransformation` with state :class:`SwatsState`; its updates
    are added to the params.

  References:
    Keskar & Socher, *Improving Generalization Performance by Switching from Adam to
    SGD*, arXiv:1712.07628 (2017): Algorithm 1, §3.
  """

  def init_fn(params):
    params = _tree.as_arrays(params)
    zero = jnp.zeros([], _tree.hp_dtype())
    return SwatsState(
      count=jnp.zeros([], jnp.int32),
      mu=_tree.zeros_like(params),
      nu=_tree.accumulator_zeros_like(params, real=True),
      trace=_tree.zeros_like(params),
      projection=zero,
      sgd_learning_rate=zero,
      switched_at=jnp.zeros([], jnp.int32),
    )

  def update_fn(updates, state, params=None):
    del params
    g = _tree.as_arrays(updates)
    beta1, beta2, eps_ = _tree.decay(b1), _tree.decay(b2), _tree.hp(eps)
    k = optax.safe_increment(state.count)
    sgd = state.switched_at > 0

    # SGD phase (lines 5-8 of Algorithm 1).
    trace = jax.tree.map(lambda v, g_: (beta1.rate * v + g_).astype(v.dtype), state.trace, g)
    sgd_step = jax.tree.map(
      lambda v, g_: (-beta1.complement * state.sgd_learning_rate * v).astype(_tree.out_dtype(g_)),
      trace,
      g,
    )

    # Adam phase (lines 10-24).
    mu = _tree.ema(g, state.mu, beta1)
    nu = _tree.ema_sq(g, state.nu, beta2)
    scale = -_learning_rate(learning_rate, state.count) * jnp.sqrt(beta2.debias(k))
    scale = scale / beta1.debias(k)
    p = jax.tree.map(
      lambda m, a, g_: (scale * m / (jnp.sqrt(a) + eps_)).astype(_tree.out_dtype(g_)), mu, nu, g
    )
    pg = _tree.real_dot(p, g)
    moved = pg != 0
    gamma = _tree.real_dot(p, p) / jnp.where(moved, -pg, 1)
    projection = jnp.where(moved, beta2.average(state.projection, gamma), state.projection)
    estimate = projection / beta2.debias(k)
    switch = moved & (k > 1) & (jnp.abs(estimate - gamma) < eps_)

    def pick(if_sgd, if_adam):
      return jax.tree.map(lambda a, b: jnp.where(sgd, a, b), if_sgd, if_adam)

    new_state = SwatsState(
      count=k,
      mu=pick(state.mu, mu),
      nu=pick(state.nu, nu),
      # v is 0 at the switch and stays 0 until the SGD phase starts using it.
      trace=pick(trace, state.trace),
      projection=jnp.where(sgd, state.projection, projection),
      sgd_learning_rate=jnp.where(sgd | ~switch, state.sgd_learning_rate, estimate),
      switched_at=jnp.where(~sgd & switch, k, state.switched_at),
    )
    return pick(sgd_step, p), new_state

  return optax.with_extra_args_support(optax.GradientTransformation(init_fn, update_fn))


def swats_switched_at(opt_state: Any) -> jax.Array:
  """The step at which :func:`swats` switched to SGD (0: it has not), from any state holding it.

  Args:
    opt_state: the state of an optimizer that includes :func:`swats` (under ``vmap``, the
      state of a whole grid: the result then has the grid's shape).

  Returns:
    An int32 array.

  References:
    Keskar & Socher (2017): Algorithm 1, line 18.
  """
  found = _tree.find_states(opt_state, SwatsState)
  if len(found) != 1:
    raise ValueError(f'opt_state must contain exactly one SwatsState, found {len(found)}')
  return found[0].switched_at


class NdAdamState(NamedTuple):
  """State of :func:`nd_adam`."""

  count: jax.Array  # int32: steps taken.
  mu: Tree  # m_t, shaped like the params.
  nu: Tree  # v_t: one scalar per weight vector (shape (n,)) for a vector leaf, else elementwise.


def _vector_leaves(params: Tree, vector_mask: Any) -> Tree:
  """A tree of Python bools: which leaves hold weight vectors ``leaf[..., j]``."""
  if vector_mask is None:
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)
  mask = vector_mask(params) if callable(vector_mask) else vector_mask
  return jax.tree.map(lambda is_vector, p: bool(is_vector) and jnp.ndim(p) >= 1, mask, params)


def _unit(w: jax.Array) -> jax.Array:
  """Each vector ``w[..., j]`` divided by its norm (a zero vector is left as it is)."""
  axes = tuple(range(w.ndim - 1))
  norm = jnp.sqrt(jnp.sum(_tree.abs_sq(w), axis=axes, keepdims=True))
  return w / jnp.where(norm > 0, norm, 1)


def nd_adam(
  learning_rate: LearningRate = 1e-3,
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  *,
  vector_mask: Any = None,
) -> optax.GradientTransformation:
  r"""ND-Adam: Adam on the unit sphere for each hidden unit's weight vector.

  For each weight vector :math:`w_i` (a slice ``leaf[..., i]`` of a leaf that
  ``vector_mask`` selects, default every leaf with 2 or more dimensions), with
  :math:`\hat w_i = w_i/\lVert w_i\rVert`:

  .. math::
    g_t &= \bar g_t - (\bar g_t \cdot \hat w_i)\, \hat w_i, \qquad
    m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1-\beta_2) \lVert g_t \rVert^2 \\
    \bar w_i &= \hat w_i - \alpha_t \frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon},
    \qquad w_i \leftarrow \bar w_i / \lVert \bar w_i \rVert

  so v is one scalar per vector and the update is :math:`w_i^{new} - w_i`. Other leaves
  (biases, ...) get Adam with the same α, β1, β2, ε. The paper starts from unit vectors;
  a transformation cannot change the initialisation, so the first step normalises (from
  then on :math:`\hat w_i = w_i`). The authors give the vectors a larger step than the
  other leaves; ``optax.multi_transform`` over two ``nd_adam`` covers that.

  Args:
    learning_rate: α (scalar, traced array or schedule of the step count).
    b1: β1, decay of the first moment.
    b2: β2, decay of the second moment.
    eps: ε.
    vector_mask: which leaves hold weight vectors in their last axis: a tree of bools
      shaped like the params, or a function of the params returning one. Default: every
      leaf with ``ndim >= 2`` (Dense and Conv kernels).

  Returns:
    An :class:`optax.GradientTransformation` with state :class:`NdAdamState`; ``update``
    needs ``params``.

  References:
    Zhang, Ma, Li & Wu, *Normalized Direction-preserving Adam*, arXiv:1709.04546
    (2017): Algorithm 1, §3.
  """

  def init_fn(params):
    params = _tree.as_arrays(params)
    vectors = _vector_leaves(params, vector_mask)
    nu = jax.tree.map(
      lambda is_vector, p: jnp.zeros(
        p.shape[-1:] if is_vector else p.shape, _tree.accumulator_dtype(p.dtype, True)
      ),
      vectors,
      params,
    )
    return NdAdamState(jnp.zeros([], jnp.int32), _tree.zeros_like(params), nu)

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(_tree.NO_PARAMS_MSG)
    g, params = _tree.as_arrays(updates), _tree.as_arrays(params)
    vectors = _vector_leaves(params, vector_mask)
    beta1, beta2, eps_ = _tree.decay(b1), _tree.decay(b2), _tree.hp(eps)
    count = optax.safe_increment(state.count)
    alpha = _learning_rate(learning_rate, state.count)
    c1, c2 = beta1.debias(count), beta2.debias(count)

    def step(is_vector, g_, w, m, v):
      out = _tree.out_dtype(g_)
      if not is_vector:  # Adam.
        m, v = beta1.average(m, g_), beta2.average(v, _tree.abs_sq(g_))
        return (-alpha * (m / c1) / (_tree.sqrt(v / c2) + eps_)).astype(out), m, v
      axes = tuple(range(w.ndim - 1))
      w_hat = _unit(w)
      inner = jnp.sum(jnp.real(jnp.conj(w_hat) * g_), axis=axes, keepdims=True)
      g_tangent = g_ - inner * w_hat
      m = beta1.average(m, g_tangent)
      v = beta2.average(v, jnp.sum(_tree.abs_sq(g_tangent), axis=axes))
      w_bar = w_hat - alpha * (m / c1) / (_tree.sqrt(v / c2) + eps_)
      return (_unit(w_bar) - w).astype(out), m, v

    results = jax.tree.map(step, vectors, g, params, state.mu, state.nu)
    treedef = jax.tree.structure(g)
    flat = treedef.flatten_up_to(results)
    new = [treedef.unflatten([r[i] for r in flat]) for i in range(3)]
    return new[0], NdAdamState(count, new[1], new[2])

  return optax.with_extra_args_support(optax.GradientTransformation(init_fn, update_fn))
