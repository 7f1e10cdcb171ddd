"""The IDX format of MNIST and Fashion-MNIST: reading, writing, finding the four files.

Parsed with NumPy alone; TensorFlow is never imported on this path.
"""

from __future__ import annotations

import gzip
import os

import numpy as np
from absl import logging

from adam_jax.data import registry

FILES = {
  'train_images': 'train-images-idx3-ubyte',
  'train_labels': 'train-labels-idx1-ubyte',
  'test_images': 't10k-images-idx3-ubyte',
  'test_labels': 't10k-labels-idx1-ubyte',
}

# IDX type codes (http://yann.lecun.com/exdb/mnist/): all multi-byte types are big-endian.
_DTYPES = {
  0x08: np.dtype(np.uint8),
  0x09: np.dtype(np.int8),
  0x0B: np.dtype('>i2'),
  0x0C: np.dtype('>i4'),
  0x0D: np.dtype('>f4'),
  0x0E: np.dtype('>f8'),
}


class IdxFormatError(ValueError):
  """An IDX file is corrupt or is not the file it is named as."""


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
  if code not in _DTYPES:
    raise IdxFormatError(f'{path}: unknown IDX type code 0x{code:02x}.')
  header = 4 + 4 * ndim
  if len(raw) < header:
    raise IdxFormatError(f'{path}: truncated IDX header.')
  dims = tuple(int(d) for d in np.frombuffer(raw, '>u4', count=ndim, offset=4))
  dtype = _DTYPES[code]
  expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
  if len(raw) - header != expected:
    raise IdxFormatError(
      f'{path}: IDX header says {dims} of {dtype.name} ({expected} bytes) but the file '
      f'holds {len(raw) - header} bytes of data.'
    )
  return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder('='))


def idx_bytes(array: np.ndarray) -> bytes:
  """``array`` (uint8 or int32) as the bytes of an IDX file, the inverse of :func:`read_idx`.

  Examples:
    >>> import numpy as np
    >>> from adam_jax.data.idx import idx_bytes
    >>> idx_bytes(np.array([7, 2], np.uint8)).hex()
    '00000801000000020702'

  Raises:
    ValueError: For a dtype IDX files of MNIST do not use.
  """
  codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}
  if array.dtype not in codes:
    raise ValueError(f'idx_bytes: uint8 or int32 arrays only, not {array.dtype}.')
  header = bytes([0, 0, codes[array.dtype], array.ndim])
  header += np.asarray(array.shape, '>u4').tobytes()
  return header + np.ascontiguousarray(array, array.dtype.newbyteorder('>')).tobytes()


def paths(directory: str) -> dict[str, str] | None:
  """The four IDX files in ``directory`` (None if absent; a warning if only some are)."""
  if not os.path.isdir(directory):
    return None
  found = {}
  for key, base in FILES.items():
    dotted = base.replace('-idx', '.idx')  # The names some mirrors use.
    for candidate in (base, base + '.gz', dotted, dotted + '.gz'):
      if os.path.isfile(os.path.join(directory, candidate)):
        found[key] = os.path.join(directory, candidate)
        break
  if len(found) == len(FILES):
    return found
  if found:
    missing = [FILES[k] for k in FILES if k not in found]
    logging.warning('Ignoring %s: it lacks the IDX files %s.', directory, ', '.join(missing))
  return None


def find_dir(name: str, data_dir: str | None) -> str | None:
  """The first of :func:`registry.idx_dirs` that holds all four files, or None."""
  for directory in registry.idx_dirs(name, data_dir):
    if paths(directory) is not None:
      return directory
  return None


def read_splits(directory: str, spec: registry.Spec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """``{'train': (images[N, H, W, 1] uint8, labels int32), 'test': ...}`` from the files.

  Raises:
    IdxFormatError: Files of the wrong shape or dtype, or labels out of range.
  """
  found = paths(directory)
  if found is None:
    raise IdxFormatError(f'{directory}: the four IDX files are not all there.')
  splits = {}
  for split in ('train', 'test'):
    images = read_idx(found[f'{split}_images'])
    labels = read_idx(found[f'{split}_labels'])
    where = f'{found[f"{split}_images"]} / {found[f"{split}_labels"]}'
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
