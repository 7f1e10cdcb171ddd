"""Several processes on one machine: 2 processes x 2 CPU devices against 1 x 4, and faults.

Times the test's grid (logistic regression, 4 learning rates, 8 epochs, smoke data) as one
process on 4 forced CPU devices and as 2 processes on 2 devices each (``--distributed``,
localhost coordinator), each from an empty compilation cache and again warm, alternating;
then kills process 1 (``kill -9``, then SIGTERM) after epoch 2 and prints each process's
exit status, the seconds each took to exit, and process 0's last line (and, after the
SIGTERM, whether the same commands resume).

  python -m benchmarks.bench_distributed [--reps 3] [--faults 2]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = [
  '-m',
  'experiments.run',
  '--config=configs/lr_mnist.py:smoke',
  '--sweep=optimizer.name=adam',
  '--sweep=optimizer.learning_rate=0.01,0.03,0.1,0.3',
  '--config.num_epochs=8',
  '--config.mesh.grid=4',
]


def _env(devices: int, cache: str) -> dict[str, str]:
  return {
    **os.environ,
    'PYTHONPATH': ROOT,
    'ADAM_JAX_OFFLINE': '1',
    'JAX_PLATFORMS': 'cpu',
    'XLA_FLAGS': f'--xla_force_host_platform_device_count={devices}',
    'ADAM_JAX_COMPILATION_CACHE': cache,
  }


def _port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def start(workdir: str, processes: int, cache: str) -> list[subprocess.Popen]:
  """The run as 1 process on 4 devices or 2 processes on 2 devices each."""
  out = {'stdout': subprocess.PIPE, 'stderr': subprocess.STDOUT, 'text': True, 'cwd': ROOT}
  command = [sys.executable, *ARGS, f'--workdir={workdir}']
  if processes == 1:
    return [subprocess.Popen(command, env=_env(4, cache), **out)]
  address = f'--coordinator_address=localhost:{_port()}'
  return [
    subprocess.Popen(
      [*command, '--distributed', address, '--num_processes=2', f'--process_id={i}'],
      env=_env(2, cache),
      **out,
    )
    for i in range(2)
  ]


def timed(processes: int, cache: str) -> float:
  """Seconds from the start to the last process's exit (every process must exit 0)."""
  folder = tempfile.mkdtemp()
  begin = time.perf_counter()
  procs = start(os.path.join(folder, 'run'), processes, cache)
  outputs = [p.communicate()[0] for p in procs]
  seconds = time.perf_counter() - begin
  if any(p.returncode for p in procs):
    raise SystemExit(f'a run failed:\n{outputs[0][-2000:]}')
  shutil.rmtree(folder)
  return seconds


def _wait_for_epoch(workdir: str, epoch: int) -> None:
  path = os.path.join(workdir, 'metrics.jsonl')
  while True:
    if os.path.exists(path):
      with open(path) as f:
        if any(json.loads(line)['epoch'] >= epoch for line in f if line.endswith('\n')):
          return
    time.sleep(0.02)


def fault(sig: signal.Signals) -> None:
  """Signals process 1 after epoch 2; prints how both ended (and the resume after SIGTERM)."""
  folder, cache = tempfile.mkdtemp(), tempfile.mkdtemp()
  workdir = os.path.join(folder, 'run')
  procs = start(workdir, 2, cache)
  _wait_for_epoch(workdir, 2)
  begin = time.perf_counter()
  procs[1].send_signal(sig)
  ends = []
  for p in procs:
    out = p.communicate()[0]
    ends.append((p.returncode, round(time.perf_counter() - begin, 2), out))
  said = [ln for ln in ends[0][2].splitlines() if ln.startswith(('error', 'stopped', 'Term'))]
  print(f'{sig.name} to process 1: exits {[e[0] for e in ends]}, after {[e[1] for e in ends]} s')
  print(f'  process 0: {said[-1] if said else "(nothing)"}')
  if sig == signal.SIGTERM:
    procs = start(workdir, 2, cache)
    for p in procs:
      p.communicate()
    print(f'  the same commands again: exits {[p.returncode for p in procs]}')
  shutil.rmtree(folder)
  shutil.rmtree(cache)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--reps', type=int, default=3)
  parser.add_argument('--faults', type=int, default=2, help='kill -9 and SIGTERM, each')
  args = parser.parse_args()
  for _ in range(args.reps):
    for processes in (1, 2):
      cache = tempfile.mkdtemp()
      cold, warm = timed(processes, cache), timed(processes, cache)
      shutil.rmtree(cache)
      print(f'{processes} x {4 // processes} devices: {cold:.2f} s cold, {warm:.2f} s warm')
  for _ in range(args.faults):
    fault(signal.SIGKILL)
    fault(signal.SIGTERM)


if __name__ == '__main__':
  main()
