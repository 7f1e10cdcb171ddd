"""Sweeps as one program: what a grid of G points costs against one run.

Run: `.venv/bin/python -m benchmarks.bench_sweep [--sizes 1,2,4,8,16,32] [--models lr,mlp]`
(or `make bench`). `--end-to-end` and `--figure4` need Fashion-MNIST (Debian's
dataset-fashion-mnist or the IDX files); the grid table uses synthetic data.

1. End to end (`--end-to-end`): `python -m experiments.run` of the logistic-regression
   experiment (§6.1, Adam, α/√t) on Fashion-MNIST, one run against an 8-point
   learning-rate sweep, each as a fresh process (start-up, data, compile, training,
   evaluation, files); the ratio of wall times.
2. Grid size against time: seconds per grid point per epoch of the GridTrainer for G
   points, over one run's epoch, for every model (synthetic data of the real shapes), with
   the grid strategy `auto` picks (`train.auto_grid_strategy`) or one forced by
   `--strategies=vmap,map`; the fastest of --reps epochs after the first (which compiles) counts.
3. `--seeds=5`: an epoch of 5 seeds of each model (one compiled program, each seed its own
   initialisation and data order) against one seed's: what `config.seeds` costs.
4. `--figure4`: Figure 4's whole grid (`configs/vae_mnist.py:fmnist`, 60 points, 10
   epochs) end to end, as a fresh process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from adam_jax import train
from benchmarks import bench_models
from experiments import optimizers


def end_to_end(epochs: int) -> tuple[float, float]:
  """Wall seconds of one run and of an 8-point learning-rate sweep (fresh processes)."""
  base = [
    '--config=configs/lr_mnist.py',
    '--config.dataset.name=fashion_mnist',
    f'--config.num_epochs={epochs}',
    '--config.checkpoint.every_epochs=0',
    '--config.sweep.optimizer.name=("adam",)',
  ]
  one = bench_models.run_cold(*base, '--config.sweep.optimizer.learning_rate=(0.03,)')
  rates = '0.003,0.01,0.03,0.1,0.3,1.0,3.0,10.0'
  return one, bench_models.run_cold(*base, f'--sweep=optimizer.learning_rate={rates}')


def figure4_seconds(epochs: int) -> float:
  """Wall seconds of Figure 4's whole grid (60 points, VAE), end to end, a fresh process."""
  return bench_models.run_cold(
    '--config=configs/vae_mnist.py:fmnist',
    f'--config.num_epochs={epochs}',
    '--config.checkpoint.every_epochs=0',
  )


def epoch_seconds(
  name: str, size: int, strategy: str, examples: int, reps: int, axis: str = 'learning_rate'
) -> tuple[float, str, int]:
  """Seconds of an epoch of a G-point grid: the fastest of ``reps`` epochs after the first
  (which compiles), the least disturbed by anything else on the machine; the strategy
  used ('auto' resolved); and the steps each point took in all. ``axis`` 'learning_rate'
  varies α, 'seed' the seed (replicates, each with its own initialisation and data order)."""
  kind, _, kwargs = bench_models.MODELS[name]
  x, y = (jnp.asarray(a) for a in bench_models.dataset_for(kind, examples))
  task = bench_models.make_task(kwargs, kind)
  if strategy == 'auto':
    strategy = train.auto_grid_strategy(task, x, 128)
  trainer = train.GridTrainer(
    task,
    optimizers.factory('adam'),
    {'optimizer.learning_rate': 1e-3, 'seed': 0},
    swept=('seed',) if axis == 'seed' else ('optimizer.learning_rate',),
    grid_strategy=strategy,
  )
  if axis == 'seed':
    points = [{'seed': s} for s in range(size)]
  else:
    points = [{'optimizer.learning_rate': lr} for lr in np.geomspace(1e-4, 1e-2, size)]
  grid = train.grid_arrays(points, trainer.swept)
  state = trainer.init(grid, x)
  state, m = trainer.train_epoch(state, grid, x, y, 0)  # compiles
  jax.block_until_ready(m)
  times = []
  for epoch in range(1, reps + 1):
    start = time.perf_counter()
    state, m = trainer.train_epoch(state, grid, x, y, epoch)
    jax.block_until_ready(m)
    times.append(time.perf_counter() - start)
  return min(times), strategy, int(state.step[0])


# Examples per timed epoch: enough minibatches that an epoch of one point takes ~1 s here.
EXAMPLES = {'lr': 55_000, 'mlp': 16_384, 'vae': 32_768, 'perez_cnn': 2_560, 'cnn': 1_280}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--sizes', default='1,2,4,8,16,32')
  parser.add_argument('--models', default=','.join(EXAMPLES))
  parser.add_argument('--strategies', default='auto', help='auto, vmap, map (comma-separated)')
  parser.add_argument('--end-to-end', action='store_true')
  parser.add_argument('--epochs', type=int, default=10)
  parser.add_argument('--reps', type=int, default=2, help='timed epochs (the fastest counts)')
  parser.add_argument('--figure4', action='store_true', help="time Figure 4's grid end to end")
  parser.add_argument(
    '--seeds', type=int, default=0, help='only the cost of N seeds against one, per model'
  )
  args = parser.parse_args()
  print(f'{os.cpu_count()} cores; jax {jax.__version__}; {jax.devices()[0].device_kind}')
  if args.end_to_end:
    one, eight = end_to_end(args.epochs)
    print(
      f'LR on Fashion-MNIST, {args.epochs} epochs: one run {one:.1f} s, '
      f'8-point sweep {eight:.1f} s, ratio {eight / one:.2f}'
    )
  if args.figure4:
    print(
      f'Figure 4 (VAE, 60 points, {args.epochs} epochs), end to end: '
      f'{figure4_seconds(args.epochs):.1f} s',
      flush=True,
    )
  if args.seeds:
    seeds_table(args.models.split(','), args.seeds, args.reps)
    return
  sizes = [int(s) for s in args.sizes.split(',')]
  print('| model | strategy | G=1 (s) | ' + ' | '.join(f'G={s}' for s in sizes if s > 1) + ' |')
  print('|---|---|---|' + '---|' * (len(sizes) - 1))
  for name in args.models.split(','):
    for strategy in args.strategies.split(','):
      single, used, _ = epoch_seconds(name, 1, strategy, EXAMPLES[name], args.reps)
      cells = []
      for size in sizes:
        if size == 1:
          continue
        seconds, used, _ = epoch_seconds(name, size, strategy, EXAMPLES[name], args.reps)
        cells.append(f'{seconds / size / single:.2f}')
        print(f'  {name} {strategy} G={size}: {seconds:.2f} s/epoch', file=sys.stderr, flush=True)
      label = f'{strategy} ({used})' if strategy == 'auto' else strategy
      print(f'| {name} | {label} | {single:.3g} | ' + ' | '.join(cells) + ' |', flush=True)
  print(
    "cells: seconds per grid point per epoch, divided by one run's epoch (G=1); "
    f'examples per epoch: {EXAMPLES}'
  )


def seeds_table(models: list[str], seeds: int, reps: int) -> None:
  """The epoch of ``seeds`` replicates (one compiled program) against one run's, per model."""
  print(f'| model | strategy | 1 seed (s) | {seeds} seeds (s) | ratio |')
  print('|---|---|---|---|---|')
  for name in models:
    one, used, _ = epoch_seconds(name, 1, 'auto', EXAMPLES[name], reps, axis='seed')
    many, _, _ = epoch_seconds(name, seeds, 'auto', EXAMPLES[name], reps, axis='seed')
    print(f'| {name} | {used} | {one:.3g} | {many:.3g} | {many / one:.2f} |', flush=True)
  print(f'examples per epoch: {EXAMPLES}; the fastest of {reps} epochs after the first')


if __name__ == '__main__':
  main()
