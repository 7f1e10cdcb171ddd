"""The benchmark scripts still run (tiny sizes; they are timed by `make bench`, not here)."""

import jax
import optax

import adam_jax
from benchmarks import bench_models, bench_sweep, bench_update


def test_bench_models_loops_run():
  x, y = bench_models.dataset_for('fashion_mnist', 256)
  task = bench_models.make_task(dict(name='logistic_regression', num_classes=10), 'image')
  seconds, params = bench_models.time_ours(task, x, y, reps=1)
  assert seconds > 0 and params == 7850
  assert bench_models.time_flax_loop(task, x, y, reps=1) > 0


def test_bench_update_runs():
  params = {'w': jax.numpy.ones((64, 64))}
  grads = {'w': jax.numpy.full((64, 64), 0.1)}
  for opt in (adam_jax.adam(1e-3), optax.adam(1e-3)):
    times = bench_update.time_update(opt, params, grads, steps=2, reps=2)
    assert len(times) == 2 and min(times) > 0


def test_bench_sweep_grid_runs_with_each_strategy():
  for strategy, used in (('vmap', 'vmap'), ('map', 'map'), ('auto', 'vmap')):  # LR: vmap
    seconds, chosen = bench_sweep.epoch_seconds('lr', 2, strategy, 256, reps=1)
    assert seconds > 0
    assert chosen == used or jax.default_backend() != 'cpu'  # 'auto' may choose otherwise
