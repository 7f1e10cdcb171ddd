"""Epoch time of our training loop against a plain Flax/Optax loop and a PyTorch eager loop.

Run: `.venv/bin/python -m benchmarks.bench_models` (part of `make bench`). For each model
(batch 128, Adam, synthetic data of the real shapes):

- ours: `adam_jax.train.GridTrainer` with one grid point: the epoch is one compiled
  `lax.scan` over device-resident data;
- flax: the usual loop: one jitted, donated train step, minibatches gathered in NumPy and
  fed from Python (same model code, same optimizer);
- torch: `benchmarks/torch_loop.py` in the interpreter named by $TORCH_PYTHON (a venv with
  `pip install torch==2.13.0 numpy`); the column is skipped when it is not set.

Each figure is the median of --reps timed epochs after one warm-up epoch. The fraction of
peak is the epoch's FLOPs (`train.training_flops`: XLA's count of the forward pass, which
counts a convolution tap by tap, times 3 for forward and backward) divided by the
measured float32 matmul rate and by our epoch time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from adam_jax import data, models, train
from adam_jax.optimizers import adam
from experiments import optimizers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# model -> (dataset shapes, examples per timed epoch, model kwargs)
MODELS = {
  'lr': ('fashion_mnist', 55_000, dict(name='logistic_regression', num_classes=10)),
  'mlp': ('fashion_mnist', 55_000, dict(name='mlp', num_classes=10)),
  'vae': ('binary', 55_000, dict(name='vae')),
  'perez_cnn': ('fashion_mnist', 10_240, dict(name='perez_cnn', num_classes=10)),
  'cnn': ('cifar10', 5_120, dict(name='cnn', num_classes=10)),
}


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
  """Measured float32 matmul rate (FLOP/s) of this machine, median of ``reps``."""
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n))
  f = jax.jit(lambda a, b: a @ b)
  f(a, a).block_until_ready()
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    f(a, a).block_until_ready()
    times.append(time.perf_counter() - start)
  return 2 * n**3 / statistics.median(times)


def dataset_for(kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
  name = 'fashion_mnist' if kind == 'binary' else kind
  ds = data.synthetic(name, num_train=n, num_test=8, validation_size=0, binarize=kind == 'binary')
  return ds.train


def make_task(kwargs: dict, kind: str) -> train.Task:
  kwargs = dict(kwargs)
  model = models.get_model(kwargs.pop('name'), **kwargs)
  if kind == 'binary':
    return train.Task(model, 'vae', 'binary')
  return train.Task(model, 'classifier')


def time_ours(task, x, y, reps: int) -> tuple[float, int, int]:
  """Median seconds of an epoch, the model's parameter count, and the steps taken in all."""
  adam = optimizers.factory('adam')
  trainer = train.GridTrainer(task, adam, {'optimizer.learning_rate': 1e-3, 'seed': 0})
  x, y = jnp.asarray(x), jnp.asarray(y)
  state = trainer.init({}, x)
  state, m = trainer.train_epoch(state, {}, x, y, 0)
  jax.block_until_ready(m)
  times = []
  for epoch in range(1, reps + 1):
    start = time.perf_counter()
    state, m = trainer.train_epoch(state, {}, x, y, epoch)
    jax.block_until_ready(m)
    times.append(time.perf_counter() - start)
  params = sum(p.size for p in jax.tree.leaves(state.params))
  return statistics.median(times), params, int(state.step[0])


def time_flax_loop(task, x, y, reps: int, batch_size: int = 128) -> tuple[float, int]:
  """The loop most Flax/Optax users write: jit one step, feed batches from Python.

  Returns the median seconds of an epoch and the optimizer steps taken in all.
  """
  opt = adam(1e-3)
  params = task.init(jax.random.PRNGKey(0), jnp.asarray(x[:1]))
  opt_state = opt.init(params)

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def step(params, opt_state, xb, yb, key):
    def loss_fn(p):
      return jnp.mean(task.per_example(p, xb, yb, key, train=True)['loss'])

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng(0)
  key = jax.random.PRNGKey(0)

  def epoch(params, opt_state):
    perm = rng.permutation(len(x))
    for i in range(len(x) // batch_size):
      idx = perm[i * batch_size : (i + 1) * batch_size]
      params, opt_state, loss = step(params, opt_state, x[idx], y[idx], jax.random.fold_in(key, i))
    loss.block_until_ready()
    return params, opt_state

  params, opt_state = epoch(params, opt_state)
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    params, opt_state = epoch(params, opt_state)
    times.append(time.perf_counter() - start)
  return statistics.median(times), int(optax.tree.get(opt_state, 'count'))


def time_torch(model: str, examples: int, reps: int) -> float | None:
  python = os.environ.get('TORCH_PYTHON')
  if not python:
    return None
  times = []
  for _ in range(reps):
    out = subprocess.run(
      [
        python,
        os.path.join(ROOT, 'benchmarks', 'torch_loop.py'),
        '--model',
        model,
        '--examples',
        str(examples),
        '--threads',
        str(os.cpu_count()),
      ],
      check=True,
      capture_output=True,
      text=True,
    )
    times.append(json.loads(out.stdout.strip().splitlines()[-1])['seconds'])
  return statistics.median(times)


def run_cold(*args: str) -> float:
  """Wall seconds of ``python -m experiments.run ARGS --workdir=<a fresh folder>``.

  A fresh process with no compilation cache (ours or JAX's), so that start-up and
  compiles are timed too.
  """
  env = {k: v for k, v in os.environ.items() if k != 'JAX_COMPILATION_CACHE_DIR'}
  env['ADAM_JAX_COMPILATION_CACHE'] = 'off'
  with tempfile.TemporaryDirectory() as workdir:
    start = time.perf_counter()
    subprocess.run(
      [sys.executable, '-m', 'experiments.run', *args, f'--workdir={workdir}'],
      cwd=ROOT,
      env=env,
      check=True,
      capture_output=True,
    )
    return time.perf_counter() - start


def startup_seconds() -> float:
  """Wall time of `make run`'s experiment cut to one epoch: imports, data, compiles."""
  return run_cold(
    '--config=configs/lr_mnist.py',
    '--config.dataset.name=fashion_mnist',
    '--config.num_epochs=1',
    '--config.sweep.optimizer.name=("adam", "adamax", "amsgrad", "nadam", "nesterov", "adagrad")',
  )


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--models', default=','.join(MODELS))
  parser.add_argument('--reps', type=int, default=3)
  parser.add_argument('--no-startup', action='store_true', help="skip make run's start-up")
  args = parser.parse_args()
  size = 2048 if jax.default_backend() == 'cpu' else 8192
  peak = matmul_peak(size)
  print(
    f'machine: {os.cpu_count()} cores, {platform.machine()}, jax {jax.__version__}, '
    f'{jax.devices()[0].device_kind}; float32 matmul peak {peak / 1e9:.0f} GFLOP/s ({size}², '
    'default precision: TF32 on NVIDIA GPUs)'
  )
  print(
    '| model | examples | GFLOP/epoch | ours (s) | flax loop (s) | torch eager (s) | '
    'ours/flax | ours/torch | ours/peak | torch/peak |'
  )
  print('|---|---|---|---|---|---|---|---|---|---|')
  for name in args.models.split(','):
    kind, n, kwargs = MODELS[name]
    x, y = dataset_for(kind, n)
    task = make_task(kwargs, kind)
    ours = time_ours(task, x, y, args.reps)[0]
    flax_s = time_flax_loop(task, x, y, args.reps)[0]
    torch_s = time_torch(name, n, args.reps)
    flops = train.training_flops(task, jnp.asarray(x[:1]), 128) * (n // 128)
    torch_cells = (
      (f'{torch_s:.3g}', f'{ours / torch_s:.2f}', f'{100 * flops / peak / torch_s:.0f}%')
      if torch_s
      else ('n/a',) * 3
    )
    print(
      f'| {name} | {n} | {flops / 1e9:.0f} | {ours:.3g} | {flax_s:.3g} | {torch_cells[0]} | '
      f'{ours / flax_s:.2f} | {torch_cells[1]} | {100 * flops / peak / ours:.0f}% | '
      f'{torch_cells[2]} |',
      flush=True,
    )
  if not args.no_startup:
    print(f'start-up of make run (1 epoch, 36 grid points, 6 programs): {startup_seconds():.1f} s')


if __name__ == '__main__':
  main()
