"""A dataset as whole in-memory arrays, and :func:`load`, which finds and prepares one.

Where the data comes from, in order:

1. Datasets stored as IDX files (``mnist``, ``fashion_mnist``): the four standard files
   (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
   ``t10k-labels-idx1-ubyte``, each gzipped or not) in ``<data_dir>/<name>/``, then
   ``$ADAM_JAX_DATA_DIR/<name>/``, then ``$XDG_DATA_HOME/adam_jax/<name>/`` (where
   ``make install`` writes MNIST), then a system package's directory (Debian's
   ``dataset-fashion-mnist``). TensorFlow is never imported on this path.
2. TensorFlow Datasets (:mod:`adam_jax.data.tfds_source`).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
from absl import logging

from adam_jax.data import idx, preprocess, registry, tfds_source


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
  """A dataset as whole NumPy arrays.

  Attributes:
    name: the dataset's name (one of :data:`DATASETS`).
    train: ``(x, y)``, the training split minus the validation examples.
    validation: ``(x, y)``, a seeded random subset held out of the training split (for
      choosing hyperparameters); may hold zero examples.
    test: ``(x, y)``, the test split.
    num_classes: number of classes of ``y``; 0 for unlabeled data (``input_kind='binary'``).
    input_kind: ``'image'``: x float32 ``(N, H, W, C)`` in [0, 1] (CIFAR-10: ZCA-whitened);
      ``'bag_of_words'``: x int32 ``(N, L)``, each row the sorted distinct word ids of one
      document, padded with ``vocab_size`` (densify with :func:`bag_of_words_dense`);
      ``'binary'``: x float32 ``(N, H, W, 1)`` in {0, 1}, y zeros.
    vocab_size: vocabulary size for ``'bag_of_words'`` (also the padding id); else 0.
    source: where the data came from, for logs and reports.
  """

  name: str
  train: tuple[np.ndarray, np.ndarray]
  validation: tuple[np.ndarray, np.ndarray]
  test: tuple[np.ndarray, np.ndarray]
  num_classes: int
  input_kind: str
  vocab_size: int = 0
  source: str = ''

  @property
  def input_shape(self) -> tuple[int, ...]:
    """Per-example shape of ``x`` (``(L,)`` for bag of words: see :func:`bag_of_words_dense`)."""
    return tuple(self.train[0].shape[1:])

  def __repr__(self) -> str:
    def shapes(split: tuple[np.ndarray, np.ndarray]) -> str:
      x, y = split
      return f'(x={x.dtype}{list(x.shape)}, y={y.dtype}{list(y.shape)})'

    return (
      f'Dataset(name={self.name!r}, train={shapes(self.train)}, '
      f'validation={shapes(self.validation)}, test={shapes(self.test)}, '
      f'num_classes={self.num_classes}, input_kind={self.input_kind!r}, '
      f'vocab_size={self.vocab_size}, source={self.source!r})'
    )


def load(
  name: str,
  *,
  validation_size: int = 5000,
  seed: int = 0,
  data_dir: str | None = None,
  binarize: bool = False,
) -> Dataset:
  """Loads a dataset whole, with a validation subset held out of its training split.

  Preprocessing:
    * Images are scaled to float32 in [0, 1].
    * ``cifar10``: ZCA-whitened (the Adam paper, §6.3, trains on "whitened" inputs). The
      whitening is fitted on the returned training examples only (validation and test are
      never looked at) and applied to all three splits: per-pixel means are removed, then
      ``x ← (x − μ) U diag(1/√(λ + ε)) Uᵀ`` with ``(λ, U)`` the eigendecomposition of the
      3072×3072 training covariance (divided by N) and ``ε =`` :data:`ZCA_EPSILON`
      ``= 1e-2``. ε keeps the many near-zero eigenvalues (pixel noise) from being
      amplified more than 10×. Fitting takes ~30 s on two CPU cores.
    * ``imdb_reviews``: each review (lowercased, ``<br />`` removed, tokens
      ``[a-z0-9']+`` with outer apostrophes stripped) becomes the sorted distinct ids of its
      words among the :data:`IMDB_VOCAB_SIZE` most frequent words of the returned training
      examples (by total count, ties broken alphabetically; id 0 is the most frequent).
      ``vocab_size`` is always :data:`IMDB_VOCAB_SIZE`: when the corpus has fewer distinct
      words (tiny or mock corpora) the unused ids simply never occur. Rows of all three
      splits are padded with ``vocab_size`` to one common length, the longest review's
      number of distinct in-vocabulary words.
    * ``binarized_mnist``: Larochelle's fixed binarization of MNIST (the TFDS ``train``
      split; its ``validation`` split is not used); x in {0, 1}, y zeros.
    * ``binarize=True`` (``mnist``, ``fashion_mnist``): the VAE's binary input, made
      deterministically by thresholding the [0, 1] pixels at 0.5 (pixel ≥ 128 of 255 → 1);
      x in {0, 1}, y zeros, ``input_kind='binary'``, ``num_classes=0``.

  Args:
    name: one of :data:`DATASETS`.
    validation_size: number of training examples held out as the validation split
      (0 gives empty validation arrays of the right shapes).
    seed: seed of the (deterministic) choice of validation examples.
    data_dir: where to look first: IDX files in ``<data_dir>/<name>/`` (MNIST,
      Fashion-MNIST), then TFDS's data directory (default: TFDS's own,
      ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
    binarize: return binary images (``mnist``, ``fashion_mnist``; a no-op for
      ``binarized_mnist``).

  Returns:
    The :class:`Dataset`; labels are int32, ``train`` keeps the dataset's own order.

  Raises:
    ValueError: unknown ``name``, ``binarize`` on a dataset that is not MNIST-like, or a
      ``validation_size`` that leaves no training example.
    IdxFormatError: an IDX file that is found but corrupt.
    DatasetUnavailableError: the data is not on this machine and cannot be downloaded now.
  """
  spec = registry.spec(name)
  binary = binary_output(name, binarize)
  start = time.perf_counter()
  splits = None
  if spec.idx:
    directory = idx.find_dir(name, data_dir)
    if directory is not None:
      splits = idx.read_splits(directory, spec)
      source = f'{directory} (IDX)'
  if splits is None:
    splits, source = tfds_source.read(name, data_dir)

  train_raw, test_raw = splits['train'], splits['test']
  train_idx, val_idx = preprocess.split_indices(len(train_raw[1]), validation_size, seed)

  def take(pair: tuple[Any, np.ndarray], idx: np.ndarray) -> tuple[Any, np.ndarray]:
    x, y = pair
    return ([x[i] for i in idx] if isinstance(x, list) else x[idx]), y[idx]

  train, validation = take(train_raw, train_idx), take(train_raw, val_idx)
  test = test_raw
  vocab_size = 0
  if spec.input_kind == 'bag_of_words':
    train, validation, test = preprocess.bag_of_words_splits(train, validation, test)
    vocab_size = registry.IMDB_VOCAB_SIZE
  elif binary:
    train, validation, test = (preprocess.binary_split(s) for s in (train, validation, test))
    source += ', binarized at 0.5' if spec.input_kind != 'binary' else ''
  else:
    train, validation, test = (preprocess.image_split(s) for s in (train, validation, test))
    if spec.whiten:
      train, validation, test = preprocess.zca_splits(train, validation, test)
      source += f', ZCA-whitened (eps={registry.ZCA_EPSILON:g})'

  dataset = make_dataset(name, binary, (train, validation, test), vocab_size, source)
  logging.info('Loaded %r in %.1f s.', dataset, time.perf_counter() - start)
  return dataset


def make_dataset(name: str, binary: bool, splits, vocab_size: int, source: str) -> Dataset:
  """A Dataset of (train, validation, test); binarized data is unlabeled ('binary')."""
  spec = registry.spec(name)
  train, validation, test = splits
  return Dataset(
    name=name,
    train=train,
    validation=validation,
    test=test,
    num_classes=0 if binary else spec.num_classes,
    input_kind='binary' if binary else spec.input_kind,
    vocab_size=vocab_size,
    source=source,
  )


def binary_output(name: str, binarize: bool) -> bool:
  """Whether the dataset comes out binary; rejects ``binarize`` where it makes no sense."""
  spec = registry.spec(name)
  if spec.input_kind == 'binary':
    return True
  if binarize and not spec.binarizable:
    allowed = ', '.join(n for n, s in registry.SPECS.items() if s.binarizable)
    raise ValueError(f'binarize=True applies to {allowed} (and binarized_mnist), not {name!r}.')
  return binarize
