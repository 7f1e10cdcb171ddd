"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile

import forkserver
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.run import CACHE_ENV, enable_compilation_cache

# The suite's programs compile faster than XLA:CPU's defaults would, in this process and in
# every one it starts (before any JAX backend exists); numbers compared between runs are all
# compiled alike, and a test that needs a default asks for it (compiler_options):
# - LLVM's optimization level 1, not 2: test_layers and test_models from a cold cache took
#   66 s instead of 105 s;
# - XLA's older (elemental) fusion emitters, not its MLIR ones, and LLVM code generated on
#   one thread: test_layers, test_models and test_jax_behaviour from a cold cache, one
#   process, took 60-61 s instead of 85-92 s (63 s of CPU instead of 112 s).
SUITE_XLA_FLAGS = ' '.join((
  '--xla_backend_optimization_level=1',
  '--xla_cpu_use_fusion_emitters=false',
  '--xla_cpu_parallel_codegen_split_count=1',
))  # fmt: skip
os.environ['XLA_FLAGS'] = f'{SUITE_XLA_FLAGS} {os.environ.get("XLA_FLAGS", "")}'.strip()


# One XLA compilation cache for the whole suite, in-process runs and the command-line
# subprocesses alike (they inherit the variable): a program compiles once. Per user,
# outside ~/.cache; an entry is hit only by the same program compiled with the same
# options and JAX version.
os.environ[CACHE_ENV] = os.path.join(tempfile.gettempdir(), f'adam_jax_test_xla_{os.getuid()}')
enable_compilation_cache()


def xla_flags(*flags: str) -> str:
  """XLA_FLAGS for a process the suite starts: the suite's, then ``flags``."""
  return ' '.join((SUITE_XLA_FLAGS, *flags))


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_collection_modifyitems(items):
  """Tests marked ``slow`` run first, so that ``pytest -n 2`` shares them between its
  workers instead of leaving one to finish the last long test alone."""
  items.sort(key=lambda item: item.get_closest_marker('slow') is None)


def cli_env(**extra: str) -> dict[str, str]:
  """The environment of a command a test starts: this one, the repository's root on
  PYTHONPATH, and ``extra``. The same PYTHONPATH everywhere lets one fork server per
  worker (tests/forkserver.py) serve every command: a server is per import environment."""
  return {**os.environ, 'PYTHONPATH': ROOT, **extra}


def json_from_8_cpu_devices(script: str, *argv: str):
  """Runs ``python -c script argv...`` on 8 CPU devices; returns its last line as JSON.

  A subprocess, because XLA's device count is fixed when a process starts JAX.
  """
  env = {**os.environ, 'XLA_FLAGS': xla_flags('--xla_force_host_platform_device_count=8')}
  env |= {'JAX_PLATFORMS': 'cpu', 'PYTHONPATH': ROOT}
  return json_from_python(script, *argv, env=env)


def json_from_python(script: str, *argv: str, env, cwd=ROOT, stdin=None, python=sys.executable):
  """Runs ``python -c script argv...`` (exit 0 expected); returns its last line as JSON."""
  proc = subprocess.run(
    [str(python), '-c', script, *argv],
    input=stdin,
    cwd=cwd,
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope='session')
def made_once(tmp_path_factory, request):
  """``made_once(name, make) -> (folder, value)``: ``make(folder)`` run once in the suite.

  For a run that several tests compare with (an uninterrupted reference): pytest-xdist's
  workers share it through a file lock (the first makes it, the others wait for it), and
  ``value`` is what ``make`` returned (JSON). A ``make`` that failed is tried again.
  """
  root = tmp_path_factory.getbasetemp()
  if hasattr(request.config, 'workerinput'):  # a pytest-xdist worker
    root = root.parent  # this session's folder, above each worker's own

  def get(name: str, make):
    folder, done = root / f'made_once_{name}', root / f'made_once_{name}.json'
    with open(root / f'made_once_{name}.lock', 'w') as lock:
      fcntl.flock(lock, fcntl.LOCK_EX)
      if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        done.write_text(json.dumps(make(folder)))
    return folder, json.loads(done.read_text())

  return get


def run_cli_forked(
  commands: list[list[str]], env: dict[str, str]
) -> list[subprocess.CompletedProcess]:
  """``python -m experiments.run ARGS`` for each ``ARGS`` of ``commands``, one after another.

  Each a forked child of one interpreter that imported the entry point once
  (tests/forkserver.py): a process of its own (exit status, output, files), as from the
  shell. ``env`` is every child's environment; the working directory, the repository's root.
  """
  return [forkserver.run(argv, env) for argv in commands]


@pytest.fixture
def x64():
  """Runs the test with float64 enabled (restored afterwards)."""
  with jax.enable_x64(True):
    yield


def scan_optimizer(opt: optax.GradientTransformation, grads, params0):
  """Feeds a fixed gradient sequence (leading axis: steps) to ``opt`` inside ``lax.scan``.

  Traceable (``jit``/``vmap`` it); params and grads may be pytrees. Returns the params after
  each step (stacked) and the final optimizer state.
  """

  def step(carry, g):
    params, state = carry
    updates, state = opt.update(g, state, params)
    params = optax.apply_updates(params, updates)
    return (params, state), params

  (_, state), trajectory = jax.lax.scan(step, (params0, opt.init(params0)), grads)
  return trajectory, state


def run_optimizer(opt: optax.GradientTransformation, grads, theta0) -> np.ndarray:
  """Feeds a fixed gradient sequence to ``opt``; returns theta_1..theta_T (one compiled scan)."""
  trajectory, _ = jax.jit(lambda g, t: scan_optimizer(opt, g, t))(
    jax.tree.map(jnp.asarray, grads), jax.tree.map(jnp.asarray, theta0)
  )
  return jax.tree.map(np.asarray, trajectory)


def assert_trajectories_close(actual, expected, origin=0.0, rtol=1e-10):
  """Relative agreement of two trajectories' displacements from ``origin``.

  The error of each step is divided by the largest displacement of that step, so the
  tolerance is relative to how far the optimizer moved, not to the size of theta.
  """
  actual, expected = np.asarray(actual) - origin, np.asarray(expected) - origin
  assert actual.shape == expected.shape
  assert np.all(np.isfinite(actual)), 'trajectory has non-finite values'
  scale = np.maximum(np.abs(expected).max(axis=-1, keepdims=True), 1e-300)
  err = np.abs(actual - expected) / scale
  assert err.max() <= rtol, f'max relative error {err.max():.3g} > {rtol:g} at {np.argmax(err)}'
