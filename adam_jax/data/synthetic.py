"""Random data with the shapes, dtypes and kinds of the real datasets (offline, instant)."""

from __future__ import annotations

import numpy as np

from adam_jax.data import registry
from adam_jax.data.dataset import Dataset, binary_output, make_dataset

_IMDB_LENGTH = 100


def synthetic(
  name: str,
  *,
  num_train: int = 64,
  num_test: int = 64,
  validation_size: int = 64,
  seed: int = 0,
  binarize: bool = False,
) -> Dataset:
  """Random data with the shapes, dtypes and kinds :func:`load` gives (offline, instant).

  For smoke runs. The inputs depend weakly on the labels (a per-class pattern under
  noise), so a model can lower its loss on them. Whitened datasets' (CIFAR-10) inputs
  are roughly standard normal; bag-of-words rows have up to 100 distinct ids each, with
  ``vocab_size =`` :data:`IMDB_VOCAB_SIZE`.

  Args:
    name: one of :data:`DATASETS`.
    num_train: number of examples in ``train`` (the validation ones are extra): 64 by
      default, two steps of a smoke config's batch of 32 per epoch (128 cost the suite
      30 s more CPU).
    num_test: number of examples in ``test``: 64 by default, as many as the default
      ``validation_size``, so that a smoke run evaluates both splits with one compiled
      program.
    validation_size: number of examples in ``validation``.
    seed: seed of the random arrays.
    binarize: as in :func:`load`.

  Returns:
    A :class:`Dataset` whose ``source`` is ``'synthetic'``.
  """
  spec = registry.spec(name)
  binary = binary_output(name, binarize)
  if min(num_train, num_test, validation_size) < 0:
    raise ValueError('synthetic(): sizes must be >= 0.')
  rng = np.random.default_rng(seed)
  num_classes = max(spec.num_classes, 1)
  patterns = rng.random((num_classes, *spec.shape), dtype=np.float32)

  def make(n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (
      rng.integers(0, spec.num_classes, n, dtype=np.int32) if not binary else np.zeros(n, np.int32)
    )
    if spec.input_kind == 'bag_of_words':
      return _bag_of_words(rng, y), y
    noise = rng.random((n, *spec.shape), dtype=np.float32)
    x = 0.5 * noise + 0.5 * patterns[y]
    if binary:
      return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32), y
    if spec.whiten:
      return ((x - 0.5) / 0.2).astype(np.float32), y
    return x, y

  splits = make(num_train), make(validation_size), make(num_test)
  vocab_size = registry.IMDB_VOCAB_SIZE if spec.input_kind == 'bag_of_words' else 0
  return make_dataset(name, binary, splits, vocab_size, 'synthetic')


def _bag_of_words(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
  """Rows of up to 100 sorted distinct ids; half of each row from a label-specific range."""
  vocab = registry.IMDB_VOCAB_SIZE
  ids = np.full((len(y), _IMDB_LENGTH), vocab, np.int32)
  for i, label in enumerate(y):
    k = int(rng.integers(1, _IMDB_LENGTH + 1))
    common = rng.integers(0, vocab, k - k // 2)
    marked = 100 * int(label) + rng.integers(0, 100, k // 2)
    row = np.unique(np.concatenate([common, marked]))
    ids[i, : len(row)] = row
  return ids
