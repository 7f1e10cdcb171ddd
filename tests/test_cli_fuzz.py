"""Fuzzing `python -m experiments.run`: whatever the arguments, a clean exit status and message.

Random (seeded) combinations of overrides, sweeps and config arguments over every config's
`:smoke` variant. Whatever the combination, the command exits 0 (done), 2 (invalid config or
usage: stderr is the one line 'error: ...') or 1 (failure at run time: stderr ends with
'error: ...'), and never prints a traceback. Most cases stop at --dry_run (validation only);
a few valid ones train lr_mnist for one epoch, and must train the grid --dry_run announced.
Then the regression cases of the issue, and of bugs the fuzzing found.

More cases: ADAM_JAX_FUZZ_CASES=200 pytest -p no:xdist tests/test_cli_fuzz.py -k dry_run
"""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
from pathlib import Path

import forkserver
import pytest
from conftest import cli_env as suite_env
from conftest import run_cli_forked

from adam_jax import OPTIMIZERS, optimizer_hparams
from configs import common

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted(
  p.stem for p in (ROOT / 'configs').glob('*.py') if p.name not in ('common.py', '__init__.py')
)
CHEAPEST = 'configs/lr_mnist.py:smoke'
NUM_DRY_CASES = int(os.environ.get('ADAM_JAX_FUZZ_CASES', '20'))
NUM_REAL_CASES = 3

# Values to try for each kind of optimizer option, plausible and implausible.
VALUES = {
  float: ['0.5', '0.0', '1e-8', '0.99', '-1', '2', 'abc', 'True', 'nan', 'inf', '1e400'],
  bool: ['True', 'False', 'true', '0', '1', 'maybe', '0.5'],
  str: ['paper', 'optax', 'torch', 'bfloat16', 'float32', 'nosuch', '1', 'True'],
}
# A valid value of every optimizer hyperparameter the command line may set.
VALID = {
  'eps_root': '1e-8',
  'b1_decay': '0.999',
  'bias_correction': 'False',
  'variant': 'torch',
  'weight_decay': '0.01',
  'momentum': '0.9',
  'nesterov': 'True',
  'accumulator_dtype': 'bfloat16',
  'mu_dtype': 'bfloat16',
  'initial_accumulator_value': '0.1',
  'decay': '0.9',
  'initial_scale': '1.0',
  'eps_in_sqrt': 'False',
  'centered': 'True',
  'rho': '0.95',
  'b1': '0.8',
  'b2': '0.99',
  'eps': '1e-7',
}
# Two valid values of each, to sweep.
VALID_SWEEP_VALUES = {
  'eps_root': '0,1e-8',
  'b1_decay': '0.99,1',
  'bias_correction': 'True,False',
  'variant': 'paper,torch',
  'weight_decay': '0,0.01',
  'momentum': '0.5,0.9',
  'nesterov': 'True,False',
  'accumulator_dtype': 'float32,bfloat16',
  'mu_dtype': 'float32,bfloat16',
  'initial_accumulator_value': '0.01,0.1',
  'decay': '0.9,0.99',
  'initial_scale': '0,1',
  'eps_in_sqrt': 'True,False',
  'centered': 'True,False',
  'rho': '0.9,0.95',
  'b1': '0,0.9',
  'b2': '0.99,0.999',
  'eps': '1e-8,1e-6',
}
VALID_OVERRIDES = [
  'optimizer.learning_rate=0.1',
  'optimizer.learning_rate=1e-3',
  'optimizer.schedule=constant',
  'optimizer.schedule=inverse_sqrt',
  'optimizer.bias_correction=False',
  'model.dropout=True',
  'model.dropout=False',
  'model.l2=1e-4',
  'num_epochs=1',
  'seed=3',
  'dataset.name=fashion_mnist',
  'grid_strategy=map',
  'grid_chunk_size=1',
]
INVALID_OVERRIDES = [
  'optimizer.learning_rate=-1',
  'optimizer.learning_rate=0',
  'optimizer.learning_rate=abc',
  'optimizer.learning_rate=True',
  'optimizer.learning_rate=nan',
  'optimizer.b1=1.5',
  'optimizer.b2=1',
  'optimizer.eps=-1e-8',
  'optimizer.schedule=cosine',
  'optimizer.bias_correction=0.5',
  'model.dropout=0.5',
  'model.l2=-1',
  'model.name=vae',
  'model.name=linear',
  'model.name=nosuch',
  'optimizer.foo=1',
  'model.foo=1',
  'dataset.bogus=x',
  'bar=1',
  'sweep=1',
  'optimizer=1',
  'num_epochs=0',
  'num_epochs=1.5',
  'num_epochs=abc',
  'batch_size=-1',
  'seed=abc',
  'dataset.name=nosuch',
  'dataset.name=reddi_online',
  'eval.select_metric=nosuch',
  'grid_strategy=nosuch',
  'grid_chunk_size=-1',
  'mesh.grid=2',
  'experiment=reddi',
  'experiment=nosuch',
  'plot=nosuch',
]
VALID_SWEEPS = [
  'optimizer.nesterov=True,False',
  'optimizer.learning_rate=1e-3,1e-2',
  'optimizer.b2=0.99,0.999',
  'optimizer.b1=0.0,0.9',
  'optimizer.name=adam,sgd',
  'optimizer.name=adam,adamax',
  'optimizer.momentum=0.5,0.9',
  'optimizer.bias_correction=True,False',
  'model.dropout=True,False',
  'model.l2=0,1e-4',
  'seed=0,1',
]
INVALID_SWEEPS = [
  'optimizer.learning_rate=1e-3,-1',
  'optimizer.learning_rate=abc,1',
  'optimizer.b2=0.9,2',
  'optimizer.name=adam,nosuch',
  'dataset.name=mnist,nosuch',
  'nosuch.key=1,2',
  'optimizer.foo=1,2',
  'sweep.x=1,2',
  'optimizer=1,2',
  'optimizer.learning_rate.x=1,2',
  'optimizer.learning_rate',
  'optimizer.learning_rate=',
  '=1,2',
]
BAD_CONFIG_ARGS = ['smoke,bogus', 'bogus,smoke', 'smoke,', 'smoke,,fmnist']


def random_override(rng: random.Random, plausible: bool) -> str:
  """One `--config.PATH=VALUE`: an optimizer name, an optimizer option, or another field."""
  kind = rng.random()
  if kind < 0.25:
    names = [*OPTIMIZERS] if plausible else [*OPTIMIZERS, 'X', 'nosuch', 'ADAM', '']
    return f'--config.optimizer.name={rng.choice(names)}'
  if kind < 0.55:
    key, typ = rng.choice(list(common.OPTIMIZER_OPTIONS.items()))
    value = VALID[key] if plausible else rng.choice(VALUES[typ])
    return f'--config.optimizer.{key}={value}'
  return f'--config.{rng.choice(VALID_OVERRIDES if plausible else INVALID_OVERRIDES)}'


def random_dry_case(k: int) -> list[str]:
  """Arguments of fuzz case ``k`` (after `python -m experiments.run`), ending in --dry_run.

  Plausible overrides and sweeps (each valid alone, not always together), and in most cases
  one implausible thing among them, so that it is not hidden behind another.
  """
  rng = random.Random(k)
  name = CONFIGS[k % len(CONFIGS)]  # every config, in turn
  args = [random_override(rng, True) for _ in range(rng.randint(0, 3))]
  args += [f'--sweep={rng.choice(VALID_SWEEPS)}' for _ in range(rng.choice([0, 0, 1, 2]))]
  rng.shuffle(args)
  config = f'--config=configs/{name}.py:smoke'
  bad = rng.choice(['none', 'override', 'override', 'sweep', 'sweep', 'config_arg', 'order'])
  if bad == 'override':
    args.insert(rng.randint(0, len(args)), random_override(rng, False))
  elif bad == 'sweep':
    args.insert(rng.randint(0, len(args)), f'--sweep={rng.choice(INVALID_SWEEPS)}')
  elif bad == 'config_arg':
    config = f'--config=configs/{name}.py:{rng.choice(BAD_CONFIG_ARGS)}'
  elif bad == 'order' and args:  # an override before --config
    return [*args[:1], config, *args[1:], '--dry_run']
  return [config, *args, '--dry_run']


# The optimizers with the most options (structural ones among them), one per training case.
REAL_OPTIMIZERS = ('rmsprop', 'sgd', 'adam', 'amsgrad', 'adamw', 'adadelta')


def random_real_case(k: int) -> list[str]:
  """A valid command (lr_mnist, one epoch): an optimizer, some of the options it takes, and
  maybe a sweep over one of them."""
  rng = random.Random(1000 + k)
  name = REAL_OPTIMIZERS[k % len(REAL_OPTIMIZERS)]
  args = [f'--config={CHEAPEST}', '--config.num_epochs=1', f'--config.optimizer.name={name}']
  options = [key for key in optimizer_hparams(name) if key in VALID]
  for key in options:
    if rng.random() < 0.6:
      args.append(f'--config.optimizer.{key}={VALID[key]}')
  if rng.random() < 0.5:
    args.append(f'--config.model.dropout={rng.choice(["True", "False"])}')
  if rng.random() < 0.7:
    key = rng.choice(options)
    args.append(f'--sweep=optimizer.{key}={VALID_SWEEP_VALUES[key]}')
  if rng.random() < 0.3:
    args.append('--sweep=optimizer.learning_rate=0.01,0.1')
  return args


def cli_env(**env: str) -> dict[str, str]:
  """The environment of the commands: the suite's (conftest.cli_env), on the CPU, plus ``env``."""
  return suite_env(JAX_PLATFORMS='cpu', **env)


def run_cli(*args: str, cwd: Path | str = ROOT, **env: str) -> subprocess.CompletedProcess:
  return forkserver.run(args, cli_env(**env), cwd=cwd)


def describe(proc: subprocess.CompletedProcess) -> str:
  command = shlex.join(['python', *proc.args[1:]])
  return (
    f'\ncommand (in {ROOT}): {command}\nexit status: {proc.returncode}\n'
    f'stdout (end):\n{proc.stdout[-1500:]}\nstderr (end):\n{proc.stderr[-3000:]}'
  )


def check_exit(proc: subprocess.CompletedProcess) -> None:
  """The CLI's contract: exit 0, 1 or 2; no traceback; 'error: ...' as documented."""
  why = describe(proc)
  assert proc.returncode in (0, 1, 2), why
  assert 'Traceback' not in proc.stderr, why
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  if proc.returncode == 2:
    assert len(lines) == 1, f'exit 2 wants exactly one line on stderr{why}'
    assert lines[0].startswith('error:'), why
  if proc.returncode == 1:
    assert lines and lines[-1].startswith('error:'), why


def grid_points(proc: subprocess.CompletedProcess) -> int:
  """The number of grid points --dry_run announces ('train: 2 program(s), 4 grid point(s)')."""
  head = proc.stdout.splitlines()[0] if proc.stdout else ''
  assert ' grid point(s)' in head, describe(proc)
  return int(head.split(' grid point(s)')[0].rsplit(' ', 1)[-1])


def program_lines(stdout: str) -> list[str]:
  return [line for line in stdout.splitlines() if line.strip().startswith('program ')]


def run_as_announced(args: list[str], workdir: Path) -> dict:
  """Runs ``args`` after their --dry_run: exit 0, and the grid points the dry run listed."""
  dry = run_cli(*args, '--dry_run')
  check_exit(dry)
  assert dry.returncode == 0, describe(dry)
  proc = run_cli(*args, f'--workdir={workdir}')
  check_exit(proc)
  assert proc.returncode == 0, describe(proc)
  summary = json.loads((workdir / 'summary.json').read_text())
  indices = sorted(p['grid_index'] for p in summary['points'])
  assert indices == list(range(grid_points(dry))), f'trained {indices}{describe(dry)}'
  return summary


def test_random_dry_runs():
  """Each case a process of its own, forked from one that imported the entry point."""
  cases = [random_dry_case(k) for k in range(NUM_DRY_CASES)]
  for proc in run_cli_forked(cases, cli_env()):
    check_exit(proc)
    if proc.returncode == 0:
      assert 'nothing trained' in proc.stdout, describe(proc)
      assert len(program_lines(proc.stdout)) >= 1, describe(proc)
      assert grid_points(proc) >= 1


@pytest.mark.slow
@pytest.mark.parametrize('k', range(NUM_REAL_CASES))
def test_random_valid_run(k, tmp_path):
  run_as_announced(random_real_case(k), tmp_path)


def test_the_fuzzing_reaches_everything():
  """Every config is fuzzed, and the generators draw every optimizer, option and mistake."""
  cases = [random_dry_case(k) for k in range(NUM_DRY_CASES)]
  configs = {a.split('/')[1].split('.py')[0] for c in cases for a in c if a.startswith('--config=')}
  assert configs == set(CONFIGS)
  pool = {random_override(random.Random(i), i % 2 == 0) for i in range(3000)}
  for name in OPTIMIZERS:
    assert f'--config.optimizer.name={name}' in pool
  for key in common.OPTIMIZER_OPTIONS:
    assert any(a.startswith(f'--config.optimizer.{key}=') for a in pool), key
  assert {f'--config.{o}' for o in VALID_OVERRIDES + INVALID_OVERRIDES} <= pool
  assert set(VALID) >= set(common.OPTIMIZER_OPTIONS)
  assert set(VALID_SWEEP_VALUES) >= set(common.OPTIMIZER_OPTIONS)


# Regression cases of the issue.


def test_an_override_of_a_swept_value_replaces_the_sweep():
  proc = run_cli(
    '--config=configs/mlp_mnist.py', '--config.optimizer.learning_rate=1e12', '--dry_run'
  )
  check_exit(proc)
  assert proc.returncode == 0, describe(proc)
  assert grid_points(proc) == 1, describe(proc)
  assert 'replaces the sweep' in proc.stderr, describe(proc)


NESTEROV_SWEEP = (
  '--config.optimizer.name=sgd',
  '--config.optimizer.momentum=0.9',
  '--sweep=optimizer.nesterov=True,False',
)


def test_sweeping_nesterov_makes_one_program_per_value():
  proc = run_cli('--config=configs/mlp_mnist.py:dropout', *NESTEROV_SWEEP, '--dry_run')
  check_exit(proc)
  assert proc.returncode == 0, describe(proc)
  programs = program_lines(proc.stdout)
  assert len(programs) == 2, describe(proc)
  assert any('nesterov=True' in p for p in programs), describe(proc)
  assert any('nesterov=False' in p for p in programs), describe(proc)


@pytest.mark.slow
def test_sweeping_nesterov_trains(tmp_path):
  args = ['--config=configs/mlp_mnist.py:dropout,smoke', '--config.num_epochs=1', *NESTEROV_SWEEP]
  summary = run_as_announced(args, tmp_path)  # no TracerBoolConversionError
  assert {p['program'] for p in summary['points']} == {0, 1}


@pytest.mark.parametrize(
  'overrides',
  [
    ('--config.optimizer.name=adamw', '--config.optimizer.weight_decay=0.1'),
    ('--config.optimizer.bias_correction=False',),
  ],
)
def test_optimizer_options_on_lr_mnist(overrides):
  proc = run_cli(f'--config={CHEAPEST}', *overrides, '--dry_run')
  check_exit(proc)
  assert proc.returncode == 0, describe(proc)


def test_an_option_no_optimizer_of_the_run_takes_is_a_usage_error():
  proc = run_cli(
    f'--config={CHEAPEST}', '--config.optimizer.name=sgd', '--config.optimizer.b2=0.5', '--dry_run'
  )
  check_exit(proc)
  assert proc.returncode == 2, describe(proc)
  assert 'b2' in proc.stderr, describe(proc)


# Found by the fuzzing.


@pytest.mark.parametrize('sweep', ['optimizer=1,2', 'optimizer.learning_rate.x=1,2'])
def test_a_sweep_path_through_a_section_or_a_value_is_a_usage_error(sweep):
  """Was a traceback (TypeError from ml_collections / from sweep.set_path), exit 1."""
  proc = run_cli(f'--config={CHEAPEST}', f'--sweep={sweep}', '--dry_run')
  check_exit(proc)
  assert proc.returncode == 2, describe(proc)


@pytest.mark.slow
def test_reddi_trains_the_grid_its_dry_run_announces(tmp_path):
  """A swept learning rate must either be refused (exit 2) or be trained: reddi ran only the
  first point of each program (grid indices 0, 2, 4, 6 of 8) at the config's own α."""
  args = ['--config=configs/reddi.py:smoke', '--sweep=optimizer.learning_rate=0.1,0.5']
  dry = run_cli(*args, '--dry_run')
  check_exit(dry)
  if dry.returncode != 2:
    run_as_announced(args, tmp_path)


def test_reddi_refuses_a_sweep_of_an_option_its_optimizers_do_not_take():
  """As a train config does ('optimizer 'adam' does not take 'momentum''); reddi said 0."""
  proc = run_cli(
    '--config=configs/reddi.py:smoke', '--sweep=optimizer.momentum=0.5,0.9', '--dry_run'
  )
  check_exit(proc)
  assert proc.returncode == 2, describe(proc)


@pytest.mark.slow
def test_a_swept_mesh_larger_than_the_devices_fails_cleanly(tmp_path):
  """--dry_run accepted mesh.grid=2 on one device; the run then died in a traceback
  (ValueError from train.make_mesh). Refusing it up front (exit 2) or failing with an
  'error:' line (exit 1) would both do."""
  args = [f'--config={CHEAPEST}', '--config.num_epochs=1', '--config.optimizer.name=adam']
  args.append('--sweep=mesh.grid=2,1')  # the 2-device program first: it fails at once
  dry = run_cli(*args, '--dry_run')
  check_exit(dry)
  if dry.returncode == 0:
    proc = run_cli(*args, f'--workdir={tmp_path}')
    check_exit(proc)
    assert proc.returncode == 1, describe(proc)
