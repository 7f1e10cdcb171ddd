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
