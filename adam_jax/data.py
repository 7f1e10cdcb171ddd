"""The datasets of the Adam paper's experiments, as whole in-memory NumPy arrays.

:func:`load` returns a :class:`Dataset`: a training split (minus a seeded validation
subset held out of it), the validation subset and the test split, each an ``(x, y)``
pair of NumPy arrays small enough to live on the device whole.

Where the data comes from, in order:

1. ``mnist`` and ``fashion_mnist``: the four standard IDX files
   (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
   ``t10k-labels-idx1-ubyte``, each gzipped or not) in ``<data_dir>/<name>/``, then
   ``$ADAM_JAX_DATA_DIR/<name>/``, then (Fashion-MNIST only) Debian's
   ``dataset-fashion-mnist`` package in ``/usr/share/datasets/fashion-mnist``. They are
   parsed with NumPy; TensorFlow is never imported on this path.
2. TensorFlow Datasets (``tfds.builder(name, data_dir=data_dir)``): prepared data is read
   directly. Unprepared data is downloaded only if the download host answers within
   seconds (and ``$ADAM_JAX_OFFLINE`` is unset); otherwise :class:`DatasetUnavailableError`
   says how to provide the data, instead of TFDS retrying the network for minutes.

:func:`synthetic` gives random arrays of the same shapes and dtypes, offline and
instantly, for smoke runs.
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import os
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from adam_jax import _extras

DATASETS: tuple[str, ...] = ('mnist', 'fashion_mnist', 'cifar10', 'imdb_reviews', 'binarized_mnist')

IMDB_VOCAB_SIZE = 10_000
"""Size of the IMDB bag-of-words vocabulary (the most frequent training words)."""

ZCA_EPSILON = 1e-2
"""ε added to the covariance eigenvalues in CIFAR-10's ZCA whitening (pixels in [0, 1])."""

DATA_DIR_ENV = 'ADAM_JAX_DATA_DIR'
OFFLINE_ENV = 'ADAM_JAX_OFFLINE'
DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'

_REACHABILITY_TIMEOUT_S = 3.0
_TFDS_BATCH = 1024
_SYNTHETIC_IMDB_LENGTH = 100

_IDX_FILES = {
  'train_images': 'train-images-idx3-ubyte',
  'train_labels': 'train-labels-idx1-ubyte',
  'test_images': 't10k-images-idx3-ubyte',
  'test_labels': 't10k-labels-idx1-ubyte',
}

# IDX type codes (http://yann.lecun.com/exdb/mnist/): all multi-byte types are big-endian.
_IDX_DTYPES = {
  0x08: np.dtype(np.uint8),
  0x09: np.dtype(np.int8),
  0x0B: np.dtype('>i2'),
  0x0C: np.dtype('>i4'),
  0x0D: np.dtype('>f4'),
  0x0E: np.dtype('>f8'),
}


@dataclasses.dataclass(frozen=True)
class _Spec:
  shape: tuple[int, ...]  # per-example shape of x (images only)
  num_classes: int
  input_kind: str
  download_url: str  # what TFDS downloads; its host is probed before downloading
  has_idx: bool = False


_SPECS = {
  'mnist': _Spec(
    (28, 28, 1), 10, 'image', 'https://storage.googleapis.com/cvdf-datasets/mnist/', True
  ),
  'fashion_mnist': _Spec(
    (28, 28, 1), 10, 'image', 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/', True
  ),
  'cifar10': _Spec(
    (32, 32, 3), 10, 'image', 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'
  ),
  'imdb_reviews': _Spec(
    (), 2, 'bag_of_words', 'http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz'
  ),
  'binarized_mnist': _Spec(
    (28, 28, 1), 0, 'binary', 'http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/'
  ),
}


class DatasetUnavailableError(RuntimeError):
  """A dataset is neither on this machine nor downloadable now.

  The message names the dataset, says why, and lists the ways to provide it.
  """


class IdxFormatError(ValueError):
  """An IDX file is corrupt or is not the file it is named as."""


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


# ---------------------------------------------------------------------------------------
# Public entry points.


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
  spec = _spec(name)
  binary = _check_binarize(name, binarize)
  start = time.perf_counter()
  splits = None
  if spec.has_idx:
    directory = _find_idx_dir(name, data_dir)
    if directory is not None:
      splits = _read_idx_splits(directory, spec)
      source = f'{directory} (IDX)'
  if splits is None:
    splits, source = _read_tfds(name, data_dir)

  train_raw, test_raw = splits['train'], splits['test']
  train_idx, val_idx = _split_indices(len(train_raw[1]), validation_size, seed)

  def take(pair: tuple[Any, np.ndarray], idx: np.ndarray) -> tuple[Any, np.ndarray]:
    x, y = pair
    return ([x[i] for i in idx] if isinstance(x, list) else x[idx]), y[idx]

  train, validation = take(train_raw, train_idx), take(train_raw, val_idx)
  test = test_raw
  vocab_size = 0
  if spec.input_kind == 'bag_of_words':
    train, validation, test = _bag_of_words_splits(train, validation, test)
    vocab_size = IMDB_VOCAB_SIZE
  elif binary:
    train, validation, test = (_binary_split(s) for s in (train, validation, test))
    source += ', binarized at 0.5' if name != 'binarized_mnist' else ''
  else:
    train, validation, test = (_image_split(s) for s in (train, validation, test))
    if name == 'cifar10':
      train, validation, test = _zca_splits(train, validation, test)
      source += f', ZCA-whitened (eps={ZCA_EPSILON:g})'

  dataset = _dataset(name, spec, binary, (train, validation, test), vocab_size, source)
  logging.info('Loaded %r in %.1f s.', dataset, time.perf_counter() - start)
  return dataset


def synthetic(
  name: str,
  *,
  num_train: int = 128,
  num_test: int = 128,
  validation_size: int = 64,
  seed: int = 0,
  binarize: bool = False,
) -> Dataset:
  """Random data with the shapes, dtypes and kinds :func:`load` gives (offline, instant).

  For smoke runs. The inputs depend weakly on the labels (a per-class pattern under
  noise), so a model can lower its loss on them. ``cifar10`` inputs are roughly
  standard normal (like whitened data); ``imdb_reviews`` rows have up to
  100 distinct ids each, with ``vocab_size =`` :data:`IMDB_VOCAB_SIZE`.

  Args:
    name: one of :data:`DATASETS`.
    num_train: number of examples in ``train`` (the validation ones are extra).
    num_test: number of examples in ``test``.
    validation_size: number of examples in ``validation``.
    seed: seed of the random arrays.
    binarize: as in :func:`load`.

  Returns:
    A :class:`Dataset` whose ``source`` is ``'synthetic'``.
  """
  spec = _spec(name)
  binary = _check_binarize(name, binarize)
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
      return _synthetic_bag_of_words(rng, y), y
    noise = rng.random((n, *spec.shape), dtype=np.float32)
    x = 0.5 * noise + 0.5 * patterns[y]
    if binary:
      return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32), y
    if name == 'cifar10':
      return ((x - 0.5) / 0.2).astype(np.float32), y
    return x, y

  splits = make(num_train), make(validation_size), make(num_test)
  vocab_size = IMDB_VOCAB_SIZE if spec.input_kind == 'bag_of_words' else 0
  return _dataset(name, spec, binary, splits, vocab_size, 'synthetic')


def _dataset(name: str, spec: _Spec, binary: bool, splits, vocab_size: int, source: str) -> Dataset:
  """A Dataset of (train, validation, test); binarized data is unlabeled ('binary')."""
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


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
  """Reads an IDX file (the MNIST / Fashion-MNIST format), gzipped or not.

  The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C
  int32, 0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a
  big-endian uint32; the big-endian data follows.

  Args:
    path: the file; gzip is recognised by its magic bytes, not its name.

  Returns:
    The array, in native byte order.

  Raises:
    IdxFormatError: bad magic, unknown type code, truncated or oversized data, or a
      corrupt gzip stream.
  """
  path = os.fspath(path)
  try:
    with open(path, 'rb') as f:
      raw = f.read()
    if raw[:2] == b'\x1f\x8b':
      raw = gzip.decompress(raw)
  except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError.
    raise IdxFormatError(f'{path}: cannot read ({e}).') from e
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
    raise IdxFormatError(
      f'{path}: not an IDX file (bad magic {raw[:4].hex() or "<empty>"}; expected 0000TTNN).'
    )
  code, ndim = raw[2], raw[3]
  if code not in _IDX_DTYPES:
    raise IdxFormatError(f'{path}: unknown IDX type code 0x{code:02x}.')
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise IdxFormatError(f'{path}: truncated IDX header.')
  dims = tuple(int(d) for d in np.frombuffer(raw, '>u4', count=ndim, offset=4))
  dtype = _IDX_DTYPES[code]
  expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
  if len(raw) - header != expected:
    raise IdxFormatError(
      f'{path}: IDX header says {dims} of {dtype.name} ({expected} bytes) but the file '
      f'holds {len(raw) - header} bytes of data.'
    )
  return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder('='))


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


# ---------------------------------------------------------------------------------------
# Names, splits, preprocessing.


def _spec(name: str) -> _Spec:
  if name not in _SPECS:
    raise ValueError(f'Unknown dataset {name!r}; valid names: {", ".join(DATASETS)}.')
  return _SPECS[name]


def _check_binarize(name: str, binarize: bool) -> bool:
  """Whether the dataset comes out binary; rejects ``binarize`` where it makes no sense."""
  if name == 'binarized_mnist':
    return True
  if binarize and name not in ('mnist', 'fashion_mnist'):
    raise ValueError(
      f'binarize=True applies to mnist, fashion_mnist (and binarized_mnist), not {name!r}.'
    )
  return binarize


def _split_indices(n: int, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Sorted (train, validation) indices: a seeded random ``validation_size`` subset held out."""
  if not 0 <= validation_size < n:
    raise ValueError(
      f'validation_size={validation_size} must be in [0, {n - 1}]: the training split has '
      f'{n} examples and at least one must stay for training.'
    )
  perm = np.random.default_rng(seed).permutation(n)
  return np.sort(perm[validation_size:]), np.sort(perm[:validation_size])


def _image_split(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
  x, y = pair
  return x.astype(np.float32) / np.float32(255), y.astype(np.int32)


def _binary_split(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
  """{0, 1} images: data already in {0, 1} is kept; 0..255 pixels are thresholded at 128."""
  x, y = pair
  x = x if x.size and x.max() <= 1 else x >= 128
  return x.astype(np.float32), np.zeros(len(y), np.int32)


def _zca_splits(
  *splits: tuple[np.ndarray, np.ndarray], epsilon: float = ZCA_EPSILON
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
  """ZCA whitening fitted on the first split's x and applied to every split's x."""
  mean, w = _fit_zca(splits[0][0], epsilon)
  return tuple((_apply_zca(x, mean, w), y) for x, y in splits)


def _fit_zca(x: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
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


def _apply_zca(x: np.ndarray, mean: np.ndarray, w: np.ndarray) -> np.ndarray:
  n = x.shape[0]
  flat = x.reshape(n, -1)
  out = np.empty_like(flat, dtype=np.float32)
  for i in range(0, n, 4096):
    out[i : i + 4096] = (flat[i : i + 4096] - mean) @ w
  return out.reshape(x.shape)


def _bag_of_words_splits(
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


def _synthetic_bag_of_words(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
  """Rows of up to 100 sorted distinct ids; half of each row from a label-specific range."""
  ids = np.full((len(y), _SYNTHETIC_IMDB_LENGTH), IMDB_VOCAB_SIZE, np.int32)
  for i, label in enumerate(y):
    k = int(rng.integers(1, _SYNTHETIC_IMDB_LENGTH + 1))
    common = rng.integers(0, IMDB_VOCAB_SIZE, k - k // 2)
    marked = 100 * int(label) + rng.integers(0, 100, k // 2)
    row = np.unique(np.concatenate([common, marked]))
    ids[i, : len(row)] = row
  return ids


# ---------------------------------------------------------------------------------------
# IDX files (MNIST, Fashion-MNIST).


def _idx_dirs(name: str, data_dir: str | None) -> list[str]:
  dirs = []
  if data_dir:
    dirs.append(os.path.join(data_dir, name))
  if os.environ.get(DATA_DIR_ENV):
    dirs.append(os.path.join(os.environ[DATA_DIR_ENV], name))
  if name == 'fashion_mnist':
    dirs.append(DEBIAN_FASHION_MNIST_DIR)
  return dirs


def _idx_paths(directory: str) -> dict[str, str] | None:
  """The four IDX files in ``directory`` (None if absent; a warning if only some are)."""
  if not os.path.isdir(directory):
    return None
  found = {}
  for key, base in _IDX_FILES.items():
    dotted = base.replace('-idx', '.idx')  # The names some mirrors use.
    for candidate in (base, base + '.gz', dotted, dotted + '.gz'):
      if os.path.isfile(os.path.join(directory, candidate)):
        found[key] = os.path.join(directory, candidate)
        break
  if len(found) == len(_IDX_FILES):
    return found
  if found:
    missing = [_IDX_FILES[k] for k in _IDX_FILES if k not in found]
    logging.warning('Ignoring %s: it lacks the IDX files %s.', directory, ', '.join(missing))
  return None


def _find_idx_dir(name: str, data_dir: str | None) -> str | None:
  for directory in _idx_dirs(name, data_dir):
    if _idx_paths(directory) is not None:
      return directory
  return None


def _read_idx_splits(directory: str, spec: _Spec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  paths = _idx_paths(directory)
  assert paths is not None
  splits = {}
  for split, prefix in (('train', 'train'), ('test', 'test')):
    images = read_idx(paths[f'{prefix}_images'])
    labels = read_idx(paths[f'{prefix}_labels'])
    where = f'{paths[f"{prefix}_images"]} / {paths[f"{prefix}_labels"]}'
    if images.ndim != 3 or images.shape[1:] != spec.shape[:2] or images.dtype != np.uint8:
      raise IdxFormatError(
        f'{where}: expected uint8 images of shape (N, {spec.shape[0]}, {spec.shape[1]}), got '
        f'{images.dtype} {images.shape}.'
      )
    if labels.ndim != 1 or len(labels) != len(images):
      raise IdxFormatError(
        f'{where}: expected {len(images)} labels, got an array of shape {labels.shape}.'
      )
    if labels.size and (labels.min() < 0 or labels.max() >= spec.num_classes):
      raise IdxFormatError(f'{where}: labels outside [0, {spec.num_classes}).')
    splits[split] = (images[..., None], labels.astype(np.int32))
  return splits


# ---------------------------------------------------------------------------------------
# TensorFlow Datasets.


def _read_tfds(name: str, data_dir: str | None) -> tuple[dict[str, tuple[Any, np.ndarray]], str]:
  """Train and test splits from TFDS, preparing the data first only if it can be downloaded.

  Reading is attempted before anything else: under ``tfds.testing.mock_data`` the
  builder is never "prepared" (``is_prepared()`` is False) yet ``as_dataset`` yields mock
  examples, while for real unprepared data ``as_dataset`` raises ``AssertionError`` at
  once. Only then are reachability and ``download_and_prepare`` tried.
  """
  try:
    _extras.require(__name__, 'tensorflow_datasets', 'tensorflow')
    import tensorflow_datasets as tfds  # noqa: PLC0415 (slow import, only needed here)
  except ImportError as e:
    raise DatasetUnavailableError(
      _unavailable_message(name, f'tensorflow_datasets cannot be imported ({e})', data_dir)
      + '\n  - or install it: pip install tensorflow-datasets importlib_resources'
    ) from e

  builder = tfds.builder(name, data_dir=data_dir)
  try:
    datasets = _tfds_datasets(builder)
  except AssertionError:
    if builder.is_prepared():
      raise
    _prepare(builder, name, data_dir)
    datasets = _tfds_datasets(builder)
  splits = {split: _tfds_arrays(tfds, ds, name) for split, ds in datasets.items()}
  return splits, f'tfds ({builder.data_dir})'


def _tfds_datasets(builder: Any) -> dict[str, Any]:
  return {
    split: builder.as_dataset(split=split, batch_size=_TFDS_BATCH, shuffle_files=False)
    for split in ('train', 'test')
  }


def _tfds_arrays(tfds: Any, ds: Any, name: str) -> tuple[Any, np.ndarray]:
  """Concatenates the batches of a TFDS split (iterating: ``batch_size=-1`` crashes mocks)."""
  xs, ys = [], []
  for batch in tfds.as_numpy(ds):
    if name == 'imdb_reviews':
      xs.extend(bytes(t) for t in batch['text'])
    else:
      xs.append(batch['image'])
    n = len(batch['text'] if name == 'imdb_reviews' else batch['image'])
    ys.append(batch['label'] if 'label' in batch else np.zeros(n, np.int64))
  y = np.concatenate(ys).astype(np.int32) if ys else np.zeros(0, np.int32)
  if name == 'imdb_reviews':
    return xs, y
  x = np.concatenate(xs) if xs else np.zeros((0, *_SPECS[name].shape), np.uint8)
  return x, y


def _prepare(builder: Any, name: str, data_dir: str | None) -> None:
  """Downloads and prepares ``builder``'s data, or raises DatasetUnavailableError fast."""
  root = getattr(builder, 'data_dir_root', None) or data_dir
  if os.environ.get(OFFLINE_ENV, '').strip().lower() not in ('', '0', 'false', 'no'):
    reason = f'it is not prepared in {root} and {OFFLINE_ENV} is set (no downloads)'
    raise DatasetUnavailableError(_unavailable_message(name, reason, root))
  url = _SPECS[name].download_url
  address = _probe_address(url)
  if not _host_reachable(*address, timeout=_REACHABILITY_TIMEOUT_S):
    reason = (
      f'it is not prepared in {root} and its download host {address[0]}:{address[1]} '
      f'(for {url}) does not answer within {_REACHABILITY_TIMEOUT_S:g} s'
    )
    raise DatasetUnavailableError(_unavailable_message(name, reason, root))
  logging.info('Downloading and preparing %s into %s (once).', name, root)
  try:
    builder.download_and_prepare()
  except Exception as e:
    reason = f'downloading and preparing it into {root} failed ({type(e).__name__}: {e})'
    raise DatasetUnavailableError(_unavailable_message(name, reason, root)) from e


def _probe_address(url: str) -> tuple[str, int]:
  """The host and port a download of ``url`` connects to first (its proxy, if one is set)."""
  parsed = urllib.parse.urlsplit(url)
  host = parsed.hostname or ''
  port = parsed.port or (443 if parsed.scheme == 'https' else 80)
  proxy = urllib.request.getproxies().get(parsed.scheme)
  if proxy and not urllib.request.proxy_bypass(host):
    proxy_url = urllib.parse.urlsplit(proxy if '://' in proxy else f'http://{proxy}')
    if proxy_url.hostname:
      return proxy_url.hostname, proxy_url.port or (443 if proxy_url.scheme == 'https' else 80)
  return host, port


def _host_reachable(host: str, port: int, timeout: float) -> bool:
  """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds.

  The probe runs in a daemon thread so that a hanging DNS lookup (which ignores socket
  timeouts) cannot hold the caller longer than ``timeout``.
  """
  result: list[bool] = []

  def probe() -> None:
    try:
      with socket.create_connection((host, port), timeout=timeout):
        result.append(True)
    except OSError:
      result.append(False)

  thread = threading.Thread(target=probe, daemon=True)
  thread.start()
  thread.join(timeout)
  return bool(result and result[0])


def _unavailable_message(name: str, reason: str, root: str | None) -> str:
  root = root or '~/tensorflow_datasets'
  lines = [f'Dataset {name!r} is not available: {reason}.', 'To provide it, do one of:']
  if _SPECS[name].has_idx:
    files = ', '.join(_IDX_FILES.values())
    lines.append(
      f'  - put the four IDX files ({files}; gzipped or not) in ${DATA_DIR_ENV}/{name}/ '
      f'or <data_dir>/{name}/;'
    )
    if name == 'fashion_mnist':
      lines.append(
        "  - install Debian's package (apt-get install dataset-fashion-mnist): it is found "
        f'in {DEBIAN_FASHION_MNIST_DIR} without configuration;'
      )
  lines += [
    f'  - connect to the internet (and unset {OFFLINE_ENV}) and rerun: TFDS downloads and '
    f'prepares it once into {root};',
    f'  - on a connected machine run `tfds build {name} --data_dir=DIR`, then copy DIR/{name} '
    f'to {root}/{name} here (or pass data_dir=DIR / set TFDS_DATA_DIR=DIR).',
  ]
  return '\n'.join(lines)
