"""The wheel ships every module, configs/ included, and runs an experiment without a checkout.

The wheel is built offline (`pip wheel --no-build-isolation`, the venv's setuptools) from a
copy of the sources, so that setuptools' build/ directory lands in a temporary directory,
not in the checkout (where stale files of an old build would also end up in the wheel).
It is unzipped, and a subprocess with only PYTHONPATH=<unzipped> and an empty working
directory imports from it: PYTHONPATH comes before the editable install of the venv.
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import json_from_python
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ('adam_jax', 'experiments', 'configs')
SOURCES = ('pyproject.toml', 'README.md', 'setup.py', 'setup.cfg', 'MANIFEST.in', 'LICENSE')


def source_modules() -> set[str]:
  """Every .py file of the project's packages, as a path inside the wheel."""
  return {
    path.relative_to(ROOT).as_posix()
    for package in PACKAGES
    for path in (ROOT / package).rglob('*.py')
    if '__pycache__' not in path.parts
  }


@pytest.fixture(scope='session')
def wheel(made_once) -> Path:
  """The project's wheel, built offline from a copy of its sources, once in the suite."""

  def build(tmp: Path) -> str:
    src = tmp / 'src'
    src.mkdir(parents=True)
    for name in SOURCES:
      if (ROOT / name).exists():
        shutil.copy2(ROOT / name, src / name)
    for package in PACKAGES:
      shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns('__pycache__'))
    cmd = [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index']
    proc = subprocess.run(
      [*cmd, '--quiet', '-w', str(tmp / 'dist'), str(src)],
      capture_output=True,
      text=True,
      timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    (found,) = (tmp / 'dist').glob('adam_jax-*.whl')
    return found.name

  folder, name = made_once('wheel', build)
  return folder / 'dist' / name


@pytest.fixture(scope='session')
def unzipped(wheel, tmp_path_factory) -> Path:
  site = tmp_path_factory.mktemp('site')
  with zipfile.ZipFile(wheel) as z:
    z.extractall(site)
  return site


def run_from(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
  """`python ARGS` in ``cwd`` with the unzipped wheel first on the path, nothing of ROOT."""
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env |= {'PYTHONPATH': str(site), 'JAX_PLATFORMS': 'cpu'}
  return subprocess.run(
    [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
  )


def test_the_wheel_holds_every_module(wheel):
  with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
  missing = source_modules() - names
  assert not missing, f'not in the wheel: {sorted(missing)}'
  assert 'configs/common.py' in names


IMPORT_SCRIPT = r"""
import importlib, json, pkgutil
import adam_jax, configs, configs.common, experiments, experiments.run, experiments.validate

files = {m.__name__: m.__file__ for m in (adam_jax, configs, configs.common, experiments,
                                          experiments.run, experiments.validate)}
validated = []
for info in pkgutil.iter_modules(configs.__path__):
  if info.name == 'common':
    continue
  module = importlib.import_module(f'configs.{info.name}')
  files[module.__name__] = module.__file__
  experiments.validate.validate(module.get_config('smoke'))
  validated.append(info.name)
print(json.dumps({'files': files, 'validated': validated}))
"""


def test_every_config_loads_and_validates_from_the_wheel(unzipped, tmp_path):
  proc = run_from(unzipped, tmp_path, '-c', IMPORT_SCRIPT)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  print('\n'.join(f'{name}: {file}' for name, file in out['files'].items()))
  for name, file in out['files'].items():
    # The unzipped copy wins over the venv's editable install of the checkout.
    assert Path(file).resolve().is_relative_to(unzipped.resolve()), (name, file)
  in_checkout = {
    p.stem for p in (ROOT / 'configs').glob('*.py') if p.name not in ('common.py', '__init__.py')
  }
  assert set(out['validated']) == in_checkout


# `python -m experiments.run ARGS`, with the venv's editable install of the checkout taken
# off the import system first: what the wheel lacks cannot come from the checkout.
WITHOUT_EDITABLE = r"""
import importlib.util, os, runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]
origin = importlib.util.find_spec('experiments.run').origin
assert origin.startswith(os.environ['PYTHONPATH']), origin
sys.argv = ['experiments.run', *sys.argv[1:]]
runpy.run_module('experiments.run', run_name='__main__', alter_sys=True)
"""


@pytest.mark.slow
def test_an_experiment_runs_from_the_wheel(unzipped, tmp_path):
  """No configs/ in the working directory: --config=configs/reddi.py is the packaged file."""
  cwd, workdir = tmp_path / 'empty', tmp_path / 'workdir'
  cwd.mkdir()
  args = ('--config=configs/reddi.py:smoke', f'--workdir={workdir}')
  proc = run_from(unzipped, cwd, '-c', WITHOUT_EDITABLE, *args)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (workdir / 'summary.json').exists()
  assert json.loads((workdir / 'summary.json').read_text())['points']
  assert not os.listdir(cwd), 'the run wrote into the working directory'


def core_distributions(wheel: Path) -> list[importlib.metadata.Distribution]:
  """The installed distributions ``pip install adam_jax`` (no extras) would bring."""
  with zipfile.ZipFile(wheel) as z:
    (name,) = [n for n in z.namelist() if n.endswith('.dist-info/METADATA')]
    metadata = email.parser.Parser().parsestr(z.read(name).decode())
  found, todo = {}, [Requirement(r) for r in metadata.get_all('Requires-Dist') or []]
  while todo:
    req = todo.pop()
    if req.marker is not None and not req.marker.evaluate({'extra': ''}):
      continue  # an extra's requirement, or one for another platform
    dist = importlib.metadata.distribution(req.name)
    key = dist.metadata['Name'].lower().replace('_', '-')
    if key not in found:
      found[key] = dist
      todo += [Requirement(r) for r in dist.requires or []]
  return list(found.values())


LIGHT_SCRIPT = r"""
import importlib.util, json
import jax, jax.numpy as jnp, optax
import adam_jax
assert adam_jax.__file__.startswith(SITE), adam_jax.__file__
params = {'w': jnp.ones((3, 2)), 'b': jnp.zeros(2)}
steps = {}
for name in adam_jax.OPTIMIZERS:
  opt = adam_jax.get_optimizer(name, learning_rate=1e-2)
  updates, _ = jax.jit(opt.update)(params, opt.init(params), params)
  steps[name] = bool(all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree.leaves(updates)))
schedule = adam_jax.warm_restarts(1e-2, 10)
absent = [m for m in ('flax', 'tensorflow', 'tensorflow_datasets', 'ml_collections', 'orbax',
                      'matplotlib') if importlib.util.find_spec(m) is not None]
errors = {}
for module in ('adam_jax.models', 'adam_jax.train', 'experiments.run', 'configs.mlp_mnist'):
  try:
    importlib.import_module(module)
  except ModuleNotFoundError as error:
    errors[module] = str(error)
print(json.dumps({'steps': steps, 'present': absent, 'errors': errors}))
"""


def test_the_library_installs_and_runs_without_the_experiments_extra(wheel, tmp_path):
  """A fresh venv holding the wheel and only the core dependencies (jax, optax, numpy and
  theirs, linked from this venv: no network): the optimizer API works, and a module that
  needs the extra says so."""
  venv = tmp_path / 'light'
  base = getattr(sys, '_base_executable', sys.executable)
  subprocess.run([base, '-m', 'venv', '--without-pip', str(venv)], check=True, timeout=120)
  (site,) = venv.glob('lib/python*/site-packages')
  with zipfile.ZipFile(wheel) as z:
    z.extractall(site)
  for dist in core_distributions(wheel):
    for top in {Path(str(f)).parts[0] for f in dist.files or []} - {'..', '__pycache__'}:
      source = Path(str(dist.locate_file(top)))
      if source.exists() and not (site / top).exists():
        (site / top).symlink_to(source)
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'} | {'JAX_PLATFORMS': 'cpu'}
  script = f'SITE = {str(site)!r}\nimport importlib\n' + LIGHT_SCRIPT
  out = json_from_python(script, env=env, cwd=tmp_path, python=venv / 'bin' / 'python')
  assert out['present'] == [], out['present']
  assert out['steps'] == {name: True for name in out['steps']} and 'swats' in out['steps']
  assert set(out['errors']) == {
    'adam_jax.models',
    'adam_jax.train',
    'experiments.run',
    'configs.mlp_mnist',
  }, out['errors']
  for message in out['errors'].values():
    assert "pip install 'adam_jax[experiments]'" in message, message
