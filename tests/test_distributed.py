"""Several processes as one run: 2 processes x 2 CPU devices against 1 process x 4 devices.

Each process is ``python -m experiments.run --distributed`` on localhost (JAX's gloo CPU
collectives, a free port; a forked child of tests/forkserver.py, a process of its own):
what several hosts do, on one machine. The single-process run has the same mesh on 4
devices of its own. With the grid of 4 points split over the 4 devices the two agree bit
for bit; with each minibatch split over them (``mesh.data``) the gradients' sums cross
processes, in another order: equal to float tolerance.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import time

import forkserver
import pytest
from conftest import xla_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = [
  f'--config={ROOT}/configs/lr_mnist.py:smoke',
  '--sweep=optimizer.name=adam',
  '--sweep=optimizer.learning_rate=0.01,0.03,0.1,0.3',
  '--config.num_epochs=8',
]
MESHES = {'grid': '--config.mesh.grid=4', 'data': '--config.mesh.data=4'}
ARGS = [*CONFIG, MESHES['grid']]
HEARTBEAT = 10  # --heartbeat_timeout_seconds: the bound on a survivor's exit after a kill
TIME_FIELDS = ('wall_time_s', 'train_wall_time_s')

# Process 1 runs with this at startup (PYTHONPATH): every file it opens for writing, renames,
# removes or creates under the workdir is logged (Python's audit hooks).
AUDIT = """
import os, sys
_LOG, _WATCH = os.environ['AUDIT_LOG'], os.path.realpath(os.environ['AUDIT_WATCH'])
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND
_CHANGES = ('os.rename', 'os.remove', 'os.rmdir', 'os.mkdir', 'shutil.rmtree')

def _hook(event, args):
  if event == 'open' and isinstance(args[2], int) and args[2] & _WRITE or event in _CHANGES:
    if isinstance(args[0], (str, bytes, os.PathLike)):
      path = os.path.realpath(os.fsdecode(args[0]))
      if path.startswith(_WATCH + os.sep):
        with open(_LOG, 'a') as f:
          f.write(event + ' ' + os.path.relpath(path, _WATCH) + chr(10))

sys.addaudithook(_hook)
"""


def _env(devices: int, **extra: str) -> dict[str, str]:
  env = {**os.environ, 'PYTHONPATH': ROOT, 'ADAM_JAX_OFFLINE': '1', 'JAX_PLATFORMS': 'cpu'}
  return {
    **env,
    'XLA_FLAGS': xla_flags(f'--xla_force_host_platform_device_count={devices}'),
    **extra,
  }


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


class Processes:
  """The processes of one distributed run, their output in files beside the workdir."""

  def __init__(self, workdir, args=ARGS, extra=((), ()), audit=None, num_processes=(2, 2)):
    port = _free_port()
    self.logs, self.procs = [f'{workdir}.p{i}.log' for i in range(2)], []
    for i in range(2):
      env = _env(2)
      if audit is not None and i == 1:
        audit.mkdir(exist_ok=True)
        (audit / 'sitecustomize.py').write_text(AUDIT)
        env |= {'PYTHONPATH': f'{audit}{os.pathsep}{ROOT}', 'AUDIT_LOG': str(audit / 'log')}
        env['AUDIT_WATCH'] = str(workdir)
      command = [*args, *extra[i]]
      command += [
        f'--workdir={workdir}',
        '--distributed',
        f'--coordinator_address=localhost:{port}',
      ]
      command += [f'--num_processes={num_processes[i]}', f'--process_id={i}']
      command += [f'--heartbeat_timeout_seconds={HEARTBEAT}', '--initialization_timeout=120']
      self.procs.append(forkserver.popen(command, env, self.logs[i], self.logs[i]))

  def wait(self, timeout: float = 600) -> list[int]:
    """Exit statuses, in process order."""
    deadline = time.monotonic() + timeout
    try:
      return [p.wait(timeout=max(deadline - time.monotonic(), 1)) for p in self.procs]
    finally:
      self.close()

  def log(self, i: int) -> str:
    """What process ``i`` printed so far (stdout and stderr)."""
    with open(self.logs[i]) as f:
      return f.read()

  def close(self) -> None:
    """Kills what still runs (a failed test leaves no process behind)."""
    for p in self.procs:
      if p.poll() is None:
        p.kill()
        p.wait()


def _wait_for_epoch(workdir, epoch: int, processes: Processes) -> None:
  """Returns once metrics.jsonl holds a record of ``epoch``."""
  path = os.path.join(workdir, 'metrics.jsonl')
  deadline = time.monotonic() + 300
  while time.monotonic() < deadline:
    if any(p.poll() is not None for p in processes.procs):
      raise AssertionError(f'a process ended before epoch {epoch}: {processes.log(0)[-2000:]}')
    if os.path.exists(path):
      with open(path) as f:
        if any(json.loads(line)['epoch'] >= epoch for line in f if line.endswith('\n')):
          return
    time.sleep(0.05)
  raise AssertionError(f'no epoch {epoch} within 300 s')


def _metrics(workdir) -> list[dict]:
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    records = [json.loads(line) for line in f if line.strip()]
  return sorted(records, key=lambda r: (r['grid_index'], r['epoch'], r['split'], r['step']))


def _summary(workdir) -> dict:
  summary = json.loads((workdir / 'summary.json').read_text())
  return {k: v for k, v in summary.items() if k not in TIME_FIELDS}


def _files(workdir) -> list[str]:
  """The run's files, checkpoints and TensorBoard event files' names left out."""
  out = []
  for folder, dirs, files in os.walk(workdir):
    dirs[:] = [d for d in dirs if d != 'checkpoints']
    rel = os.path.relpath(folder, workdir)
    out += [os.path.join(rel, 'events') if 'tfevents' in f else os.path.join(rel, f) for f in files]
  return sorted(out)


def _close(ours, theirs, rtol: float) -> bool:
  """Equal, numbers to ``rtol``, through dicts and lists."""
  if isinstance(ours, dict):
    return ours.keys() == theirs.keys() and all(_close(ours[k], theirs[k], rtol) for k in ours)
  if isinstance(ours, list):
    return len(ours) == len(theirs) and all(map(_close, ours, theirs, [rtol] * len(ours)))
  if isinstance(ours, float) and isinstance(theirs, float):
    return math.isclose(ours, theirs, rel_tol=rtol, abs_tol=1e-7)
  return ours == theirs


@pytest.fixture
def one_process(made_once):
  """The grid in one process on 4 devices, by mesh: ``one_process(mesh) -> (workdir, s)``.

  Made once in the suite (conftest.made_once), whichever tests ask for it.
  """

  def run(mesh: str):
    def make(workdir):
      start = time.monotonic()
      proc = forkserver.run([*CONFIG, MESHES[mesh], f'--workdir={workdir}'], _env(4))
      assert proc.returncode == 0, proc.stderr[-3000:]
      return time.monotonic() - start

    return made_once(f'one_process_{mesh}', make)

  return run


@pytest.mark.slow
@pytest.mark.parametrize(('mesh', 'rtol'), [('grid', 0.0), ('data', 1e-5)])
def test_two_processes_equal_one_and_only_process_0_writes(one_process, tmp_path, mesh, rtol):
  reference, one_seconds = one_process(mesh)
  workdir = tmp_path / 'run'
  start = time.monotonic()
  run = Processes(workdir, args=[*CONFIG, MESHES[mesh]], audit=tmp_path / 'audit')
  codes = run.wait()
  seconds = time.monotonic() - start
  print(f'mesh.{mesh}=4: 2 processes x 2 devices {seconds:.1f} s, 1 x 4 {one_seconds:.1f} s')
  assert codes == [0, 0], run.log(0)[-3000:] + run.log(1)[-3000:]
  if rtol == 0:
    assert _metrics(workdir) == _metrics(reference)  # bit for bit, each record once
    assert _summary(workdir) == _summary(reference)
  assert _close(_metrics(workdir), _metrics(reference), rtol)
  assert _close(_summary(workdir), _summary(reference), rtol)
  # Process 0 wrote what one process writes: one TensorBoard file per point, no copies.
  assert _files(workdir) == _files(reference)
  assert all(len(os.listdir(d)) == 1 for d in (workdir / 'tensorboard').iterdir())
  # Process 1 wrote nothing but its checkpoint shards (and its own writability probe).
  writes = (tmp_path / 'audit' / 'log').read_text().splitlines()
  assert writes, 'the audit hook saw nothing: it did not run'
  outside = [
    w for w in writes if not w.split(' ', 1)[1].startswith(('checkpoints', '.write_probe_'))
  ]
  assert not outside, outside
  assert any('ocdbt.process_1' in p for p in map(str, (workdir / 'checkpoints').rglob('*')))
  assert '#  name' in run.log(0) and '#  name' not in run.log(1)  # process 0's table


@pytest.mark.slow
def test_sigterm_then_kill_9_then_resume_equals_the_uninterrupted_run(one_process, tmp_path):
  reference, _ = one_process('grid')
  workdir = tmp_path / 'run'
  args = [*ARGS, '--config.checkpoint.every_epochs=1']  # a smoke config saves at the end only
  run = Processes(workdir, args)
  _wait_for_epoch(workdir, 1, run)
  run.procs[1].send_signal(signal.SIGTERM)  # one process: every process stops alike
  codes = run.wait(timeout=120)
  assert codes == [128 + signal.SIGTERM] * 2, run.log(0)[-3000:] + run.log(1)[-3000:]
  assert all('stopped: SIGTERM: stopped after epoch' in run.log(i) for i in range(2))
  stopped = max(r['epoch'] for r in _metrics(workdir))
  assert stopped < 8

  run = Processes(workdir, args)  # the same command resumes ...
  _wait_for_epoch(workdir, stopped + 1, run)
  run.procs[1].kill()  # ... and loses process 1 after an epoch
  killed = time.monotonic()
  code = run.procs[0].wait(timeout=HEARTBEAT + 60)
  seconds = time.monotonic() - killed
  run.close()
  log = run.log(0)
  print(f'kill -9 of process 1: process 0 exited with {code} after {seconds:.1f} s')
  assert code != 0 and seconds < HEARTBEAT + 30, (code, seconds, log[-3000:])
  # Ours (a collective with the lost process failed) or JAX's (its heartbeats stopped).
  assert 'a process failed or was lost' in log or 'another task died' in log, log[-3000:]
  assert max(r['epoch'] for r in _metrics(workdir)) < 8

  run = Processes(workdir, args)
  codes = run.wait()
  assert codes == [0, 0], run.log(0)[-3000:] + run.log(1)[-3000:]
  assert 'resumed from the checkpoint of epoch' in run.log(0)
  assert _metrics(workdir) == _metrics(reference)
  assert _summary(workdir) == _summary(reference)


@pytest.mark.slow
@pytest.mark.parametrize(
  ('extra', 'num_processes', 'expected'),
  [
    ((), (2, 3), 'process 1 differs from process 0 in: num_processes'),
    (('--config.optimizer.b2=0.99',), (2, 2), 'differs from process 0 in: config.optimizer.b2'),
    (('--fresh',), (2, 2), 'differs from process 0 in: fresh'),
  ],
)
def test_a_process_started_differently_is_refused(tmp_path, extra, num_processes, expected):
  workdir = tmp_path / 'run'
  start = time.monotonic()
  run = Processes(workdir, extra=((), extra), num_processes=num_processes)
  codes = run.wait(timeout=120)
  assert codes == [2, 2], run.log(0)[-3000:] + run.log(1)[-3000:]
  assert time.monotonic() - start < 90
  for i in range(2):
    errors = [line for line in run.log(i).splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and expected in errors[0], run.log(i)[-3000:]
  assert not workdir.exists()  # nothing trained, nothing written


def test_address_flags_need_distributed(tmp_path):
  proc = forkserver.run([*ARGS, '--num_processes=2', '--dry_run'], _env(1))
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines()[-1] == 'error: --num_processes needs --distributed'
