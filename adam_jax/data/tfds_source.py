"""TensorFlow Datasets: prepared data is read; unprepared data downloads only if it can.

Unprepared data is downloaded only if the download host answers within seconds (and
``$ADAM_JAX_OFFLINE`` is unset); otherwise :class:`DatasetUnavailableError` says how to
provide the data, instead of TFDS retrying the network for minutes.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from absl import logging

from adam_jax import _extras
from adam_jax.data import idx, network, registry

REACHABILITY_TIMEOUT_S = 3.0
_BATCH = 1024


class DatasetUnavailableError(RuntimeError):
  """A dataset is neither on this machine nor downloadable now.

  The message names the dataset, says why, and lists the ways to provide it.
  """


def read(name: str, data_dir: str | None) -> tuple[dict[str, tuple[Any, np.ndarray]], str]:
  """Train and test splits from TFDS, preparing the data first only if it can be downloaded.

  Reading is attempted before anything else: under ``tfds.testing.mock_data`` the
  builder is never "prepared" (``is_prepared()`` is False) yet ``as_dataset`` yields mock
  examples, while for real unprepared data ``as_dataset`` raises ``AssertionError`` at
  once. Only then are reachability and ``download_and_prepare`` tried.

  Raises:
    DatasetUnavailableError: TFDS is not installed, or the data is not prepared and
      cannot be downloaded now.
  """
  try:
    _extras.require('adam_jax.data', 'tensorflow_datasets', 'tensorflow')
    import tensorflow_datasets as tfds  # noqa: PLC0415 (slow import, only needed here)
  except ImportError as e:
    raise DatasetUnavailableError(
      unavailable_message(name, f'tensorflow_datasets cannot be imported ({e})', data_dir)
      + '\n  - or install it: pip install tensorflow-datasets importlib_resources'
    ) from e

  builder = tfds.builder(name, data_dir=data_dir)
  try:
    datasets = _datasets(builder)
  except AssertionError:
    if builder.is_prepared():
      raise
    _prepare(builder, name, data_dir)
    datasets = _datasets(builder)
  spec = registry.spec(name)
  splits = {split: _arrays(tfds, ds, spec) for split, ds in datasets.items()}
  return splits, f'tfds ({builder.data_dir})'


def _datasets(builder: Any) -> dict[str, Any]:
  return {
    split: builder.as_dataset(split=split, batch_size=_BATCH, shuffle_files=False)
    for split in ('train', 'test')
  }


def _arrays(tfds: Any, ds: Any, spec: registry.Spec) -> tuple[Any, np.ndarray]:
  """Concatenates the batches of a TFDS split (iterating: ``batch_size=-1`` crashes mocks)."""
  key = 'text' if spec.tfds_text else 'image'
  xs, ys = [], []
  for batch in tfds.as_numpy(ds):
    if spec.tfds_text:
      xs.extend(bytes(t) for t in batch[key])
    else:
      xs.append(batch[key])
    n = len(batch[key])
    ys.append(batch['label'] if 'label' in batch else np.zeros(n, np.int64))
  y = np.concatenate(ys).astype(np.int32) if ys else np.zeros(0, np.int32)
  if spec.tfds_text:
    return xs, y
  x = np.concatenate(xs) if xs else np.zeros((0, *spec.shape), np.uint8)
  return x, y


def offline() -> bool:
  """Whether ``$ADAM_JAX_OFFLINE`` forbids downloads."""
  return os.environ.get(registry.OFFLINE_ENV, '').strip().lower() not in ('', '0', 'false', 'no')


def _prepare(builder: Any, name: str, data_dir: str | None) -> None:
  """Downloads and prepares ``builder``'s data, or raises DatasetUnavailableError fast."""
  root = getattr(builder, 'data_dir_root', None) or data_dir
  if offline():
    reason = f'it is not prepared in {root} and {registry.OFFLINE_ENV} is set (no downloads)'
    raise DatasetUnavailableError(unavailable_message(name, reason, root))
  url = registry.spec(name).download_url
  address = network.probe_address(url)
  if not network.host_reachable(*address, timeout=REACHABILITY_TIMEOUT_S):
    reason = (
      f'it is not prepared in {root} and its download host {address[0]}:{address[1]} '
      f'(for {url}) does not answer within {REACHABILITY_TIMEOUT_S:g} s'
    )
    raise DatasetUnavailableError(unavailable_message(name, reason, root))
  logging.info('Downloading and preparing %s into %s (once).', name, root)
  try:
    builder.download_and_prepare()
  except Exception as e:
    reason = f'downloading and preparing it into {root} failed ({type(e).__name__}: {e})'
    raise DatasetUnavailableError(unavailable_message(name, reason, root)) from e


def unavailable_message(name: str, reason: str, root: str | None) -> str:
  """Why ``name`` cannot be had, and every way to provide it."""
  spec = registry.spec(name)
  root = root or '~/tensorflow_datasets'
  lines = [f'Dataset {name!r} is not available: {reason}.', 'To provide it, do one of:']
  lines += [f'  - {way};' for way in spec.provide]
  if spec.idx:
    files = ', '.join(idx.FILES.values())
    lines.append(
      f'  - put the four IDX files ({files}; gzipped or not) in ${registry.DATA_DIR_ENV}/'
      f'{name}/, {registry.user_data_dir()}/{name}/ or <data_dir>/{name}/;'
    )
  lines += [
    f'  - connect to the internet (and unset {registry.OFFLINE_ENV}) and rerun: TFDS downloads '
    f'and prepares it once into {root};',
    f'  - on a connected machine run `tfds build {name} --data_dir=DIR`, then copy DIR/{name} '
    f'to {root}/{name} here (or pass data_dir=DIR / set TFDS_DATA_DIR=DIR).',
  ]
  return '\n'.join(lines)
