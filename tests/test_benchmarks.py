"""The benchmark scripts still run and do the work they time (tiny sizes; timed by `make bench`)."""

import re

import jax
import numpy as np
import optax
import test_distributed

import adam_jax
from benchmarks import bench_distributed, bench_models, bench_sweep, bench_update, machine_speed


def test_bench_models_loops_run():
  x, y = bench_models.dataset_for('fashion_mnist', 256)
  task = bench_models.make_task(dict(name='logistic_regression', num_classes=10), 'image')
  seconds, params, steps = bench_models.time_ours(task, x, y, reps=1)
  assert params == 7850
  assert steps == 2 * (256 // 128)  # the warm-up epoch and the timed one, every step
  seconds, steps = bench_models.time_flax_loop(task, x, y, reps=1)
  assert steps == 2 * (256 // 128)


def test_bench_update_runs():
  params = {'w': jax.numpy.ones((64, 64))}
  grads = {'w': jax.numpy.full((64, 64), 0.1)}
  for opt in (adam_jax.adam(1e-3), optax.adam(1e-3)):
    times, final = bench_update.time_update(opt, params, grads, steps=2, reps=2)
    assert len(times) == 2
    # A constant gradient moves Adam by α per step: 1 + 2·2 updates were applied.
    np.testing.assert_allclose(final['w'], 1 - 5 * 1e-3, rtol=1e-6)


def test_bench_sweep_grid_runs_with_each_strategy():
  for strategy, used in (('vmap', 'vmap'), ('map', 'map'), ('auto', 'vmap')):  # LR: vmap
    seconds, chosen, steps = bench_sweep.epoch_seconds('lr', 2, strategy, 256, reps=1)
    assert steps == 2 * (256 // 128)
    assert chosen == used or jax.default_backend() != 'cpu'  # 'auto' may choose otherwise


def test_machine_speed_prints_both_rates(capsys):
  machine_speed.main()
  assert re.fullmatch(r'matmul \d+ GFLOP/s; loop \d+\.\d\d s\n', capsys.readouterr().out)


def test_bench_distributed_times_the_distributed_tests_grid():
  # The benchmark's figures are quoted beside the test's checks: the same command.
  assert bench_distributed.ARGS[2:] == [
    arg.replace(f'{test_distributed.ROOT}/', '') for arg in test_distributed.ARGS
  ]
