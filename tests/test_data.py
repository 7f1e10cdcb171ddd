"""Tests of adam_jax.data: IDX files, TFDS (mocked), fail-fast offline, synthetic data."""

from __future__ import annotations

import dataclasses
import gzip
import os
import socket
import struct
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from adam_jax import data
from adam_jax.data import network, preprocess, registry

FASHION_DIR = registry.DEBIAN_FASHION_MNIST_DIR

# (per-example x shape or None for bag of words, x dtype, num_classes, input_kind)
EXPECTED = {
  'mnist': ((28, 28, 1), np.float32, 10, 'image'),
  'fashion_mnist': ((28, 28, 1), np.float32, 10, 'image'),
  'cifar10': ((32, 32, 3), np.float32, 10, 'image'),
  'imdb_reviews': (None, np.int32, 2, 'bag_of_words'),
  'binarized_mnist': ((28, 28, 1), np.float32, 0, 'binary'),
}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
  """No user data directory (nor the MNIST `make install` wrote) or offline switch leaks in."""
  monkeypatch.setenv('XDG_DATA_HOME', str(tmp_path_factory.mktemp('xdg')))
  monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
  monkeypatch.delenv(data.OFFLINE_ENV, raising=False)


def write_idx(path, array: np.ndarray, *, compress: bool) -> None:
  """Writes ``array`` as an IDX file (independent of the reader under test)."""
  codes = {np.uint8: 0x08, np.int32: 0x0C}
  header = struct.pack('>BBBB', 0, 0, codes[array.dtype.type], array.ndim)
  header += struct.pack(f'>{array.ndim}I', *array.shape)
  payload = header + array.astype(array.dtype.newbyteorder('>')).tobytes()
  with (gzip.open if compress else open)(path, 'wb') as f:
    f.write(payload)


def make_idx_dir(root, name='mnist', n_train=20, n_test=10, train_gz=True, test_gz=False):
  """Tiny MNIST-like IDX files; image i of the training set has pixel [0, 0] equal to i."""
  rng = np.random.default_rng(0)
  directory = root / name
  directory.mkdir(parents=True)
  arrays = {}
  for split, n, gz in (('train', n_train, train_gz), ('t10k', n_test, test_gz)):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n)
    labels = (np.arange(n) % 10).astype(np.uint8)
    suffix = '.gz' if gz else ''
    write_idx(directory / f'{split}-images-idx3-ubyte{suffix}', images, compress=gz)
    write_idx(directory / f'{split}-labels-idx1-ubyte{suffix}', labels, compress=gz)
    arrays[split] = (images, labels)
  return arrays


# ---------------------------------------------------------------------------------------
# IDX files.


def test_idx_round_trip_and_validation_split(tmp_path):
  raw = make_idx_dir(tmp_path)
  ds = data.load('mnist', data_dir=str(tmp_path), validation_size=5, seed=0)
  assert ds.name == 'mnist' and ds.num_classes == 10 and ds.input_kind == 'image'
  assert 'IDX' in ds.source and str(tmp_path) in ds.source
  (xt, yt), (xv, yv), (xs, ys) = ds.train, ds.validation, ds.test
  assert xt.shape == (15, 28, 28, 1) and xv.shape == (5, 28, 28, 1) and xs.shape == (10, 28, 28, 1)
  for x, y in (ds.train, ds.validation, ds.test):
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0
  np.testing.assert_array_equal(xs[..., 0], raw['t10k'][0] / np.float32(255))
  np.testing.assert_array_equal(ys, raw['t10k'][1])

  # Train and validation partition the training set; pixel [0, 0] identifies each image.
  train_ids = np.rint(xt[:, 0, 0, 0] * 255).astype(int)
  val_ids = np.rint(xv[:, 0, 0, 0] * 255).astype(int)
  assert not set(train_ids) & set(val_ids)
  assert sorted([*train_ids, *val_ids]) == list(range(20))
  np.testing.assert_array_equal(xt[..., 0], raw['train'][0][train_ids] / np.float32(255))
  np.testing.assert_array_equal(yt, raw['train'][1][train_ids])
  np.testing.assert_array_equal(yv, raw['train'][1][val_ids])

  same = data.load('mnist', data_dir=str(tmp_path), validation_size=5, seed=0)
  np.testing.assert_array_equal(same.validation[0], xv)
  other = data.load('mnist', data_dir=str(tmp_path), validation_size=5, seed=1)
  other_ids = np.rint(other.validation[0][:, 0, 0, 0] * 255).astype(int)
  assert set(other_ids) != set(val_ids)


def test_idx_env_dir_dotted_names_and_binarize(tmp_path, monkeypatch):
  raw = make_idx_dir(tmp_path, name='fashion_mnist', train_gz=False, test_gz=True)
  directory = tmp_path / 'fashion_mnist'
  for f in directory.iterdir():  # The names some mirrors use: train-images.idx3-ubyte.
    f.rename(directory / f.name.replace('-idx', '.idx'))
  monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
  ds = data.load('fashion_mnist', validation_size=0, binarize=True)
  assert str(directory) in ds.source
  assert ds.input_kind == 'binary' and ds.num_classes == 0
  x, y = ds.train
  np.testing.assert_array_equal(x[..., 0], (raw['train'][0] >= 128).astype(np.float32))
  np.testing.assert_array_equal(y, np.zeros(20, np.int32))
  xv, yv = ds.validation
  assert xv.shape == (0, 28, 28, 1) and xv.dtype == np.float32
  assert yv.shape == (0,) and yv.dtype == np.int32


def test_read_idx_big_endian_int32(tmp_path):
  array = np.arange(-6, 6, dtype=np.int32).reshape(3, 4) * 100_000
  write_idx(tmp_path / 'a', array, compress=False)
  out = data.read_idx(tmp_path / 'a')
  np.testing.assert_array_equal(out, array)
  assert out.dtype == np.int32 and out.dtype.isnative


def test_corrupt_idx_gives_clear_error(tmp_path):
  make_idx_dir(tmp_path, train_gz=False)
  path = tmp_path / 'mnist' / 'train-images-idx3-ubyte'
  blob = bytearray(path.read_bytes())
  blob[0] = 0x42
  path.write_bytes(bytes(blob))
  with pytest.raises(data.IdxFormatError, match='bad magic') as info:
    data.load('mnist', data_dir=str(tmp_path), validation_size=5)
  assert str(path) in str(info.value)

  truncated = tmp_path / 'truncated'
  truncated.write_bytes(struct.pack('>BBBBIII', 0, 0, 8, 3, 2, 28, 28) + b'\0' * 100)
  with pytest.raises(data.IdxFormatError, match='bytes of data'):
    data.read_idx(truncated)
  bad_gzip = tmp_path / 'bad.gz'
  bad_gzip.write_bytes(b'\x1f\x8b' + b'garbage' * 10)
  with pytest.raises(data.IdxFormatError, match='cannot read'):
    data.read_idx(bad_gzip)


def test_idx_path_does_not_import_tensorflow(tmp_path):
  make_idx_dir(tmp_path)
  code = (
    'import sys; from adam_jax import data; '
    f'ds = data.load("mnist", data_dir={str(tmp_path)!r}, validation_size=2); '
    'assert "tensorflow" not in sys.modules, "tensorflow imported"; '
    'assert "tensorflow_datasets" not in sys.modules; print(ds.train[0].shape)'
  )
  out = subprocess.run(
    [sys.executable, '-c', code], capture_output=True, text=True, timeout=60, check=False
  )
  assert out.returncode == 0, out.stderr[-2000:]
  assert '(18, 28, 28, 1)' in out.stdout


@pytest.mark.skipif(
  not os.path.isdir(FASHION_DIR), reason=f'{FASHION_DIR} (dataset-fashion-mnist) absent'
)
def test_real_fashion_mnist_from_debian_package():
  start = time.perf_counter()
  ds = data.load('fashion_mnist', validation_size=5000)
  assert time.perf_counter() - start < 20
  assert FASHION_DIR in ds.source
  assert ds.train[0].shape == (55000, 28, 28, 1)
  assert ds.validation[0].shape == (5000, 28, 28, 1)
  assert ds.test[0].shape == (10000, 28, 28, 1)
  x, y = ds.test
  assert x.dtype == np.float32 and y.dtype == np.int32
  assert x.min() == 0.0 and x.max() == 1.0
  np.testing.assert_allclose(np.bincount(y, minlength=10) / len(y), 0.1, atol=0.02)
  np.testing.assert_allclose(np.bincount(ds.train[1], minlength=10) / 55000, 0.1, atol=0.02)

  binary = data.load('fashion_mnist', validation_size=5000, binarize=True)
  assert set(np.unique(binary.train[0])) == {0.0, 1.0}
  assert binary.input_kind == 'binary' and not binary.test[1].any()


# ---------------------------------------------------------------------------------------
# TFDS, mocked.


@pytest.fixture
def mock_tfds():
  tfds = pytest.importorskip('tensorflow_datasets')
  with tfds.testing.mock_data(num_examples=40):
    yield


def test_mock_mnist(mock_tfds):
  ds = data.load('mnist', validation_size=8, seed=3)
  assert ds.train[0].shape == (32, 28, 28, 1) and ds.validation[0].shape == (8, 28, 28, 1)
  assert ds.test[0].shape == (40, 28, 28, 1)
  assert ds.train[0].dtype == np.float32 and ds.train[1].dtype == np.int32
  assert 0 <= ds.train[0].min() and ds.train[0].max() <= 1
  assert ds.train[1].min() >= 0 and ds.train[1].max() < 10


def test_mock_cifar10_is_zca_whitened(mock_tfds):
  ds = data.load('cifar10', validation_size=8)
  x, _ = ds.train
  assert x.shape == (32, 32, 32, 3) and x.dtype == np.float32
  flat = x.reshape(len(x), -1).astype(np.float64)
  np.testing.assert_allclose(flat.mean(axis=0), 0, atol=1e-4)
  # With N < 3072 the whitened covariance is the identity on the data's (N-1)-dim span:
  # the nonzero eigenvalues (those of the N x N Gram matrix) are lambda/(lambda+eps) ~ 1.
  eigenvalues = np.sort(np.linalg.eigvalsh(flat @ flat.T / len(flat)))
  assert abs(eigenvalues[0]) < 1e-3
  np.testing.assert_allclose(eigenvalues[1:], 1.0, atol=0.02)
  # Mock train and test hold the same examples: the same transform must map them alike.
  train_idx, val_idx = preprocess.split_indices(40, 8, seed=0)
  np.testing.assert_allclose(ds.test[0][train_idx], x, atol=1e-4)
  np.testing.assert_allclose(ds.test[0][val_idx], ds.validation[0], atol=1e-4)


def test_mock_imdb_bag_of_words(mock_tfds):
  ds = data.load('imdb_reviews', validation_size=8)
  assert ds.input_kind == 'bag_of_words' and ds.num_classes == 2
  assert ds.vocab_size == data.IMDB_VOCAB_SIZE
  lengths = set()
  for ids, y in (ds.train, ds.validation, ds.test):
    assert ids.dtype == np.int32 and ids.ndim == 2 and y.dtype == np.int32
    assert ids.min() >= 0 and ids.max() <= ds.vocab_size
    lengths.add(ids.shape[1])
    for row in ids:
      words = row[row < ds.vocab_size]
      assert np.all(row[len(words) :] == ds.vocab_size)  # Padding only at the end.
      assert np.all(np.diff(words) > 0)  # Sorted and distinct.
  assert len(lengths) == 1
  ids = ds.train[0]
  assert (ids < ds.vocab_size).any()
  dense = np.asarray(jax.jit(data.bag_of_words_dense, static_argnums=1)(ids, ds.vocab_size))
  assert dense.shape == (len(ids), ds.vocab_size) and dense.dtype == np.float32
  assert set(np.unique(dense)) <= {0.0, 1.0}
  np.testing.assert_array_equal(dense.sum(axis=1), (ids < ds.vocab_size).sum(axis=1))


def test_mock_binarized_mnist(mock_tfds):
  ds = data.load('binarized_mnist', validation_size=8)
  assert ds.input_kind == 'binary' and ds.num_classes == 0
  for x, y in (ds.train, ds.validation, ds.test):
    assert x.dtype == np.float32 and x.shape[1:] == (28, 28, 1)
    assert set(np.unique(x)) <= {0.0, 1.0}
    assert y.dtype == np.int32 and not y.any()


# ---------------------------------------------------------------------------------------
# Unavailable data fails fast.


def test_unavailable_offline_fails_fast(tmp_path, monkeypatch):
  monkeypatch.setenv(data.OFFLINE_ENV, '1')
  probes = []
  monkeypatch.setattr(network, 'host_reachable', lambda *a, **k: probes.append(a) or True)
  start = time.perf_counter()
  with pytest.raises(data.DatasetUnavailableError) as info:
    data.load('cifar10', data_dir=str(tmp_path / 'missing'))
  assert time.perf_counter() - start < 10
  message = str(info.value)
  assert 'cifar10' in message and 'tfds build cifar10' in message and data.OFFLINE_ENV in message
  assert not probes  # Offline: the network is not even probed.


def test_unavailable_unreachable_fails_fast(tmp_path, monkeypatch):
  monkeypatch.setattr(network, 'host_reachable', lambda *a, **k: False)
  make_idx_dir(tmp_path)  # A partial IDX directory is ignored (with a warning).
  (tmp_path / 'mnist' / 't10k-labels-idx1-ubyte').unlink()
  start = time.perf_counter()
  with pytest.raises(data.DatasetUnavailableError) as info:
    data.load('mnist', data_dir=str(tmp_path))
  assert time.perf_counter() - start < 10
  message = str(info.value)
  assert "'mnist'" in message and 'storage.googleapis.com' in message
  assert 't10k-labels-idx1-ubyte' in message and data.DATA_DIR_ENV in message


def test_unavailable_fashion_mnist_names_debian_package(tmp_path, monkeypatch):
  no_package = dataclasses.replace(registry.SPECS['fashion_mnist'], system_dirs=())
  monkeypatch.setitem(registry.SPECS, 'fashion_mnist', no_package)
  monkeypatch.setenv(data.OFFLINE_ENV, '1')
  with pytest.raises(data.DatasetUnavailableError) as info:
    data.load('fashion_mnist', data_dir=str(tmp_path))
  message = str(info.value)
  assert 'dataset-fashion-mnist' in message and f'{data.DATA_DIR_ENV}/fashion_mnist' in message


def test_failed_download_becomes_unavailable_error(tmp_path, monkeypatch):
  tfds = pytest.importorskip('tensorflow_datasets')
  monkeypatch.setattr(network, 'host_reachable', lambda *a, **k: True)

  def download_and_prepare(self, *args, **kwargs):
    raise ConnectionError('connection reset by peer')

  monkeypatch.setattr(tfds.core.DatasetBuilder, 'download_and_prepare', download_and_prepare)
  with pytest.raises(data.DatasetUnavailableError, match='connection reset by peer') as info:
    data.load('imdb_reviews', data_dir=str(tmp_path))
  assert 'tfds build imdb_reviews' in str(info.value)


def test_host_reachable_is_bounded():
  with socket.socket() as server:
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    assert network.host_reachable('127.0.0.1', server.getsockname()[1], timeout=3)
  start = time.perf_counter()
  assert not network.host_reachable('nonexistent.invalid', 443, timeout=1)
  assert time.perf_counter() - start < 2


def test_host_reachable_gives_up_on_a_hanging_lookup(monkeypatch):
  # A DNS lookup that hangs ignores socket timeouts: the probe must not wait for it.
  def hang(*args, **kwargs):
    time.sleep(5)
    raise OSError('too late')

  monkeypatch.setattr(socket, 'create_connection', hang)
  start = time.perf_counter()
  assert not network.host_reachable('example.org', 443, timeout=0.5)
  assert time.perf_counter() - start < 2


# ---------------------------------------------------------------------------------------
# Synthetic data, names, helpers.


@pytest.mark.parametrize('name', data.DATASETS)
def test_synthetic_matches_real_shapes(name):
  shape, dtype, num_classes, kind = EXPECTED[name]
  ds = data.synthetic(name, num_train=16, num_test=8, validation_size=4)
  assert ds.source == 'synthetic' and ds.num_classes == num_classes and ds.input_kind == kind
  for (x, y), n in zip((ds.train, ds.validation, ds.test), (16, 4, 8), strict=True):
    assert x.dtype == dtype and y.dtype == np.int32 and len(x) == len(y) == n
    if shape is not None:
      assert x.shape[1:] == shape
    if kind == 'binary':
      assert set(np.unique(x)) <= {0.0, 1.0} and not y.any()
    elif kind == 'bag_of_words':
      assert ds.vocab_size == data.IMDB_VOCAB_SIZE and x.ndim == 2
      assert x.min() >= 0 and x.max() <= ds.vocab_size
    else:
      assert 0 <= y.min() and y.max() < num_classes
  binary = data.synthetic('mnist', binarize=True)
  assert binary.input_kind == 'binary' and set(np.unique(binary.train[0])) <= {0.0, 1.0}


def test_unknown_name_and_bad_arguments(tmp_path):
  for fn in (data.load, data.synthetic):
    with pytest.raises(ValueError, match='valid names: mnist, fashion_mnist, cifar10'):
      fn('svhn')
  with pytest.raises(ValueError, match='binarize'):
    data.load('cifar10', binarize=True)
  make_idx_dir(tmp_path)
  with pytest.raises(ValueError, match='validation_size'):
    data.load('mnist', data_dir=str(tmp_path), validation_size=20)


def test_bag_of_words_dense_batch_dims():
  ids = np.array([[[0, 3, 5], [5, 5, 5]], [[1, 2, 5], [4, 5, 5]]], np.int32)
  dense = np.asarray(data.bag_of_words_dense(ids, 5))
  assert dense.shape == (2, 2, 5)
  np.testing.assert_array_equal(dense[0, 0], [1, 0, 0, 1, 0])
  np.testing.assert_array_equal(dense[0, 1], 0)
  np.testing.assert_array_equal(dense.sum(-1), [[2, 0], [2, 1]])


def test_tokenize_is_robust():
  assert data.tokenize(b"Hello,<br />WORLD! don't") == ['hello', 'world', "don't"]
  assert data.tokenize(bytes(range(256))) == ['0123456789', *['abcdefghijklmnopqrstuvwxyz'] * 2]
  assert data.tokenize('caf\u00e9') == ['caf']


def test_zca_fit_covariance_branch():
  """With N > D the eigh branch whitens the covariance to λ/(λ+ε) per eigen-direction."""
  rng = np.random.default_rng(0)
  x = (rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 6))).astype(np.float32)
  mean, w = preprocess.fit_zca(x, 1e-2)
  np.testing.assert_allclose(w, w.T, atol=1e-5)
  white = ((x - mean) @ w).astype(np.float64)
  cov = np.cov(x.T, bias=True)
  lam, u = np.linalg.eigh(cov)
  np.testing.assert_allclose(
    white.T @ white / len(x), (u * (lam / (lam + 1e-2))) @ u.T, rtol=1e-3, atol=1e-4
  )
