"""Nothing lost, nothing confusing: bad input, unavailable data, divergence, kill and resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import forkserver
import jax.numpy as jnp
import pytest
from conftest import cli_env, run_cli_forked
from test_cli_fuzz import check_exit, describe

from adam_jax import train as train_lib
from experiments import grid, programs, results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = cli_env(ADAM_JAX_OFFLINE='1')
SMOKE = f'--config={ROOT}/configs/lr_mnist.py:smoke'


def cli(*args: str, workdir=None, timeout=300) -> subprocess.CompletedProcess:
  """``python -m experiments.run ARGS --workdir=WORKDIR`` (a forked child: tests/forkserver.py)."""
  workdir_flag = [] if workdir is None else [f'--workdir={workdir}']
  return forkserver.run([*args, *workdir_flag], ENV, timeout=timeout)


BAD_INPUT = [
  ([f'--config={ROOT}/configs/nope.py'], 'cannot load --config'),
  ([SMOKE, '--config.optimizer.b2=1.0'], 'config.optimizer.b2 = 1.0: must be a number in [0, 1)'),
  ([SMOKE, '--config.optimizer.b1=-0.1'], 'config.optimizer.b1 = -0.1'),
  ([SMOKE, '--config.optimizer.learning_rate=0.0'], 'must be a number in (0, inf)'),
  ([SMOKE, '--config.optimizer.eps=-1e-8'], 'config.optimizer.eps'),
  ([SMOKE, '--config.seeds=0'], 'config.seeds = 0: must be an integer >= 1'),
  ([SMOKE, '--config.seeds=2', '--sweep=seed=0,1'], 'give one'),
  ([SMOKE, '--config.log_every_steps=-1'], 'config.log_every_steps'),
  ([SMOKE, '--config.diagnostics=maybe'], 'diagnostics'),
  ([SMOKE, '--config.optimizer.restart_epochs=0'], 'restart_epochs = 0: must be an integer >= 1'),
  ([SMOKE, '--config.optimizer.restart_mult=0.5'], 'config.optimizer.restart_mult = 0.5'),
  (
    [f'--config={ROOT}/configs/reddi.py:smoke', '--config.optimizer.schedule=warm_restarts'],
    "'warm_restarts': only for experiment=train",
  ),
  (
    [f'--config={ROOT}/configs/reddi.py:smoke', '--config.rerun_seeds=2'],
    'only for experiment=train',
  ),
  ([SMOKE, '--config.batch_size=0'], 'config.batch_size = 0: must be an integer >= 1'),
  ([SMOKE, '--config.num_epochs=-2'], 'config.num_epochs'),
  ([SMOKE, '--config.optimizer.name=adamm'], 'must be one of: adam, adamax, amsgrad'),
  ([SMOKE, '--config.model.name=resnet'], "config.model.name = 'resnet': must be one of"),
  ([SMOKE, '--config.dataset.name=cifar100'], 'must be one of: mnist, fashion_mnist'),
  ([SMOKE, '--config.optimizer.lr=0.1'], 'unknown config field in --config.optimizer.lr'),
  ([SMOKE, '--config.num_epochs=ten'], 'config.num_epochs=ten'),
  ([SMOKE, '--sweep=optimizer.beta2=0.9,0.99'], 'config.sweep.optimizer.beta2: not a config'),
  ([SMOKE, '--sweep=optimizer.b2=0.9,1.5'], 'config.optimizer.b2 = 1.5'),
  ([SMOKE, '--sweep=optimizer.learning_rate=fast'], "learning_rate = 'fast'"),
  ([SMOKE, '--sweep=optimizer.b1'], '--sweep takes PATH=V1,V2'),
  ([SMOKE, '--config.sweep.optimizer.name=("adam","sgdd")'], "optimizer.name = 'sgdd'"),
  ([SMOKE, '--config.mesh.grid=64'], 'needs 64 devices'),
  ([SMOKE, 'stray'], 'unexpected arguments: stray'),
]


def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path):
  """Each bad command is a process of its own, forked from one that imported the entry point."""
  workdirs = [tmp_path / f'run_{i}' for i in range(len(BAD_INPUT))]
  commands = [[*args, f'--workdir={w}'] for (args, _), w in zip(BAD_INPUT, workdirs, strict=True)]
  procs = run_cli_forked(commands, ENV)
  for proc, (_, expected), workdir in zip(procs, BAD_INPUT, workdirs, strict=True):
    check_exit(proc)  # exit 2: one line, 'error: ...', no traceback
    assert proc.returncode == 2, describe(proc)
    assert proc.stderr.strip().startswith('error: ') and expected in proc.stderr, describe(proc)
    assert not workdir.exists(), describe(proc)


def test_unwritable_workdir_is_a_usage_error(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  proc = cli(SMOKE, workdir=blocker / 'run')
  assert proc.returncode == 2
  assert 'cannot be written' in proc.stderr and 'Traceback' not in proc.stderr


def test_unavailable_dataset_fails_fast_with_how_to(tmp_path):
  start = time.monotonic()
  proc = cli(
    f'--config={ROOT}/configs/cnn_cifar.py',
    f'--config.dataset.data_dir={tmp_path / "empty"}',
    '--config.num_epochs=1',
    workdir=tmp_path / 'run',
  )
  assert proc.returncode == 1, proc.stderr[-2000:]
  assert 'cifar10' in proc.stderr and 'tfds build' in proc.stderr
  assert 'Traceback' not in proc.stderr
  assert time.monotonic() - start < 120  # seconds of start-up, never minutes of retries


def _poison_from_epoch(monkeypatch, first_bad_epoch: int):
  """Fault injection: from ``first_bad_epoch`` on, the training inputs are NaN."""
  original = train_lib.GridTrainer.train_epoch

  def train_epoch(self, state, grid, x, y, epoch):
    if epoch >= first_bad_epoch:
      x = jnp.full_like(x, jnp.nan)
    return original(self, state, grid, x, y, epoch)

  monkeypatch.setattr(train_lib.GridTrainer, 'train_epoch', train_epoch)


def _single_run_config():
  import importlib

  config = importlib.import_module('configs.mlp_mnist').get_config('smoke')
  config.sweep = type(config.sweep)()
  config.num_epochs = 3
  config.checkpoint.every_epochs = 1  # a smoke config saves at the end only
  return config


def test_a_restored_state_is_placed_as_a_fresh_one_so_its_programs_are_the_same(tmp_path):
  """Orbax commits what it restores to a device; the fresh state is uncommitted. A resumed
  run must lower (and so compile, or find in the cache) the very programs a fresh run does."""
  import jax

  from experiments import optimizers, rundir

  config = _single_run_config()  # an MLP; its state holds a PRNG key (uint32) too
  dataset = programs.load_dataset(config)
  trainer = train_lib.GridTrainer(
    programs.build_task(config, dataset),
    optimizers.config_factory(config),
    optimizers.point_hparams(config),
  )
  fresh = trainer.init({}, jnp.asarray(dataset.train[0]))
  run = rundir.RunDir(str(tmp_path), config)
  run.checkpoint('000_000', 1, fresh, force=True)
  restored = run.restore('000_000', 1, fresh)
  placed = lambda tree: [(a.committed, a.sharding) for a in jax.tree.leaves(tree)]  # noqa: E731
  assert placed(restored) == placed(fresh)
  assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), restored, fresh))
  step = jax.jit(lambda state: jax.tree.map(lambda a: a + 1, state))
  assert step.lower(restored).as_text() == step.lower(fresh).as_text()


def test_single_run_stops_at_a_non_finite_loss_keeping_its_checkpoint(tmp_path, monkeypatch):
  _poison_from_epoch(monkeypatch, 1)
  config = _single_run_config()
  with pytest.raises(programs.RunError) as error:
    grid.run(config, str(tmp_path))
  steps_per_epoch = len(programs.load_dataset(config).train[1]) // config.batch_size
  message = str(error.value)
  assert f'non-finite at step {steps_per_epoch + 1} (epoch 2)' in message
  assert 'last finite loss: ' in message and f'at step {steps_per_epoch}' in message
  assert 'last good checkpoint (epoch 1)' in message
  assert os.listdir(tmp_path / 'checkpoints' / 'program_000_000') == ['1']
  records = _metrics(tmp_path)
  assert max(r['epoch'] for r in records) == 2
  assert records[-1]['diverged_step'] == steps_per_epoch + 1


def test_single_run_stops_when_its_last_update_breaks_the_params(tmp_path, monkeypatch):
  # Training losses are measured before each update: only the evaluation sees the last one.
  original = train_lib.GridTrainer.evaluate

  def evaluate(self, params, x, y):
    out = original(self, params, x, y)
    return {**out, 'loss': jnp.full_like(out['loss'], jnp.nan)}

  monkeypatch.setattr(train_lib.GridTrainer, 'evaluate', evaluate)
  with pytest.raises(programs.RunError, match='evaluation loss became non-finite after epoch 1'):
    grid.run(_single_run_config(), str(tmp_path))
  assert not (tmp_path / 'checkpoints').exists() or not os.listdir(tmp_path / 'checkpoints')


def test_diverging_single_run_from_the_command_line_exits_1(tmp_path):
  proc = cli(
    f'--config={ROOT}/configs/lr_mnist.py:smoke',
    '--config.optimizer.learning_rate=1e38',
    '--config.sweep.optimizer.name=("adam",)',
    '--config.sweep.optimizer.learning_rate=(1e38,)',
    workdir=tmp_path,
  )
  assert proc.returncode == 1, proc.stderr[-2000:]
  assert 'error: the training loss became non-finite at step' in proc.stderr
  assert 'Traceback' not in proc.stderr


def _metrics(workdir) -> list[dict]:
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    records = [json.loads(line) for line in f if line.strip()]
  return sorted(
    records, key=lambda r: (r['grid_index'], r['epoch'], r['split'], r['step'], r.get('param', ''))
  )


# A smoke config saves at the end only; these resume from the checkpoint of each epoch.
EVERY_EPOCH = '--config.checkpoint.every_epochs=1'
RESUMABLE = {
  'single': [
    f'--config={ROOT}/configs/mlp_mnist.py:smoke',
    EVERY_EPOCH,
    '--config.num_epochs=6',
    '--config.log_every_steps=2',  # per-step records and diagnostics resume bit-identically too
    '--config.diagnostics=True',
  ],
  'chunked_sweep': [
    f'--config={ROOT}/configs/vae_mnist.py:smoke',
    EVERY_EPOCH,
    '--config.num_epochs=3',
    '--config.grid_chunk_size=9',  # 16 points: two chunks, the second padded
  ],
  # SWATS's switch (traced state) and the warm restarts' step count survive the kill.
  'swats_warm_restarts': [
    f'--config={ROOT}/configs/generalization.py:smoke',
    EVERY_EPOCH,
    '--sweep=optimizer.name=swats',
    '--config.optimizer.eps=1e-3',  # the switch test's tolerance: it switches in this run
    '--config.optimizer.schedule=warm_restarts',
    '--config.num_epochs=5',
  ],
}


@pytest.fixture
def reference_run(made_once):
  """``reference_run(name)``: the folder of RESUMABLE[name]'s uninterrupted run.

  Made once in the suite: the kill, SIGTERM and interrupted-save tests compare with it.
  """

  def get(name: str):
    def make(workdir):
      proc = cli(*RESUMABLE[name], workdir=workdir)
      assert proc.returncode == 0, proc.stderr[-2000:]

    return made_once(f'resumable_{name}', make)[0]

  return get


def _start_and_stop(args, workdir, wait_for: str, sig: int) -> forkserver.Child:
  log_path = os.path.join(os.path.dirname(workdir), f'{os.path.basename(workdir)}.log')
  log = open(log_path, 'w+')  # noqa: SIM115 (read while the process writes it)
  proc = forkserver.popen([*args, f'--workdir={workdir}'], ENV, os.devnull, log_path)
  deadline = time.monotonic() + 300
  while time.monotonic() < deadline:
    log.seek(0)
    if wait_for in log.read():
      break
    if proc.poll() is not None:
      raise AssertionError(f'ended before {wait_for!r}')
    time.sleep(0.05)
  proc.send_signal(sig)
  proc.wait(timeout=300)
  log.seek(0)
  proc.log = log.read()
  log.close()
  return proc


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(RESUMABLE))
def test_kill_9_then_resume_is_bit_identical(tmp_path, name, reference_run):
  args = RESUMABLE[name]
  reference = reference_run(name)
  killed = _start_and_stop(args, str(tmp_path / 'killed'), 'epoch 2/', signal.SIGKILL)
  assert killed.returncode == -signal.SIGKILL
  resumed = cli(*args, workdir=tmp_path / 'killed')
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert 'resum' in resumed.stderr
  if name == 'chunked_sweep':  # killed in its first chunk, which resumes from a checkpoint
    assert 'chunk 1/2: resumed from the checkpoint of epoch' in resumed.stderr
  ours, theirs = _metrics(tmp_path / 'killed'), _metrics(reference)
  assert ours == theirs  # same evaluations, bit for bit; none missing, none duplicated
  keys = [(r['grid_index'], r['step'], r['split'], r.get('param')) for r in ours]
  assert len(keys) == len(set(keys))
  if name == 'swats_warm_restarts':  # every point records its switch step, once it switched
    switched = [r['switched_at'] for r in ours if r['split'] == 'train' and r['epoch'] == 5]
    assert len(switched) == 2 and all(s > 0 for s in switched), switched


@pytest.mark.slow
def test_a_run_killed_while_rerunning_its_choice_with_seeds_resumes_bit_identically(tmp_path):
  """DeepOBS's protocol: the rerun program's points are fixed by the tuning records."""
  args = [f'--config={ROOT}/configs/mlp_mnist.py:smoke', '--config.num_epochs=4', EVERY_EPOCH]
  args.append('--config.rerun_seeds=3')
  reference = cli(*args, workdir=tmp_path / 'reference')
  assert reference.returncode == 0, reference.stderr[-2000:]
  killed = _start_and_stop(
    args, str(tmp_path / 'killed'), 'program 2/2 [run] | epoch 2/', signal.SIGKILL
  )
  assert killed.returncode == -signal.SIGKILL
  resumed = cli(*args, workdir=tmp_path / 'killed')
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert _metrics(tmp_path / 'killed') == _metrics(tmp_path / 'reference')
  summary = json.loads((tmp_path / 'killed' / 'summary.json').read_text())
  assert summary['rerun_programs'] == [1]
  chosen = summary['configurations'][summary['best_configuration']]
  assert chosen['program'] == 1 and chosen['seeds'] == [1, 2, 3]  # fresh seeds


@pytest.mark.slow
def test_sigterm_checkpoints_then_resume_is_bit_identical(tmp_path, reference_run):
  args = [*RESUMABLE['single'], '--config.checkpoint.every_epochs=100']
  reference = reference_run('single')  # its checkpoints' interval changes no number
  stopped = _start_and_stop(args, str(tmp_path / 'run'), 'epoch 2/', signal.SIGTERM)
  assert stopped.returncode == 128 + signal.SIGTERM, stopped.log[-2000:]
  assert 'stopped: SIGTERM: stopped after epoch' in stopped.log
  saved = os.listdir(tmp_path / 'run' / 'checkpoints' / 'program_000_000')
  assert saved and all(int(s) < 6 for s in saved)  # saved on the signal, not the interval
  timed = json.loads((tmp_path / 'run' / 'run_state.json').read_text())['train_wall_time_s']
  resumed = cli(*args, workdir=tmp_path / 'run')
  assert resumed.returncode == 0
  assert _metrics(tmp_path / 'run') == _metrics(reference)
  # The wall time to quote counts the process before the signal too; a rerun adds nothing.
  summary = json.loads((tmp_path / 'run' / 'summary.json').read_text())
  assert summary['train_wall_time_s'] > timed > 0
  assert summary['train_wall_time_s'] > summary['wall_time_s']
  assert summary['machine'] == results.machine()  # where it was made, for the report
  again = cli(*args, workdir=tmp_path / 'run')
  assert again.returncode == 0
  rerun = json.loads((tmp_path / 'run' / 'summary.json').read_text())
  assert rerun['train_wall_time_s'] == summary['train_wall_time_s']


SLOW_EPOCH = """
import jax, jax.numpy as jnp
from experiments import signals

@jax.jit
def epoch(x, n):  # a compiled loop the main thread cannot leave: like a long epoch
  return jax.lax.fori_loop(0, n, lambda i, v: v * 1.0000001 + 1e-9, x)

epoch(jnp.float32(1.0), 1).block_until_ready()  # compiled now
with signals.checkpoint_on_signals():
  print('ready', flush=True)
  jax.device_get(epoch(jnp.float32(1.0), 2_000_000_000))  # about 7 s here
  print('the epoch finished', flush=True)
"""


def test_a_second_signal_stops_at_once_inside_a_compiled_epoch():
  # Python runs handlers only between bytecodes, and two signals pending during the epoch
  # used to collapse into one: a second Ctrl-C waited out the whole epoch.
  cmd = [sys.executable, '-c', SLOW_EPOCH]
  pipes = {'stdout': subprocess.PIPE, 'stderr': subprocess.PIPE}
  proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, text=True, **pipes)
  assert proc.stdout.readline().strip() == 'ready'
  time.sleep(0.5)
  proc.send_signal(signal.SIGTERM)
  time.sleep(0.5)
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 128 + signal.SIGTERM
  assert 'the epoch finished' not in out
  assert 'stopping after this epoch' in err and 'SIGTERM again: stopping now' in err


@pytest.mark.slow
def test_interrupted_checkpoint_save_is_ignored(tmp_path, reference_run):
  """A kill during the last save leaves orbax's temporary directory and the epoch's records."""
  reference = reference_run('single')  # 6 epochs
  shutil.copytree(reference, tmp_path / 'run')  # the same command's run
  ckpt = tmp_path / 'run' / 'checkpoints' / 'program_000_000'
  shutil.rmtree(ckpt / '6')
  (ckpt / '6.orbax-checkpoint-tmp').mkdir()
  (ckpt / '6.orbax-checkpoint-tmp' / 'partial').write_text('garbage')
  resumed = cli(*RESUMABLE['single'], workdir=tmp_path / 'run')
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert 'resumed from the checkpoint of epoch 5' in resumed.stderr
  assert _metrics(tmp_path / 'run') == _metrics(reference)


@pytest.mark.slow
def test_workdir_of_another_config_is_refused_unless_fresh(tmp_path):
  assert cli(SMOKE, workdir=tmp_path).returncode == 0
  proc = cli(SMOKE, '--config.optimizer.b2=0.99', workdir=tmp_path)
  assert proc.returncode == 2
  assert 'holds a run of a different config (differs in: optimizer.b2)' in proc.stderr
  assert '--fresh' in proc.stderr
  proc = cli(SMOKE, '--config.optimizer.b2=0.99', '--fresh', workdir=tmp_path)
  assert proc.returncode == 0
  assert json.loads((tmp_path / 'config.json').read_text())['optimizer']['b2'] == 0.99
  # What make reproduce passes: another config's run is replaced, this config's is kept.
  proc = cli(SMOKE, '--config.optimizer.b2=0.9', '--replace_other_config', workdir=tmp_path)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert 'replacing it' in proc.stderr
  assert json.loads((tmp_path / 'config.json').read_text())['optimizer']['b2'] == 0.9
  proc = cli(SMOKE, '--config.optimizer.b2=0.9', '--replace_other_config', workdir=tmp_path)
  assert proc.returncode == 0 and 'complete in its checkpoint' in proc.stderr


def test_a_run_that_failed_before_training_does_not_block_the_corrected_command(tmp_path):
  failed = cli(SMOKE, '--config.batch_size=500', workdir=tmp_path)
  assert failed.returncode == 1 and 'larger than the training set' in failed.stderr
  proc = cli(SMOKE, workdir=tmp_path)  # it left a config.json, but no results
  assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.slow
def test_a_half_written_last_record_is_left_out_on_resume(tmp_path):
  args = (SMOKE, '--config.num_epochs=3', EVERY_EPOCH)
  whole, cut = tmp_path / 'whole', tmp_path / 'cut'
  assert cli(*args, workdir=whole).returncode == 0
  # As if killed while appending the first program's epoch 3 records, before its
  # checkpoint (programs run one after another: the second had not started).
  shutil.copytree(whole, cut)
  lines = (cut / 'metrics.jsonl').read_text().splitlines(keepends=True)
  first = [i for i, line in enumerate(lines) if json.loads(line)['epoch'] == 3][1]
  (cut / 'metrics.jsonl').write_text(''.join(lines[:first]) + lines[first][:40])
  started, *later = sorted((cut / 'checkpoints').iterdir())
  shutil.rmtree(started / '3')
  for program in later:
    shutil.rmtree(program)
  (cut / 'summary.json').unlink()
  proc = cli(*args, workdir=cut)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert 'half-written last line' in proc.stderr and 'resumed' in proc.stderr
  assert _metrics(cut) == _metrics(whole)
  # TensorBoard is rebuilt from the kept records: the retrained epoch is there once.
  for point in ('point_000', 'point_002'):
    events = _tensorboard_scalars(cut / 'tensorboard' / point)
    assert sorted(events) == sorted(_tensorboard_scalars(whole / 'tensorboard' / point))
    assert len(events) == len(set(events))


def _tensorboard_scalars(folder) -> list[tuple[str, int]]:
  """(tag, step) of every scalar in a TensorBoard folder's event files (TFRecord frames)."""
  from tensorboardX.proto import event_pb2

  out = []
  for path in sorted(folder.iterdir()):
    data, i = path.read_bytes(), 0
    while i < len(data):
      (length,) = struct.unpack('<Q', data[i : i + 8])
      event = event_pb2.Event.FromString(data[i + 12 : i + 12 + length])
      out += [(v.tag, event.step) for v in event.summary.value]
      i += 12 + length + 4
  return out


def test_checkpoints_every_0_epochs_still_save_the_end(tmp_path):
  args = (SMOKE, '--config.num_epochs=1', '--config.checkpoint.every_epochs=0')
  assert cli(*args, workdir=tmp_path).returncode == 0
  again = cli(*args, workdir=tmp_path)  # reused, not trained again
  assert again.returncode == 0 and 'complete in its checkpoint' in again.stderr


@pytest.mark.slow
def test_same_config_and_seed_twice_gives_identical_metrics(tmp_path):
  for name in ('a', 'b'):
    assert cli(SMOKE, workdir=tmp_path / name).returncode == 0
  assert _metrics(tmp_path / 'a') == _metrics(tmp_path / 'b')
  assert cli(SMOKE, '--config.seed=1', workdir=tmp_path / 'c').returncode == 0
  assert _metrics(tmp_path / 'c') != _metrics(tmp_path / 'a')
