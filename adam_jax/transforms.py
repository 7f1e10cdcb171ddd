"""The Adam family as Optax gradient transformations (update directions, no learning rate).

Each factory returns an :class:`optax.GradientTransformation` whose ``update`` maps
gradients to a *direction*; the optimizers in :mod:`adam_jax.optimizers` chain it with a
learning rate. Every numeric hyperparameter may be a traced JAX scalar and every boolean
switch a traced bool scalar, so a whole grid of settings runs as one ``jax.vmap``.

Notation follows Kingma & Ba (2015): ``g_t`` gradient, ``m_t``/``v_t`` first and second
moment estimates, ``t = 1, 2, ...`` the step being taken.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from adam_jax import _tree
from adam_jax._tree import Tree

ArrayLike = jax.typing.ArrayLike
BoolLike = bool | jax.Array


class ScaleByAdamState(NamedTuple):
  """State of :func:`scale_by_adam` and :func:`scale_by_nadam`."""

  count: jax.Array  # int32 scalar: number of steps taken.
  mu: Tree  # First moment estimate m_t.
  nu: Tree  # Second raw moment estimate v_t.


class ScaleByAdamaxState(NamedTuple):
  """State of :func:`scale_by_adamax`."""

  count: jax.Array
  mu: Tree  # First moment estimate m_t.
  nu: Tree  # Exponentially weighted infinity norm u_t.


class ScaleByAmsgradState(NamedTuple):
  """State of :func:`scale_by_amsgrad`."""

  count: jax.Array
  mu: Tree
  nu: Tree
  nu_max: Tree  # Running maximum of the second moment (convention set by ``variant``).


class TemporalAverageState(NamedTuple):
  """State of :func:`temporal_average`."""

  count: jax.Array
  avg: Tree  # θ̄_t, the exponential moving average of the parameters.
  weight: jax.Array  # 1 - β^t with bias correction, else 1: the estimate is avg / weight.


def _init_moments(params: Tree, mu_dtype: Any, num_second: int = 1) -> tuple[Tree, ...]:
  """m_0 (in ``mu_dtype``, default the params' float dtype) and zero second moments.

  The second moments are real (of complex params they hold |g|², as optax's do) and at
  least float32 (:func:`adam_jax._tree.accumulator_dtype`: a bfloat16 ν would stop moving).
  """
  params = _tree.as_arrays(params)
  mu_dtype = None if mu_dtype is None else jax.dtypes.canonicalize_dtype(mu_dtype)
  return (_tree.zeros_like(params, mu_dtype),) + tuple(
    _tree.accumulator_zeros_like(params, real=True) for _ in range(num_second)
  )


def _zero_count() -> jax.Array:
  return jnp.zeros([], jnp.int32)


def scale_by_adam(
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  *,
  eps_root: ArrayLike = 0.0,
  bias_correction: BoolLike = True,
  b1_decay: ArrayLike = 1.0,
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Rescales updates by Adam's moment estimates (Algorithm 1 of Kingma & Ba).

  With :math:`\beta_{1,t} = \beta_1 \lambda^{t-1}` (``b1_decay`` = λ; λ = 1 is plain Adam):

  .. math::
    m_t &= \beta_{1,t} m_{t-1} + (1 - \beta_{1,t}) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
    \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
    \text{direction}_t &= \hat m_t / (\sqrt{\hat v_t + \epsilon_{root}} + \epsilon)

  With ``bias_correction=False`` the two divisions are skipped: the direction is
  :math:`m_t / (\sqrt{v_t} + \epsilon)`, RMSProp with (EMA) momentum on the raw gradient,
  the ablation of §6.4 (Figure 4). The debiasing term keeps the paper's
  :math:`1 - \beta_1^t` also when ``b1_decay < 1`` (Algorithm 1 is unchanged in §4; only
  the moment update uses :math:`\beta_{1,t}`).

  Examples:
    >>> import jax.numpy as jnp
    >>> import adam_jax
    >>> tx = adam_jax.scale_by_adam()
    >>> params = {'w': jnp.array([1.0, -2.0])}
    >>> direction, _ = tx.update({'w': jnp.array([0.5, -3.0])}, tx.init(params))
    >>> direction['w'].round(4)  # the first step is sign(g), up to eps
    Array([ 1., -1.], dtype=float32)

  Args:
    b1: β1, decay rate of the first moment estimate.
    b2: β2, decay rate of the second raw moment estimate.
    eps: ε, added to :math:`\sqrt{\hat v_t}`.
    eps_root: added to :math:`\hat v_t` inside the square root (0 in the paper).
    bias_correction: divide the moments by :math:`1 - \beta^t` (may be a traced bool).
    b1_decay: λ of §4, Theorem 4.1: :math:`\beta_{1,t} = \beta_1 \lambda^{t-1}`.
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation` with state :class:`ScaleByAdamState`.

  References:
    Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015: Algorithm 1,
    §2 and §3 (bias correction), §4 (β1 decay), §6.4 (bias correction removed).
  """

  def init_fn(params):
    mu, nu = _init_moments(params, mu_dtype)
    return ScaleByAdamState(_zero_count(), mu, nu)

  def update_fn(updates, state, params=None):
    del params
    updates = _tree.as_arrays(updates)
    beta1, beta2 = _tree.decay(b1), _tree.decay(b2)
    count = optax.safe_increment(state.count)
    beta1_t = beta1.times_power(_tree.decay(b1_decay), count - 1)
    mu = _tree.ema(updates, state.mu, beta1_t)
    nu = _tree.ema_sq(updates, state.nu, beta2)
    c1 = beta1.debias(count, bias_correction)
    c2 = beta2.debias(count, bias_correction)
    eps_, eps_root_ = _tree.hp(eps), _tree.hp(eps_root)
    direction = jax.tree.map(
      lambda m, v, g: ((m / c1) / (_tree.sqrt(v / c2 + eps_root_) + eps_)).astype(
        _tree.out_dtype(g)
      ),
      mu,
      nu,
      updates,
    )
    return direction, ScaleByAdamState(count, mu, nu)

  return optax.GradientTransformation(init_fn, update_fn)


def scale_by_adamax(
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 0.0,
  *,
  bias_correction: BoolLike = True,
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Rescales updates by AdaMax's infinity norm (Algorithm 2 of Kingma & Ba).

  .. math::
    m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
    u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\
    \text{direction}_t &= \frac{m_t}{(1 - \beta_1^t)\, u_t}
    \quad (\text{and } 0 \text{ where } u_t = 0)

  The paper has no ε (the default here). A coordinate that has never had a non-zero
  gradient (say, MNIST's always-black border pixels) has :math:`u_t = m_t = 0`; its
  direction is 0, never NaN, and the gradient stays finite too. With ``eps > 0`` ε goes
  inside the max, as ``optax.adamax`` and ``torch.optim.Adamax`` do. §7.1 shows
  :math:`|\Delta_t| \le \alpha`.

  Args:
    b1: β1, decay rate of the first moment estimate.
    b2: β2, decay rate of the infinity norm.
    eps: ε inside the max (0 in the paper).
    bias_correction: divide :math:`m_t` by :math:`1 - \beta_1^t` (may be a traced bool).
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation` with state :class:`ScaleByAdamaxState`.

  References:
    Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015: Algorithm 2, §7.1.
  """

  def init_fn(params):
    mu, nu = _init_moments(params, mu_dtype)
    return ScaleByAdamaxState(_zero_count(), mu, nu)

  def update_fn(updates, state, params=None):
    del params
    updates = _tree.as_arrays(updates)
    beta1, beta2, eps_ = _tree.decay(b1), _tree.hp(b2), _tree.hp(eps)
    count = optax.safe_increment(state.count)
    mu = _tree.ema(updates, state.mu, beta1)
    nu = jax.tree.map(
      lambda g, u: jnp.maximum(beta2 * u, jnp.abs(g) + eps_).astype(u.dtype), updates, state.nu
    )
    c1 = beta1.debias(count, bias_correction)

    def direction(m, u, g):
      safe_u = jnp.where(u == 0, jnp.ones_like(u), u)
      # u = 0 only where g has always been 0 (m = 0 too); NaN in u or m stays NaN.
      return jnp.where(u == 0, 0, (m / c1) / safe_u).astype(_tree.out_dtype(g))

    return jax.tree.map(direction, mu, nu, updates), ScaleByAdamaxState(count, mu, nu)

  return optax.GradientTransformation(init_fn, update_fn)


AmsgradVariant = Literal['paper', 'optax', 'torch']
_AMSGRAD_VARIANTS = ('paper', 'optax', 'torch')


def scale_by_amsgrad(
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  *,
  variant: AmsgradVariant = 'paper',
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Rescales updates by AMSGrad's running maximum of the second moment (Reddi et al.).

  All variants keep :math:`m_t, v_t` as Adam does; they differ in what the maximum is
  taken over and where bias correction goes:

  * ``'paper'`` (Reddi et al., Algorithm 2): :math:`\hat v_t = \max(\hat v_{t-1}, v_t)`,
    direction :math:`m_t / (\sqrt{\hat v_t} + \epsilon)`, no bias correction at all.
  * ``'optax'`` (``optax.scale_by_amsgrad``): :math:`\hat v_t = \max(\hat v_{t-1},
    v_t / (1-\beta_2^t))`, direction :math:`\frac{m_t/(1-\beta_1^t)}{\sqrt{\hat v_t} + \epsilon}`.
  * ``'torch'`` (``torch.optim.Adam(amsgrad=True)``): :math:`\hat v_t = \max(\hat v_{t-1},
    v_t)`, direction :math:`\frac{m_t/(1-\beta_1^t)}{\sqrt{\hat v_t / (1-\beta_2^t)} + \epsilon}`.

  The conventions really differ: maxima of debiased and raw moments are not proportional,
  so trajectories drift apart by several percent within a few hundred steps.

  Args:
    b1: β1, decay rate of the first moment estimate.
    b2: β2, decay rate of the second moment estimate.
    eps: ε added to the square root.
    variant: ``'paper'``, ``'optax'`` or ``'torch'`` (static).
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation` with state :class:`ScaleByAmsgradState`.

  References:
    Reddi, Kale & Kumar, *On the Convergence of Adam and Beyond*, ICLR 2018: Algorithm 2.
  """
  if variant not in _AMSGRAD_VARIANTS:
    raise ValueError(f'variant must be one of {_AMSGRAD_VARIANTS}, got {variant!r}')

  def init_fn(params):
    mu, nu, nu_max = _init_moments(params, mu_dtype, num_second=2)
    return ScaleByAmsgradState(_zero_count(), mu, nu, nu_max)

  def update_fn(updates, state, params=None):
    del params
    updates = _tree.as_arrays(updates)
    beta1, beta2, eps_ = _tree.decay(b1), _tree.decay(b2), _tree.hp(eps)
    count = optax.safe_increment(state.count)
    mu = _tree.ema(updates, state.mu, beta1)
    nu = _tree.ema_sq(updates, state.nu, beta2)
    paper = variant == 'paper'
    c1 = beta1.debias(count, not paper)
    c2 = beta2.debias(count)
    if variant == 'optax':
      nu_max = jax.tree.map(
        lambda vm, v: jnp.maximum(vm, v / c2).astype(vm.dtype), state.nu_max, nu
      )
      scale = jnp.ones_like(c2)
    else:
      nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu)
      scale = jnp.ones_like(c2) if paper else c2
    direction = jax.tree.map(
      lambda m, vm, g: ((m / c1) / (_tree.sqrt(vm / scale) + eps_)).astype(_tree.out_dtype(g)),
      mu,
      nu_max,
      updates,
    )
    return direction, ScaleByAmsgradState(count, mu, nu, nu_max)

  return optax.GradientTransformation(init_fn, update_fn)


def scale_by_nadam(
  b1: ArrayLike = 0.9,
  b2: ArrayLike = 0.999,
  eps: ArrayLike = 1e-8,
  *,
  mu_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Rescales updates by Nesterov-accelerated Adam (Dozat 2016), as ``optax.nadam``.

  Moments as in Adam; the first moment looks one step ahead:

  .. math::
    \bar m_t = \frac{\beta_1 m_t}{1 - \beta_1^{t+1}} + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t},
    \qquad \text{direction}_t = \bar m_t / (\sqrt{v_t / (1 - \beta_2^t)} + \epsilon)

  Like optax and PyTorch (without its momentum decay schedule) this omits the extra
  :math:`\beta_2` factor of Dozat's Algorithm 2 in :math:`\hat v_t`.

  Args:
    b1: β1, decay rate of the first moment estimate.
    b2: β2, decay rate of the second moment estimate.
    eps: ε added to the square root.
    mu_dtype: dtype of the first moment buffer (default: the params' dtype).

  Returns:
    An :class:`optax.GradientTransformation` with state :class:`ScaleByAdamState`.

  References:
    Dozat, *Incorporating Nesterov Momentum into Adam*, ICLR 2016 workshop: Algorithm 2.
  """

  def init_fn(params):
    mu, nu = _init_moments(params, mu_dtype)
    return ScaleByAdamState(_zero_count(), mu, nu)

  def update_fn(updates, state, params=None):
    del params
    updates = _tree.as_arrays(updates)
    beta1, beta2, eps_ = _tree.decay(b1), _tree.decay(b2), _tree.hp(eps)
    count = optax.safe_increment(state.count)
    mu = _tree.ema(updates, state.mu, beta1)
    nu = _tree.ema_sq(updates, state.nu, beta2)
    c1 = beta1.debias(count)
    c1_next = beta1.debias(optax.safe_increment(count))
    c2 = beta2.debias(count)

    def direction(m, v, g):
      m_bar = beta1.rate * m / c1_next + beta1.complement * g / c1
      return (m_bar / (_tree.sqrt(v / c2) + eps_)).astype(_tree.out_dtype(g))

    return jax.tree.map(direction, mu, nu, updates), ScaleByAdamState(count, mu, nu)

  return optax.GradientTransformation(init_fn, update_fn)


def temporal_average(
  decay: ArrayLike = 0.999,
  *,
  bias_correction: BoolLike = True,
) -> optax.GradientTransformation:
  r"""Keeps an exponential moving average of the parameters (§7.2); passes updates through.

  .. math::
    \bar\theta_t = \beta_2 \bar\theta_{t-1} + (1 - \beta_2)\,\theta_t, \quad \bar\theta_0 = 0,
    \qquad \text{estimate} = \bar\theta_t / (1 - \beta_2^t)

  where :math:`\theta_t = \theta_{t-1} + \text{updates}_t` are the *new* parameters, so chain
  this transformation last (after the learning rate). Read the estimate with
  :func:`averaged_params`. ``decay`` is the paper's β2 (here a separate knob).

  Args:
    decay: β2 of §7.2, the averaging decay rate.
    bias_correction: divide by :math:`1 - \beta_2^t` (may be a traced bool).

  Returns:
    An :class:`optax.GradientTransformation` with state :class:`TemporalAverageState`;
    ``update`` needs ``params``.

  References:
    Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015: §7.2.
  """

  def init_fn(params):
    return TemporalAverageState(
      _zero_count(),
      _tree.accumulator_zeros_like(_tree.as_arrays(params)),
      jnp.zeros([], _tree.hp_dtype()),
    )

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(_tree.NO_PARAMS_MSG)
    updates, params = _tree.as_arrays(updates), _tree.as_arrays(params)
    beta = _tree.decay(decay)
    new_params = optax.apply_updates(params, updates)
    avg = _tree.ema(new_params, state.avg, beta)
    weight = jnp.where(_tree.switch(bias_correction), beta.average(state.weight, 1.0), 1.0)
    return updates, TemporalAverageState(optax.safe_increment(state.count), avg, weight)

  return optax.GradientTransformation(init_fn, update_fn)


def averaged_params(opt_state: Any) -> Tree:
  """The temporal average θ̄_t/(1 − β2^t) held by a :func:`temporal_average` in ``opt_state``.

  ``opt_state`` may be any optimizer state (e.g. of an ``optax.chain``) that contains
  exactly one :class:`TemporalAverageState`. Before the first step the average is 0.

  Args:
    opt_state: the state of an optimizer that includes :func:`temporal_average`.

  Returns:
    The bias-corrected (or raw, if the transformation was built without correction)
    average, shaped like the params.

  References:
    Kingma & Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015: §7.2.
  """
  found = _tree.find_states(opt_state, TemporalAverageState)
  if len(found) != 1:
    raise ValueError(
      f'opt_state must contain exactly one TemporalAverageState, found {len(found)}; '
      'chain adam_jax.temporal_average(...) last in the optimizer.'
    )
  return average_of(found[0])


def average_of(state: TemporalAverageState) -> Tree:
  """The estimate θ̄_t/(1 − β2^t) (θ̄_t without correction) of a :class:`TemporalAverageState`.

  Of one state, or of a grid of them (vmapped: one weight per point, on the leading axes).
  """
  safe = jnp.where(state.weight > 0, state.weight, 1.0)

  def correct(a):
    return (a / safe.reshape(safe.shape + (1,) * (a.ndim - safe.ndim))).astype(a.dtype)

  return jax.tree.map(correct, state.avg)
