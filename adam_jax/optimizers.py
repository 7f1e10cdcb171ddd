"""Optimizers: an update direction of :mod:`adam_jax.transforms` chained with a learning rate."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from adam_jax import _tree
from adam_jax.transforms import (
  AmsgradVariant,
  BoolLike,
  scale_by_adam,
  scale_by_adamax,
  scale_by_amsgrad,
  scale_by_nadam,
)

ArrayLike = jax.typing.ArrayLike
LearningRate = ArrayLike | optax.Schedule


# The state of scale_by_learning_rate with a schedule is optax's own (the steps taken), so
# that code looking for optax's schedule state (``optax.tree.get(state, 'count')``) finds it.
ScaleByLearningRateState = optax.ScaleByScheduleState


def scale_by_learning_rate(
  learning_rate: LearningRate, *, flip_sign: bool = True
) -> optax.GradientTransformation:
  r"""Multiplies updates by :math:`-\alpha_t` (or :math:`+\alpha_t`), keeping their dtype.

  Like ``optax.scale_by_learning_rate``, but the learning rate (a float, a traced array or
  a schedule of the step count) is applied in float32 and the result cast back to each
  update's dtype, so a traced float32 α leaves bfloat16 updates bfloat16. Not optax's own:
  ``optax.scale`` multiplies by α as given (a traced float32 α promotes bfloat16 updates to
  float32) and ``optax.scale_by_schedule`` rounds α_t to the update's dtype first (α in
  bfloat16 keeps 3 significant digits), and neither takes Python-scalar leaves.

  Args:
    learning_rate: α, a scalar or a schedule ``count -> α_t`` (count = steps taken).
    flip_sign: return :math:`-\alpha_t \cdot u` (for gradient descent).

  Returns:
    An :class:`optax.GradientTransformation`; stateless for a scalar; for a schedule its
    state is optax's ``ScaleByScheduleState`` (the steps taken).
  """
  sign = -1.0 if flip_sign else 1.0

  def scale(updates, alpha):
    factor = sign * _tree.hp(alpha)
    return jax.tree.map(lambda u: (factor * u).astype(_tree.out_dtype(u)), _tree.as_arrays(updates))

  if callable(learning_rate):

    def init_fn(params):
      del params
      return ScaleByLearningRateState(jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
      del params
      new_state = ScaleByLearningRateState(optax.safe_increment(state.count))
      return scale(updates, learning_rate(state.count)), new_state

    return optax.GradientTransformation(init_fn, update_fn)

  def stateless_update(updates, state, params=None):
    del params
    return scale(updates, learning_rate), state

  return optax.GradientTransformation(optax.init_empty_state, stateless_update)


def add_decoupled_weight_decay(
  weight_decay: ArrayLike | optax.Schedule, mask: Any = None
) -> optax.GradientTransformation:
  r"""Adds :math:`\lambda \theta` to the updates, keeping their dtype (AdamW's decay).

  ``optax.add_decayed_weights`` (its state, mask, schedules and ``None`` leaves), with λ
  in float32 and each sum cast back to the update's dtype, so that a traced float32 λ
  does not promote bfloat16 updates; Python-scalar leaves are taken too.

  Args:
    weight_decay: λ (a number, a traced scalar, or a schedule of the step count).
    mask: optional pytree of bools (or a callable of params returning one) saying which
      leaves are decayed, as in ``optax.masked``.

  Returns:
    An :class:`optax.GradientTransformation` that needs ``params``.

  References:
    Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019: Algorithm 2.
  """

  def decay(lam):
    return optax.add_decayed_weights(lam, mask)

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(_tree.NO_PARAMS_MSG)
    updates, params = _tree.as_arrays(updates), _tree.as_arrays(params)
    # λ as a float32 array here, not in the factory (which touches no device).
    lam = weight_decay if callable(weight_decay) else _tree.hp(weight_decay)
    decayed, state = decay(lam).update(updates, state, params)
    cast = jax.tree.map(lambda d, u: d.astype(_tree.out_dtype(u)), decayed, updates)
    return cast, state

  return optax.GradientTransformation(decay(weight_decay).init, update_fn)


def adam(
  learning_rate: LearningRate = 1e-3,
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  *,
  eps_root: ArrayLike = 0.0,
  bias_correction: BoolLike = True,
  b1_decay: ArrayLike = 1.0,
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Adam (Algorithm 1 of Kingma & Ba), with every ablation of the paper as a switch.

  :math:`\theta_t = \theta_{t-1} - \alpha_t \hat m_t / (\sqrt{\hat v_t} + \epsilon)`; see
  :func:`adam_jax.scale_by_adam` for the moments, ``bias_correction`` and ``b1_decay``.
  For the α/√t schedule of §4 and §6.1 pass ``learning_rate=adam_jax.inverse_sqrt_decay(α)``.

  Examples:
    >>> import jax, jax.numpy as jnp, optax
    >>> import adam_jax
    >>> opt = adam_jax.adam(learning_rate=0.1)
    >>> params = jnp.array([1.0, -1.0])
    >>> state = opt.init(params)
    >>> for _ in range(100):
    ...   grads = jax.grad(lambda p: jnp.sum(p**2))(params)
    ...   updates, state = opt.update(grads, state, params)
    ...   params = optax.apply_updates(params, updates)
    >>> bool(jnp.all(jnp.abs(params) < 0.05))
    True

  Args:
    learning_rate: α: a scalar, a traced array, or a schedule of the step count.
    b1: β1, the decay of the first moment.
    b2: β2, the decay of the second moment.
    eps: ε.
    eps_root: added inside the square root.
    bias_correction: the paper's bias correction (False: RMSProp with momentum, §6.4).
    b1_decay: λ, with β1,t = β1·λ^(t−1) (§4).
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation` whose updates are added to the params.

  References:
    Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015: Algorithm 1.
  """
  return optax.chain(
    scale_by_adam(
      b1,
      b2,
      eps,
      eps_root=eps_root,
      bias_correction=bias_correction,
      b1_decay=b1_decay,
      mu_dtype=mu_dtype,
    ),
    scale_by_learning_rate(learning_rate),
  )


def adamax(
  learning_rate: LearningRate = 2e-3,
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 0.0,
  *,
  bias_correction: BoolLike = True,
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""AdaMax (Algorithm 2 of Kingma & Ba): Adam with the infinity norm, :math:`|\Delta_t|\le\alpha`.

  :math:`\theta_t = \theta_{t-1} - \frac{\alpha}{1-\beta_1^t} m_t / u_t`, see
  :func:`adam_jax.scale_by_adamax`.

  Args:
    learning_rate: α (scalar, traced array or schedule).
    b1: β1, the decay of the first moment.
    b2: β2, the decay of the exponentially weighted infinity norm.
    eps: ε inside the max (0 in the paper).
    bias_correction: divide :math:`m_t` by :math:`1-\beta_1^t`.
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation`.

  References:
    Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015: Algorithm 2, §7.1.
  """
  return optax.chain(
    scale_by_adamax(b1, b2, eps, bias_correction=bias_correction, mu_dtype=mu_dtype),
    scale_by_learning_rate(learning_rate),
  )


def amsgrad(
  learning_rate: LearningRate = 1e-3,
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  *,
  variant: AmsgradVariant = 'paper',
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""AMSGrad (Reddi et al.): Adam with a non-decreasing second moment.

  See :func:`adam_jax.scale_by_amsgrad` for the three conventions of ``variant``.

  Args:
    learning_rate: α (scalar, traced array or schedule).
    b1: β1, the decay of the first moment.
    b2: β2, the decay of the second moment.
    eps: ε.
    variant: ``'paper'``, ``'optax'`` or ``'torch'``.
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation`.

  References:
    Reddi, Kale & Kumar, *On the Convergence of Adam and Beyond*, ICLR 2018: Algorithm 2.
  """
  return optax.chain(
    scale_by_amsgrad(b1, b2, eps, variant=variant, mu_dtype=mu_dtype),
    scale_by_learning_rate(learning_rate),
  )


def nadam(
  learning_rate: LearningRate = 2e-3,
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  *,
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Nadam (Dozat 2016): Adam with Nesterov momentum; same updates as ``optax.nadam``.

  See :func:`adam_jax.scale_by_nadam`.

  Args:
    learning_rate: α (scalar, traced array or schedule).
    b1: β1, the decay of the first moment.
    b2: β2, the decay of the second moment.
    eps: ε.
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation`.

  References:
    Dozat, *Incorporating Nesterov Momentum into Adam*, ICLR 2016 workshop: Algorithm 2.
  """
  return optax.chain(
    scale_by_nadam(b1, b2, eps, mu_dtype=mu_dtype), scale_by_learning_rate(learning_rate)
  )


def adamw(
  learning_rate: LearningRate = 1e-3,
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  weight_decay: ArrayLike = 1e-2,
  *,
  mask: Any = None,
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""AdamW (Loshchilov & Hutter): Adam with weight decay decoupled from the gradient.

  :math:`\theta_t = \theta_{t-1} - \alpha_t (\hat m_t/(\sqrt{\hat v_t}+\epsilon) +
  \lambda\theta_{t-1})`, the same update as ``torch.optim.AdamW`` (which shrinks θ by
  :math:`1-\alpha\lambda` first).

  Args:
    learning_rate: α (scalar, traced array or schedule).
    b1: β1, the decay of the first moment.
    b2: β2, the decay of the second moment.
    eps: ε.
    weight_decay: λ.
    mask: which leaves are decayed (pytree of bools or a callable of params).
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation`; ``update`` needs ``params``.

  References:
    Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019: Algorithm 2.
  """
  return optax.chain(
    scale_by_adam(b1, b2, eps, mu_dtype=mu_dtype),
    add_decoupled_weight_decay(weight_decay, mask),
    scale_by_learning_rate(learning_rate),
  )


def momentum(
  learning_rate: LearningRate, momentum: ArrayLike = 0.9
) -> optax.GradientTransformation:
  """SGD with heavy-ball momentum: ``optax.sgd(learning_rate, momentum)``."""
  return optax.sgd(learning_rate, momentum=momentum)


def nesterov(
  learning_rate: LearningRate, momentum: ArrayLike = 0.9
) -> optax.GradientTransformation:
  """SGD with Nesterov momentum, as the paper's baseline: ``optax.sgd(..., nesterov=True)``."""
  return optax.sgd(learning_rate, momentum=momentum, nesterov=True)
