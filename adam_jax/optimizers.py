"""Optimizers (direction + learning rate) and the registry of every optimizer by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from adam_jax import _tree
from adam_jax.followups import nd_adam, swats
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


class ScaleByLearningRateState(NamedTuple):
  """State of :func:`scale_by_learning_rate` with a schedule: the steps taken."""

  count: jax.Array


def scale_by_learning_rate(
  learning_rate: LearningRate, *, flip_sign: bool = True
) -> optax.GradientTransformation:
  r"""Multiplies updates by :math:`-\alpha_t` (or :math:`+\alpha_t`), keeping their dtype.

  Like ``optax.scale_by_learning_rate``, but the learning rate (a float, a traced array or
  a schedule of the step count) is applied in float32 and the result cast back to each
  update's dtype, so a traced float32 α leaves bfloat16 updates bfloat16.

  Args:
    learning_rate: α, a scalar or a schedule ``count -> α_t`` (count = steps taken).
    flip_sign: return :math:`-\alpha_t \cdot u` (for gradient descent).

  Returns:
    An :class:`optax.GradientTransformation`; stateless for a scalar, counting steps for a
    schedule.
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
  weight_decay: ArrayLike, mask: Any = None
) -> optax.GradientTransformation:
  r"""Adds :math:`\lambda \theta` to the updates, keeping their dtype (AdamW's decay).

  ``optax.add_decayed_weights`` computes the same sum; this version casts it back to the
  update's dtype so that a traced float32 λ does not promote bfloat16 updates.

  Args:
    weight_decay: λ (may be a traced scalar).
    mask: optional pytree of bools (or a callable of params returning one) saying which
      leaves are decayed, as in ``optax.masked``.

  Returns:
    An :class:`optax.GradientTransformation` that needs ``params``.

  References:
    Loshchilov & Hutter, *Decoupled Weight Decay Regularization*, ICLR 2019: Algorithm 2.
  """

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(_tree.NO_PARAMS_MSG)
    lam = _tree.hp(weight_decay)
    updates, params = _tree.as_arrays(updates), _tree.as_arrays(params)
    return jax.tree.map(
      lambda u, p: (u + lam * p).astype(_tree.out_dtype(u)), updates, params
    ), state

  tx = optax.GradientTransformation(optax.init_empty_state, update_fn)
  return tx if mask is None else optax.masked(tx, mask)


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


OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
  'adam': adam,
  'adamax': adamax,
  'amsgrad': amsgrad,
  'nadam': nadam,
  'adamw': adamw,
  'swats': swats,
  'nd_adam': nd_adam,
  # Baselines of the paper's figures, taken from optax as they are.
  'sgd': optax.sgd,
  'momentum': momentum,
  'nesterov': nesterov,
  'adagrad': optax.adagrad,
  'rmsprop': optax.rmsprop,
  'adadelta': optax.adadelta,
}


# Hyperparameters that an optimizer takes as Python values (they choose code, so they
# cannot be traced): a sweep over one of them runs one program per value.
STATIC_HPARAMS: dict[str, frozenset[str]] = {
  'adam': frozenset({'mu_dtype'}),
  'adamax': frozenset({'mu_dtype'}),
  'nadam': frozenset({'mu_dtype'}),
  'amsgrad': frozenset({'variant', 'mu_dtype'}),
  'adamw': frozenset({'mask', 'mu_dtype'}),
  'nd_adam': frozenset({'vector_mask'}),
  'sgd': frozenset({'nesterov', 'accumulator_dtype'}),
  'rmsprop': frozenset({'eps_in_sqrt', 'centered', 'nesterov', 'bias_correction'}),
  'adadelta': frozenset({'weight_decay_mask'}),
}


def static_hparams(name: str) -> frozenset[str]:
  """The hyperparameters of optimizer ``name`` that must be Python values, not arrays."""
  _lookup(name)
  return STATIC_HPARAMS.get(name, frozenset())


def optimizer_hparams(name: str) -> tuple[str, ...]:
  """The keyword arguments the optimizer ``name`` accepts."""
  return tuple(inspect.signature(_lookup(name)).parameters)


def optimizer_defaults(name: str) -> dict[str, Any]:
  """The default value of each keyword argument of optimizer ``name`` that has one."""
  params = inspect.signature(_lookup(name)).parameters.values()
  return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _lookup(name: str) -> Callable[..., optax.GradientTransformation]:
  try:
    return OPTIMIZERS[name]
  except KeyError:
    raise ValueError(
      f'unknown optimizer {name!r}; valid names: {", ".join(sorted(OPTIMIZERS))}'
    ) from None


def get_optimizer(name: str, **hparams: Any) -> optax.GradientTransformation:
  """Builds a registered optimizer by name.

  Examples:
    >>> import adam_jax
    >>> opt = adam_jax.get_optimizer('adamax', learning_rate=2e-3, b2=0.999)
    >>> adam_jax.get_optimizer('adamm')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown optimizer 'adamm'; valid names: adadelta, adagrad, adam, ..., swats

  Args:
    name: one of :data:`OPTIMIZERS`: ``adam``, ``adamax``, ``amsgrad``, ``nadam``,
      ``adamw``, ``swats``, ``nd_adam``, and the optax baselines ``sgd``, ``momentum``,
      ``nesterov``, ``adagrad``, ``rmsprop`` (with ``momentum`` and ``nesterov=True``:
      Algorithm 8.6 of the Deep Learning book), ``adadelta``.
    **hparams: the optimizer's keyword arguments (numbers, traced arrays or schedules).

  Returns:
    An :class:`optax.GradientTransformation`.

  Raises:
    ValueError: for an unknown name, or a hyperparameter the optimizer does not take.
  """
  factory = _lookup(name)
  accepted = optimizer_hparams(name)
  unknown = sorted(set(hparams) - set(accepted))
  if unknown:
    raise ValueError(
      f'optimizer {name!r} takes no hyperparameter {", ".join(unknown)}; '
      f'it takes: {", ".join(accepted)}'
    )
  return factory(**hparams)
