"""make reproduce: every command is a valid config, quick is smaller, the pipeline end to end."""

from __future__ import annotations

import ast
import functools
import json
import os
import signal
import subprocess
import sys

import pytest
from absl import flags
from ml_collections import config_flags

from adam_jax import sweep
from experiments import report, reproduce, validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def screen_summary(best: dict[str, float]) -> dict:
  """A screening summary in which ``best[opt]`` has the highest validation accuracy."""
  points = []
  for i, (opt, lr, accuracy, diverged) in enumerate(
    [(o, lr, 0.5 + 0.1 * (lr == b), None) for o, b in best.items() for lr in (0.003, 0.01)]
    + [(o, 0.03, 0.99, 12) for o in best]  # diverged points are never chosen
  ):
    points.append(
      {
        'grid_index': i,
        'program': f'model.dropout=True, model.name=perez_cnn, optimizer.name={opt}',
        'hparams': {'optimizer.learning_rate': lr},
        'diverged_step': diverged,
        'final': {'validation': {'accuracy': accuracy, 'loss': 1.0}},
      }
    )
  return {'points': points, 'best_per_program': {}, 'num_epochs': 2, 'wall_time_s': 1.0}


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp('runs')
  os.makedirs(root / 'perez_cnn_screen')
  summary = screen_summary({'adam': 0.01, 'adamax': 0.003})
  (root / 'perez_cnn_screen' / 'summary.json').write_text(json.dumps(summary))
  return str(root)


def parse(argv: list[str]):
  """The config an ``experiments.run`` command line would run (parsed in-process)."""
  assert argv[:3] == ['python', '-m', 'experiments.run']
  args = [a.replace('--config=configs/', f'--config={ROOT}/configs/', 1) for a in argv[3:]]
  args = ['run', *(a for a in args if not a.startswith('--workdir='))]
  values = flags.FlagValues()
  # Overrides (--config.x=...) are found in sys_argv when the flag is defined.
  config_flags.DEFINE_config_file('config', None, flag_values=values, sys_argv=args)
  values(args)
  return values.config


def cost(config) -> int:
  """Epochs × grid points: what a run trains."""
  programs = sweep.expand(sweep.flatten(config.sweep.to_dict()))
  return config.num_epochs * sum(len(p.points) for p in programs)


@pytest.mark.parametrize('name', list(reproduce.BY_NAME))
def test_every_command_is_a_valid_config_and_quick_is_smaller(name, runs):
  experiment = reproduce.BY_NAME[name]
  full = parse(reproduce.command(experiment, runs, quick=False))
  quick = parse(reproduce.command(experiment, runs, quick=True))
  validate.validate(full)
  validate.validate(quick)
  for flag in experiment.quick:  # each quick override wins (a repeated tuple flag appends)
    key, _, value = flag.partition('=')
    got = functools.reduce(getattr, key.removeprefix('--config.').split('.'), quick)
    expected = ast.literal_eval(value)
    assert (tuple(got) if isinstance(got, tuple | list) else got) == expected, flag
  assert cost(quick) <= cost(full)
  if cost(full) >= 100 and name != 'perez_lr':  # every costly experiment is cut down
    assert cost(quick) < cost(full) / 2
  if experiment.config.startswith('configs/perez_mnist.py') or name.startswith('fig'):
    assert full.dataset.name == 'fashion_mnist'  # the real data this machine has


def test_cnn_final_runs_take_the_alpha_the_screen_chose(runs):
  adam = parse(reproduce.command(reproduce.BY_NAME['perez_cnn_adam'], runs, quick=False))
  adamax = parse(reproduce.command(reproduce.BY_NAME['perez_cnn_adamax'], runs, quick=False))
  assert adam.sweep.optimizer.learning_rate == (0.01,)
  assert adamax.sweep.optimizer.learning_rate == (0.003,)
  assert adam.sweep.optimizer.name == ('adam',) and adam.num_epochs == 20


def test_a_dependent_experiment_without_its_screen_is_skipped(tmp_path):
  status = reproduce.run_one(reproduce.BY_NAME['perez_cnn_adam'], str(tmp_path), False, True)
  assert status['status'] == 'skipped' and 'perez_cnn_screen' in status['why']


def test_a_later_flag_replaces_an_earlier_one():
  merged = reproduce.merge_flags(('--a=(1, 2)', '--b=1'), ('--a=(3,)',), ('--c=2',))
  assert merged == ['--a=(3,)', '--b=1', '--c=2']


def test_shell_join_quotes_what_a_shell_would_split():
  line = reproduce.shell_join(['python', "--config.sweep.x=('a', 'b')", '--config.y=1e-3'])
  assert line == "python \"--config.sweep.x=('a', 'b')\" --config.y=1e-3"


def test_pipeline_end_to_end_on_synthetic_data(tmp_path):
  """--smoke runs the real commands on random arrays; the report reads their results."""
  only = 'reddi,fig4_vae,perez_cnn_screen,perez_cnn_adam'
  cmd = [sys.executable, '-m', 'experiments.reproduce', '--smoke', f'--only={only}']
  cmd += [f'--runs={tmp_path}/runs', f'--out={tmp_path}/out']
  proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  text = (tmp_path / 'out' / 'REPORT.md').read_text()
  figures = sorted(os.listdir(tmp_path / 'out' / 'figures'))
  assert figures == ['fig4_vae_figure4.png', 'perez.png', 'reddi_reddi.png']
  for name in only.split(','):
    assert f'--workdir={tmp_path}/runs/{name}' in text  # its command, with its wall time
  # The CNN trained at the α its screen chose on validation accuracy.
  screen = report.Run.load(f'{tmp_path}/runs', 'perez_cnn_screen')
  adam = [p for p in screen.points if p['hp']['optimizer.name'] == 'adam']
  best = max(adam, key=lambda p: (report.acc(p, 'validation'), -report.loss(p, 'validation')))
  alpha = best['hp']['optimizer.learning_rate']
  assert f'"--config.sweep.optimizer.learning_rate=({alpha!r},)"' in text
  assert '| CNN, Adam, α/√t, 1 epoch |' in text  # the goals table, from the run
  assert text.lower().count("the paper's finding **") == 3  # Reddi online/stochastic, Figure 4
  assert 'Not run yet.** `python -m experiments.reproduce --only=fig1_lr`' in text


def test_unknown_experiment_is_a_usage_error():
  cmd = [sys.executable, '-m', 'experiments.reproduce', '--only=fig9', '--report_only']
  proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2
  assert 'fig9' in proc.stdout


CHILD = """
import signal, sys, time
def save(*_):
  print('child saved its checkpoint', flush=True)
  sys.exit(143)
signal.signal(signal.SIGTERM, save)
print('child', 'ready', flush=True)  # not the text of the command the parent prints
time.sleep(120)
"""

PARENT = f"""
import signal, sys
from experiments import reproduce
reproduce.command = lambda *args: ['python', '-c', {CHILD!r}]  # a child that runs until told
signal.signal(signal.SIGTERM, reproduce._stop_on_sigterm)
try:
  reproduce.run_one(reproduce.BY_NAME['reddi'], 'unused', False, False)
except reproduce.Stopped as e:
  print('parent stopped', e.args[0], flush=True)
  sys.exit(e.args[0])
"""


def test_sigterm_lets_the_running_experiment_checkpoint_then_exits_143():
  parent = subprocess.Popen(
    [sys.executable, '-c', PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True
  )
  lines = []
  for line in parent.stdout:
    lines.append(line)
    if 'child ready' in line:
      parent.send_signal(signal.SIGTERM)  # to the parent alone, as `kill PID` does
  parent.wait(timeout=60)
  out = ''.join(lines)
  assert parent.returncode == 143, out
  assert 'child saved its checkpoint' in out and 'parent stopped 143' in out
