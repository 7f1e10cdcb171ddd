"""Independent NumPy transcriptions of the papers' pseudocode, one loop per algorithm.

Written from the papers, not from adam_jax: plain float64 loops, one step at a time, so
the tests can hold the JAX transformations against them. Each function takes a sequence of
gradients (they do not depend on the parameters) and returns the parameter trajectory
theta_1..theta_T as an array of shape (T, *theta0.shape).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def gradient_sequence(num_steps: int = 240, dim: int = 16, seed: int = 0) -> np.ndarray:
  """Gradients with heavy-tailed outliers and sparse coordinates.

  Coordinates 0-3 are dense Gaussian; 4-9 are zero 90% of the time; 10-11 see a single
  non-zero gradient late in the run (the sparse worst case of §2.1); 12 is always zero
  (the black border pixel of MNIST); the rest carry outliers of x100 at random steps.
  """
  rng = np.random.default_rng(seed)
  g = rng.normal(size=(num_steps, dim))
  g[:, 4:10] *= rng.random((num_steps, 6)) < 0.1
  g[:, 10:12] = 0.0
  g[num_steps - 40, 10] = 3.0
  g[num_steps - 5, 11] = -0.5
  g[:, 12] = 0.0
  outliers = rng.random((num_steps, dim - 13)) < 0.03
  g[:, 13:] *= np.where(outliers, 100.0, 1.0)
  return g


def constant_lr(alpha: float) -> Callable[[int], float]:
  return lambda t: alpha


def inverse_sqrt_lr(alpha: float) -> Callable[[int], float]:
  return lambda t: alpha / np.sqrt(t)


def adam(
  grads,
  theta0,
  alpha=1e-3,
  b1=0.9,
  b2=0.999,
  eps=1e-8,
  *,
  bias_correction=True,
  b1_decay=1.0,
  eps_root=0.0,
  lr=None,
):
  """Algorithm 1 of Kingma & Ba (with §4's β1,t = β1 λ^(t-1) and §6.4's switch)."""
  lr = lr or constant_lr(alpha)
  theta, m, v, out = np.array(theta0, float), 0.0, 0.0, []
  for t, g in enumerate(grads, start=1):
    b1_t = b1 * b1_decay ** (t - 1)
    m = b1_t * m + (1 - b1_t) * g  # Update biased first moment estimate
    v = b2 * v + (1 - b2) * g * g  # Update biased second raw moment estimate
    if bias_correction:
      m_hat = m / (1 - b1**t)  # Compute bias-corrected first moment estimate
      v_hat = v / (1 - b2**t)  # Compute bias-corrected second raw moment estimate
    else:
      m_hat, v_hat = m, v
    theta = theta - lr(t) * m_hat / (np.sqrt(v_hat + eps_root) + eps)
    out.append(theta)
  return np.array(out)


def adam_efficient(grads, theta0, alpha=1e-3, b1=0.9, b2=0.999, eps_hat=1e-8):
  """§2's efficient form: α_t = α·√(1−β2^t)/(1−β1^t), θ ← θ − α_t·m_t/(√v_t + ε̂)."""
  theta, m, v, out = np.array(theta0, float), 0.0, 0.0, []
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    alpha_t = alpha * np.sqrt(1 - b2**t) / (1 - b1**t)
    theta = theta - alpha_t * m / (np.sqrt(v) + eps_hat)
    out.append(theta)
  return np.array(out)


def adamax(grads, theta0, alpha=2e-3, b1=0.9, b2=0.999, eps=0.0, *, bias_correction=True):
  """Algorithm 2 of Kingma & Ba; 0/0 := 0 for a coordinate that never saw a gradient."""
  theta, m, u, out = np.array(theta0, float), 0.0, np.zeros_like(theta0, float), []
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    u = np.maximum(b2 * u, np.abs(g) + eps)
    step_size = alpha / (1 - b1**t) if bias_correction else alpha
    with np.errstate(invalid='ignore', divide='ignore'):
      ratio = np.where(u > 0, m / u, 0.0)
    theta = theta - step_size * ratio
    out.append(theta)
  return np.array(out)


def amsgrad(grads, theta0, alpha=1e-3, b1=0.9, b2=0.999, eps=1e-8, *, variant='paper'):
  """Reddi et al. Algorithm 2 ('paper'), and optax's and PyTorch's conventions."""
  theta, m, v = np.array(theta0, float), 0.0, 0.0
  v_max, out = np.zeros_like(theta), []
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    if variant == 'paper':
      v_max = np.maximum(v_max, v)
      step = m / (np.sqrt(v_max) + eps)
    elif variant == 'optax':
      v_max = np.maximum(v_max, v / (1 - b2**t))
      step = (m / (1 - b1**t)) / (np.sqrt(v_max) + eps)
    else:  # torch.optim.Adam(amsgrad=True), torch/optim/adam.py
      v_max = np.maximum(v_max, v)
      denom = np.sqrt(v_max) / np.sqrt(1 - b2**t) + eps
      step = (m / (1 - b1**t)) / denom
    theta = theta - alpha * step
    out.append(theta)
  return np.array(out)


def nadam(grads, theta0, alpha=2e-3, b1=0.9, b2=0.999, eps=1e-8):
  """Dozat (2016), Algorithm 2 with constant μ = β1, without the extra β2 factor on v̂."""
  theta, m, v, out = np.array(theta0, float), 0.0, 0.0, []
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_bar = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    theta = theta - alpha * m_bar / (np.sqrt(v_hat) + eps)
    out.append(theta)
  return np.array(out)


def adamw(grads, theta0, alpha=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2):
  """Loshchilov & Hutter, Algorithm 2 with η = 1: decay applied to the weights."""
  theta, m, v, out = np.array(theta0, float), 0.0, 0.0, []
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    theta = theta - alpha * (m_hat / (np.sqrt(v_hat) + eps) + weight_decay * theta)
    out.append(theta)
  return np.array(out)


def temporal_average(trajectory, decay=0.999, *, bias_correction=True):
  """§7.2: θ̄_t = β2·θ̄_{t−1} + (1−β2)·θ_t, θ̄_0 = 0, estimate θ̄_t/(1−β2^t)."""
  avg, out = 0.0, []
  for t, theta in enumerate(trajectory, start=1):
    avg = decay * avg + (1 - decay) * theta
    out.append(avg / (1 - decay**t) if bias_correction else avg)
  return np.array(out)


def adagrad(grads, theta0, alpha=1e-2, eps=0.0):
  """Duchi et al.: θ ← θ − α·g_t/√(Σ_{i≤t} g_i²) (0 where the sum is 0)."""
  theta, s, out = np.array(theta0, float), 0.0, []
  for g in grads:
    s = s + g * g
    with np.errstate(invalid='ignore', divide='ignore'):
      step = np.where(s > 0, g / (np.sqrt(s) + eps), 0.0)
    theta = theta - alpha * step
    out.append(theta)
  return np.array(out)


def swats(grads, theta0, alpha=1e-3, b1=0.9, b2=0.999, eps=1e-9):
  """Keskar & Socher (2017), Algorithm 1 (SWATS), over the whole parameter vector.

  `alpha` is a float or a callable k -> α_k (k = 1, 2, ...), used by the Adam phase only; the
  SGD phase steps with Λ alone, as printed. Returns (trajectory, switch_step): switch_step is
  the k whose Adam step set phase = SGD (its update is still Adam's; SGD's first is k + 1),
  0 if the switch never happened.
  """
  alpha_k = alpha if callable(alpha) else constant_lr(alpha)
  x = np.array(theta0, float)
  m, a, lam = np.zeros_like(x), np.zeros_like(x), 0.0
  v, big_lambda, phase, switch_step, out = np.zeros_like(x), 0.0, 'Adam', 0, []
  for k, g in enumerate(grads, start=1):
    g = np.asarray(g, float)
    if phase == 'SGD':
      v = b1 * v + g
      x = x - (1 - b1) * big_lambda * v
      out.append(x)
      continue
    m = b1 * m + (1 - b1) * g
    a = b2 * a + (1 - b2) * g * g
    # ε is added to √a_k before the bias correction is folded into the step, as printed.
    p = -alpha_k(k) * np.sqrt(1 - b2**k) / (1 - b1**k) * m / (np.sqrt(a) + eps)
    x = x + p
    p_dot_g = np.vdot(p, g)  # np.vdot flattens: the criterion spans every coordinate
    if p_dot_g != 0:
      gamma = np.vdot(p, p) / -p_dot_g
      lam = b2 * lam + (1 - b2) * gamma
      if k > 1 and abs(lam / (1 - b2**k) - gamma) < eps:
        phase, switch_step = 'SGD', k
        v = np.zeros_like(x)
        big_lambda = lam / (1 - b2**k)
    # else: λ_k = λ_{k-1}
    out.append(x)
  return np.array(out), switch_step


def nd_adam(grads, theta0, alpha=1e-3, b1=0.9, b2=0.999, eps=1e-8):
  """Zhang et al. (2017), ND-Adam, Algorithm 1, for one (n_in, n_out) weight matrix.

  Column j is hidden unit j's weight vector w; v is one scalar per column. The paper starts
  from unit-norm vectors; our design normalises on the first step instead: the projection and
  the step start from ŵ = w/‖w‖ (ŵ = w when θ0's columns are unit-norm, so then identical).
  Other leaves (biases, gains) use plain Adam: see `adam`.
  """
  theta = np.array(theta0, float)
  n_in, n_out = theta.shape
  m, v = np.zeros((n_in, n_out)), np.zeros(n_out)
  out = []
  for t, g_mat in enumerate(grads, start=1):
    g_mat, new_theta = np.asarray(g_mat, float), np.empty_like(theta)
    for j in range(n_out):
      w_hat = theta[:, j] / np.linalg.norm(theta[:, j])
      g_bar = g_mat[:, j]
      g = g_bar - np.dot(g_bar, w_hat) * w_hat  # drop the radial component
      m[:, j] = b1 * m[:, j] + (1 - b1) * g
      v[j] = b2 * v[j] + (1 - b2) * np.dot(g, g)  # ‖g‖², one scalar per weight vector
      m_hat = m[:, j] / (1 - b1**t)
      v_hat = v[j] / (1 - b2**t)
      w_bar = w_hat - alpha * m_hat / (np.sqrt(v_hat) + eps)
      new_theta[:, j] = w_bar / np.linalg.norm(w_bar)
    theta = new_theta
    out.append(theta)
  return np.array(out)


def rmsprop_nesterov(grad_fn, theta0, lr=1e-3, rho=0.9, momentum=0.9, delta=1e-8, num_steps=100):
  """Goodfellow, Bengio & Courville, Deep Learning, Algorithm 8.6 (RMSProp + Nesterov).

  The gradient is taken at the interim point θ + αv, so this takes grad_fn, not a fixed
  sequence. The book prints v ← αv − ε/√r ⊙ g; δ goes inside the root as in its Algorithm 8.5
  (ε/√(δ + r)). Initial velocity 0. Returns (thetas, velocities), each (num_steps, *shape).
  """
  theta = np.array(theta0, float)
  r, v = np.zeros_like(theta), np.zeros_like(theta)
  thetas, velocities = [], []
  for _ in range(num_steps):
    theta_interim = theta + momentum * v  # Compute interim update
    g = np.asarray(grad_fn(theta_interim), float)  # Compute gradient (at interim point)
    r = rho * r + (1 - rho) * g * g  # Accumulate gradient
    v = momentum * v - lr / np.sqrt(delta + r) * g  # Compute velocity update
    theta = theta + v  # Apply update
    thetas.append(theta)
    velocities.append(v)
  return np.array(thetas), np.array(velocities)


def sgdr(t, init_value, first_period, period_mult=2.0, min_value=0.0):
  """Loshchilov & Hutter, SGDR: cosine annealing with warm restarts, after t steps taken.

  Walks the periods one at a time (T_0 = first_period, T_{i+1} = period_mult·T_i, each
  starting where the last ended); T_cur = t − start_i;
  η = η_min + ½(η_max − η_min)(1 + cos(π·T_cur/T_i)).
  """
  start, period = 0.0, float(first_period)
  while t >= start + period:
    start += period
    period *= period_mult
  t_cur = t - start
  return float(min_value + 0.5 * (init_value - min_value) * (1 + np.cos(np.pi * t_cur / period)))


def adamw_r(grads, theta0, alpha=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, eta=None):
  """Loshchilov & Hutter, Algorithm 2 (AdamW) with schedule multiplier η_t.

  θ_t = θ_{t−1} − η_t·(α·m̂_t/(√v̂_t + ε) + λ·θ_{t−1}): λ is not multiplied by α (unlike
  `adamw` above, the optax convention, where adamw(wd=λ) == adamw_r(weight_decay=α·λ)).
  eta is a callable of the number of steps already taken (t − 1 = 0, 1, ...), e.g.
  lambda s: sgdr(s, 1.0, 10); default η_t = 1.
  """
  eta = eta or (lambda s: 1.0)
  theta, m, v, out = np.array(theta0, float), 0.0, 0.0, []
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    eta_t = eta(t - 1)  # SetScheduleMultiplier(t)
    theta = theta - eta_t * (alpha * m_hat / (np.sqrt(v_hat) + eps) + weight_decay * theta)
    out.append(theta)
  return np.array(out)


def normalized_weight_decay(norm, batch_size, num_examples, num_epochs):
  """Loshchilov & Hutter, normalized weight decay: λ = λ_norm·√(b/(B·T))."""
  return float(norm * np.sqrt(batch_size / (num_examples * num_epochs)))
