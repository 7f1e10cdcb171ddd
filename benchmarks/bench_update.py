"""Times adam_jax.adam's jitted update against optax.adam's on a ~10M-parameter pytree.

Run: `.venv/bin/python -m benchmarks.bench_update` (or `make bench`). Each repetition times
`--steps` calls of the jitted, donated update on the same device buffers; the script
reports the median over repetitions and the ratio ours / optax (< 1 means faster).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import optax

import adam_jax


def make_params(key: jax.Array) -> dict[str, jax.Array]:
  """A ~10M-parameter MLP-shaped pytree (weights and biases of mixed sizes)."""
  shapes = {
    'embed': (10000, 512),
    'dense1': (512, 4096),
    'dense1_b': (4096,),
    'dense2': (4096, 512),
    'dense2_b': (512,),
    'head': (512, 1000),
    'head_b': (1000,),
  }
  keys = jax.random.split(key, len(shapes))
  return {n: jax.random.normal(k, s) * 0.01 for (n, s), k in zip(shapes.items(), keys, strict=True)}


def time_update(opt: optax.GradientTransformation, params, grads, steps: int, reps: int):
  """Seconds per update of each repetition, and the params after all 1 + steps·reps updates."""

  def step(params, state):
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state

  step = jax.jit(step, donate_argnums=(0, 1))
  state = opt.init(params)
  params = jax.tree.map(jnp.copy, params)
  params, state = step(params, state)  # compile
  jax.block_until_ready(params)
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    for _ in range(steps):
      params, state = step(params, state)
    jax.block_until_ready(params)
    times.append((time.perf_counter() - start) / steps)
  return times, params


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--steps', type=int, default=20)
  parser.add_argument('--reps', type=int, default=15)
  args = parser.parse_args()
  params = make_params(jax.random.key(0))
  grads = jax.tree.map(lambda p: p * 0.1 + 0.01, params)
  n = sum(p.size for p in jax.tree.leaves(params))
  print(
    f'{n / 1e6:.2f}M params; {jax.devices()[0].device_kind}; jax {jax.__version__}, '
    f'optax {optax.__version__}; {platform.processor() or platform.machine()}'
  )
  # Interleave the two so drift in machine load hits both alike.
  ours, theirs = [], []
  for _ in range(3):
    theirs += time_update(optax.adam(1e-3), params, grads, args.steps, args.reps // 3)[0]
    ours += time_update(adam_jax.adam(1e-3), params, grads, args.steps, args.reps // 3)[0]
  m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
  print(f'optax.adam    median {m_theirs * 1e3:7.2f} ms/update')
  print(f'adam_jax.adam median {m_ours * 1e3:7.2f} ms/update')
  print(f'ratio adam_jax / optax: {m_ours / m_theirs:.3f}')


if __name__ == '__main__':
  main()
