"""Sweeps as one program: what a grid of G points costs against one run.

Run: `.venv/bin/python -m benchmarks.bench_sweep [--sizes 1,2,4,8,16,32] [--models lr,mlp,vae]`
(or `make bench`). Needs Fashion-MNIST (Debian's dataset-fashion-mnist or the IDX files).

1. End to end (`--end-to-end`): `python -m experiments.run` of the logistic-regression
   experiment (§6.1, Adam, α/√t) on Fashion-MNIST, one run against an 8-point
   learning-rate sweep, each as a fresh process (start-up, data, compile, training,
   evaluation, files); the ratio of wall times.
2. Grid size against time: seconds per epoch of the vmapped GridTrainer for G points, for
   LR, the MLP (2x1000) and the VAE; the second epoch is timed (the first compiles).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from adam_jax import data, models, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def end_to_end(epochs: int) -> tuple[float, float]:
  """Wall seconds of one run and of an 8-point learning-rate sweep (fresh processes)."""
  base = [
    sys.executable,
    '-m',
    'experiments.run',
    '--config=configs/lr_mnist.py',
    '--config.dataset.name=fashion_mnist',
    f'--config.num_epochs={epochs}',
    '--config.checkpoint.every_epochs=0',
  ]
  times = []
  for sweep in (
    ['--config.sweep.optimizer.name=("adam",)', '--config.sweep.optimizer.learning_rate=(0.03,)'],
    [
      '--config.sweep.optimizer.name=("adam",)',
      '--sweep=optimizer.learning_rate=0.003,0.01,0.03,0.1,0.3,1.0,3.0,10.0',
    ],
  ):
    with tempfile.TemporaryDirectory() as workdir:
      start = time.perf_counter()
      subprocess.run(
        [*base, *sweep, f'--workdir={workdir}'], cwd=ROOT, check=True, capture_output=True
      )
      times.append(time.perf_counter() - start)
  return times[0], times[1]


def task_for(name: str, dataset: data.Dataset) -> train.Task:
  if name == 'lr':
    return train.Task(models.get_model('logistic_regression', num_classes=10), 'classifier')
  if name == 'mlp':
    return train.Task(models.get_model('mlp', num_classes=10), 'classifier')
  return train.Task(models.get_model('vae', output_shape=dataset.input_shape), 'vae', 'binary')


def epoch_seconds(name: str, size: int, datasets: dict[str, data.Dataset]) -> float:
  dataset = datasets['binary' if name == 'vae' else 'image']
  x, y = (jnp.asarray(a) for a in dataset.train)
  trainer = train.GridTrainer(
    task_for(name, dataset),
    'adam',
    {'optimizer.learning_rate': 1e-3, 'seed': 0},
    swept=('optimizer.learning_rate',),
  )
  points = [{'optimizer.learning_rate': lr} for lr in np.geomspace(1e-4, 1e-2, size)]
  grid = train.grid_arrays(points, trainer.swept)
  state = trainer.init(grid, x)
  state, m = trainer.train_epoch(state, grid, x, y, 0)  # compiles
  jax.block_until_ready(m)
  start = time.perf_counter()
  state, m = trainer.train_epoch(state, grid, x, y, 1)
  jax.block_until_ready(m)
  return time.perf_counter() - start


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--sizes', default='1,2,4,8,16,32')
  parser.add_argument('--models', default='lr,mlp,vae')
  parser.add_argument('--end-to-end', action='store_true')
  parser.add_argument('--epochs', type=int, default=10)
  args = parser.parse_args()
  print(f'{os.cpu_count()} cores; jax {jax.__version__}; {jax.devices()[0].device_kind}')
  if args.end_to_end:
    one, eight = end_to_end(args.epochs)
    print(
      f'LR on Fashion-MNIST, {args.epochs} epochs: one run {one:.1f} s, '
      f'8-point sweep {eight:.1f} s, ratio {eight / one:.2f}'
    )
  datasets = {
    'image': data.load('fashion_mnist'),
    'binary': data.load('fashion_mnist', binarize=True),
  }
  sizes = [int(s) for s in args.sizes.split(',')]
  print('| model | ' + ' | '.join(f'G={s}' for s in sizes) + ' |')
  print('|---|' + '---|' * len(sizes))
  for name in args.models.split(','):
    cells = []
    for size in sizes:
      seconds = epoch_seconds(name, size, datasets)
      cells.append(f'{seconds:.2f} s ({seconds / size:.2f})')
      print(f'  {name} G={size}: {seconds:.2f} s/epoch', file=sys.stderr, flush=True)
    print(f'| {name} | ' + ' | '.join(cells) + ' |', flush=True)
  print('cells: seconds per epoch of the whole grid (seconds per grid point)')


if __name__ == '__main__':
  main()
