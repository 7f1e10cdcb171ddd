"""The datasets of the Adam paper's experiments, as whole in-memory NumPy arrays.

:func:`load` returns a :class:`Dataset`: a training split (minus a seeded validation
subset held out of it), the validation subset and the test split, each an ``(x, y)``
pair of NumPy arrays small enough to live on the device whole. :func:`synthetic` gives
random arrays of the same shapes and dtypes, offline and instantly, for smoke runs.

One module per job: :mod:`~adam_jax.data.registry` (what each dataset is: every
difference between datasets is in its ``Spec``), :mod:`~adam_jax.data.idx` (MNIST's file
format), :mod:`~adam_jax.data.tfds_source` (TensorFlow Datasets, failing fast offline),
:mod:`~adam_jax.data.network` (the bounded probe), :mod:`~adam_jax.data.preprocess`,
:mod:`~adam_jax.data.synthetic`, :mod:`~adam_jax.data.mnist_pickle` (real MNIST from
``mnist.pkl.gz``) and :mod:`~adam_jax.data.dataset` (``Dataset`` and ``load``).
"""

from adam_jax.data.dataset import Dataset, load
from adam_jax.data.idx import IdxFormatError, read_idx
from adam_jax.data.preprocess import bag_of_words_dense, tokenize
from adam_jax.data.registry import (
  DATA_DIR_ENV,
  DATASETS,
  IMDB_VOCAB_SIZE,
  OFFLINE_ENV,
  ZCA_EPSILON,
)
from adam_jax.data.synthetic import synthetic
from adam_jax.data.tfds_source import DatasetUnavailableError

__all__ = [
  'DATASETS',
  'DATA_DIR_ENV',
  'IMDB_VOCAB_SIZE',
  'OFFLINE_ENV',
  'ZCA_EPSILON',
  'Dataset',
  'DatasetUnavailableError',
  'IdxFormatError',
  'bag_of_words_dense',
  'load',
  'read_idx',
  'synthetic',
  'tokenize',
]
