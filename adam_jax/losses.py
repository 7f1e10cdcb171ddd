"""Losses and metrics of Kingma & Ba (2015), §6, as pure per-example ``jnp`` functions.

Every loss returns one value per example (batch axis leading), so the caller decides
how to average, mask padded examples, or sum. Classification (§6.1-§6.3) uses the
softmax cross-entropy, optionally plus the L2 term λ‖θ‖²; the VAE (§6.4) uses the
negative evidence lower bound in nats.

Example:
  >>> import jax.numpy as jnp
  >>> round(float(softmax_cross_entropy(jnp.zeros((1, 10)), jnp.array([3]))[0]), 4)  # log 10
  2.3026
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

__all__ = [
  'accuracy',
  'bernoulli_nll',
  'gaussian_kl',
  'l2_penalty',
  'negative_elbo',
  'softmax_cross_entropy',
]


def _sum_per_example(x: jax.Array) -> jax.Array:
  """Sums every axis but the leading (batch) one."""
  return jnp.sum(x.reshape((x.shape[0], -1)), axis=-1)


def softmax_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Multinomial negative log-likelihood, ``logsumexp(logits) - logits[label]`` (§6.1-§6.3).

  Args:
    logits: ``(batch, num_classes)``.
    labels: Integer class labels ``(batch,)``.

  Returns:
    The per-example loss ``(batch,)`` in nats.
  """
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Per-example 0/1 correctness of the arg-max prediction, as float32 ``(batch,)``."""
  return (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)


def l2_penalty(
  params: Any, weight: float | jax.Array, *, exclude_biases: bool = False
) -> jax.Array:
  """The L2 regulariser ``weight * ‖θ‖²`` (Adam paper §6.1, §6.2; Pérez §2.1-§2.2).

  No factor 1/2: the paper's and Pérez's objectives write λ‖θ‖². By default every
  leaf, biases included, is penalised. Pérez's formulas penalise only the weight
  matrices (λ Σ_q ‖W_q‖² + λ‖Θ‖², no bias term written); ``exclude_biases=True`` drops
  every leaf with at most one dimension (biases) to match. Pérez sets λ = 0 anyway.

  Args:
    params: A pytree of parameters.
    weight: λ; a Python float or a (possibly traced) scalar array.
    exclude_biases: Skip leaves with ``ndim <= 1``.

  Returns:
    A scalar.
  """
  leaves = jax.tree.leaves(params)
  if exclude_biases:
    leaves = [leaf for leaf in leaves if jnp.ndim(leaf) > 1]
  total = sum((jnp.sum(jnp.square(leaf)) for leaf in leaves), jnp.zeros((), jnp.float32))
  return weight * total


def bernoulli_nll(logits: jax.Array, x: jax.Array) -> jax.Array:
  """``-log p(x|z)`` of a Bernoulli decoder, summed over pixels (§6.4).

  Args:
    logits: Bernoulli logits ``(batch, ...)``.
    x: Targets in [0, 1] of the same shape (binary, or grey levels as probabilities).

  Returns:
    The per-example negative log-likelihood ``(batch,)`` in nats.
  """
  return _sum_per_example(optax.sigmoid_binary_cross_entropy(logits, x))


def gaussian_kl(mean: jax.Array, logvar: jax.Array) -> jax.Array:
  """``KL(N(mean, exp(logvar)) || N(0, I))`` per example (Kingma & Welling, App. B).

  ``-1/2 Σ_j (1 + logvar_j - mean_j² - exp(logvar_j))``.

  Args:
    mean: Posterior means ``(batch, latents)``.
    logvar: Posterior log-variances ``(batch, latents)``.

  Returns:
    The per-example KL divergence ``(batch,)`` in nats.
  """
  return -0.5 * _sum_per_example(1.0 + logvar - jnp.square(mean) - jnp.exp(logvar))


def negative_elbo(logits: jax.Array, x: jax.Array, mean: jax.Array, logvar: jax.Array) -> jax.Array:
  """The VAE's training cost, ``-ELBO = -log p(x|z) + KL(q(z|x) || p(z))`` (§6.4, Fig. 4).

  Args:
    logits: Decoder Bernoulli logits ``(batch, ...)`` for one sample z ~ q(z|x).
    x: Targets in [0, 1], same shape as ``logits``.
    mean: Posterior means ``(batch, latents)``.
    logvar: Posterior log-variances ``(batch, latents)``.

  Returns:
    The per-example negative ELBO ``(batch,)`` in nats (a single-sample estimate).
  """
  return bernoulli_nll(logits, x) + gaussian_kl(mean, logvar)
