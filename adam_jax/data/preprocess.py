"""Preprocessing: pixels to [0, 1], binary images, ZCA whitening, IMDB's bag of words."""

from __future__ import annotations

import collections
import re

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from adam_jax.data.registry import IMDB_VOCAB_SIZE, ZCA_EPSILON


def split_indices(n: int, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Sorted (train, validation) indices: a seeded random ``validation_size`` subset held out."""
  if not 0 <= validation_size < n:
    raise ValueError(
      f'validation_size={validation_size} must be in [0, {n - 1}]: the training split has '
      f'{n} examples and at least one must stay for training.'
    )
  perm = np.random.default_rng(seed).permutation(n)
  return np.sort(perm[validation_size:]), np.sort(perm[:validation_size])


def image_split(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
  """0..255 pixels to float32 in [0, 1]; labels to int32."""
  x, y = pair
  return x.astype(np.float32) / np.float32(255), y.astype(np.int32)


def binary_split(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
  """{0, 1} images: data already in {0, 1} is kept; 0..255 pixels are thresholded at 128."""
  x, y = pair
  x = x if x.size and x.max() <= 1 else x >= 128
  return x.astype(np.float32), np.zeros(len(y), np.int32)


def zca_splits(
  *splits: tuple[np.ndarray, np.ndarray], epsilon: float = ZCA_EPSILON
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
  """ZCA whitening fitted on the first split's x and applied to every split's x."""
  mean, w = fit_zca(splits[0][0], epsilon)
  return tuple((apply_zca(x, mean, w), y) for x, y in splits)


def fit_zca(x: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
  """Mean and symmetric whitening matrix ``U diag(1/√(λ+ε)) Uᵀ`` of ``x`` (float64 fit).

  With more examples than features the covariance is accumulated in chunks and
  eigendecomposed; with fewer (tests, mock data) the thin SVD of the centred data gives
  the same matrix: the covariance's null space gets the factor ``1/√ε``.
  """
  n = x.shape[0]
  flat = x.reshape(n, -1)
  d = flat.shape[1]
  mean = flat.mean(axis=0, dtype=np.float64)
  if n > d:
    cov = np.zeros((d, d))
    for i in range(0, n, 4096):
      chunk = flat[i : i + 4096].astype(np.float64) - mean
      cov += chunk.T @ chunk
    eigenvalues, eigenvectors = np.linalg.eigh(cov / n)
  else:
    _, s, vt = np.linalg.svd(flat.astype(np.float64) - mean, full_matrices=False)
    eigenvalues, eigenvectors = s**2 / n, vt.T
  eigenvalues = np.maximum(eigenvalues, 0.0)
  scale = 1 / np.sqrt(eigenvalues + epsilon) - 1 / np.sqrt(epsilon)
  w = (eigenvectors * scale) @ eigenvectors.T + np.eye(d) / np.sqrt(epsilon)
  return mean.astype(np.float32), w.astype(np.float32)


def apply_zca(x: np.ndarray, mean: np.ndarray, w: np.ndarray) -> np.ndarray:
  """``(x − mean) w`` per example, in chunks (float32)."""
  n = x.shape[0]
  flat = x.reshape(n, -1)
  out = np.empty_like(flat, dtype=np.float32)
  for i in range(0, n, 4096):
    out[i : i + 4096] = (flat[i : i + 4096] - mean) @ w
  return out.reshape(x.shape)


def bag_of_words_splits(
  *splits: tuple[list[bytes], np.ndarray],
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
  """Bag-of-words id rows for every split, with the vocabulary of the first split."""
  tokens = [[tokenize(t) for t in texts] for texts, _ in splits]
  counts = collections.Counter()
  for doc in tokens[0]:
    counts.update(doc)
  ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:IMDB_VOCAB_SIZE]
  vocab = {word: i for i, (word, _) in enumerate(ranked)}
  rows = [[sorted({vocab[w] for w in doc if w in vocab}) for doc in split] for split in tokens]
  length = max([1] + [len(r) for split in rows for r in split])
  logging.info(
    'IMDB bag of words: %d distinct training words, vocabulary %d, row length %d.',
    len(counts),
    len(vocab),
    length,
  )
  out = []
  for split_rows, (_, y) in zip(rows, splits, strict=True):
    ids = np.full((len(split_rows), length), IMDB_VOCAB_SIZE, np.int32)
    for i, r in enumerate(split_rows):
      ids[i, : len(r)] = r
    out.append((ids, y.astype(np.int32)))
  return tuple(out)


def bag_of_words_dense(ids: jax.Array, vocab_size: int) -> jax.Array:
  """Densifies padded word-id rows into 0/1 bag-of-words vectors (jit-friendly).

  Examples:
    >>> import numpy as np
    >>> from adam_jax.data import bag_of_words_dense
    >>> np.asarray(bag_of_words_dense(np.array([[0, 2, 4], [1, 4, 4]]), 4)).tolist()
    [[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]

  Args:
    ids: int array ``(..., L)`` of word ids in ``[0, vocab_size]``; ``vocab_size`` pads.
    vocab_size: vocabulary size (a static Python int).

  Returns:
    float32 array ``(..., vocab_size)``: 1 where the word occurs in the row, else 0. The
    scatter writes into ``vocab_size + 1`` columns and drops the padding column.
  """
  ids = jnp.asarray(ids)
  batch_shape, length = ids.shape[:-1], ids.shape[-1]
  flat = ids.reshape(-1, length)
  rows = jnp.arange(flat.shape[0])[:, None]
  dense = jnp.zeros((flat.shape[0], vocab_size + 1), jnp.float32).at[rows, flat].set(1.0)
  return dense[:, :vocab_size].reshape(*batch_shape, vocab_size)


def tokenize(text: bytes | str) -> list[str]:
  """Splits a review into lowercase word tokens (robust to any bytes).

  Examples:
    >>> from adam_jax.data import tokenize
    >>> tokenize(b"It's GREAT!<br />'Loved' it, 10/10")
    ["it's", 'great', 'loved', 'it', '10', '10']

  Args:
    text: UTF-8 bytes (invalid sequences are dropped) or a string.

  Returns:
    The tokens: runs of ``[a-z0-9']`` with leading/trailing apostrophes stripped.
  """
  if isinstance(text, bytes):
    text = text.decode('utf-8', errors='ignore')
  text = text.lower().replace('<br />', ' ')
  return [t for t in (m.strip("'") for m in _TOKEN_RE.findall(text)) if t]


_TOKEN_RE = re.compile(r"[a-z0-9']+")
