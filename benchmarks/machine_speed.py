"""How fast this machine is today: the number to give beside a time measured on it.

The best of three 10 x (2048 x 2048 float32 matmul) through numpy, and a 10**7-step Python
loop over global names (as at a script's top level). The suite's time follows these more
than the code (the README's "make test" entry).

  python -m benchmarks.machine_speed
"""

import time

import numpy as np


def main() -> None:
  a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
  best = float('inf')
  for _ in range(3):
    start = time.perf_counter()
    for _ in range(10):
      a @ a
    best = min(best, time.perf_counter() - start)
  start = time.perf_counter()
  exec('total = 0\nfor i in range(10**7):\n  total += i', {})  # names as a script's top level
  loop = time.perf_counter() - start
  print(f'matmul {10 * 2 * 2048**3 / best / 1e9:.0f} GFLOP/s; loop {loop:.2f} s')


if __name__ == '__main__':
  main()
