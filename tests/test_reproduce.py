"""make reproduce: every command is a valid config, quick is smaller, the pipeline end to end."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys

import forkserver
import pytest
from absl import flags
from conftest import cli_env
from ml_collections import config_flags

from experiments import archive, programs, reproduce, results, rundir, select, steps, validate
from experiments.command_line import apply_command_line
from experiments.point import Point

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def screen_points(best: dict[str, float]) -> list[Point]:
  """Screening points in which ``best[opt]`` has the highest validation accuracy."""
  rows = [(o, lr, 0.5 + 0.1 * (lr == b), None) for o, b in best.items() for lr in (0.003, 0.01)]
  rows += [(o, 0.03, 0.99, 12) for o in best]  # diverged points are never chosen
  return [
    Point(
      i,
      list(best).index(opt),
      {'model.dropout': True, 'model.name': 'perez_cnn', 'optimizer.name': opt},
      {'optimizer.learning_rate': lr},
      diverged,
      {'validation': {'accuracy': accuracy, 'loss': 1.0}},
    )
    for i, (opt, lr, accuracy, diverged) in enumerate(rows)
  ]


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp('runs')
  os.makedirs(root / 'perez_cnn_screen')
  summary = select.summarize(screen_points({'adam': 0.01, 'adamax': 0.003}), 2, 'accuracy', 1.0)
  rundir.dump_json({'format': rundir.FORMAT, **summary}, root / 'perez_cnn_screen' / 'summary.json')
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
  config = values.config
  apply_command_line(config, config_flags.get_override_values(values['config']))
  return config


def cost(config) -> int:
  """Epochs × grid points: what a run trains."""
  return config.num_epochs * sum(len(p.points) for p in programs.expand(config))


@pytest.mark.parametrize('name', list(reproduce.BY_NAME))
def test_every_step_is_a_config_file_with_arguments_and_quick_is_smaller(name, runs):
  step = reproduce.BY_NAME[name]
  argv = steps.command(step, runs, quick=False)
  # The recipe lives in the config: only the α of an earlier step comes as a flag.
  assert argv[4] == '--config.extend_grid=True'  # no choice at an edge of its α grid
  extra = [a for a in argv[5:] if not a.startswith('--workdir=')]
  assert extra == (['--config.optimizer.learning_rate=' + extra[0].split('=')[1]] if extra else [])
  assert bool(extra) == (step.learning_rate_from is not None)
  full, quick = parse(argv), parse(steps.command(step, runs, quick=True))
  validate.validate(full)
  validate.validate(quick)
  assert cost(quick) <= cost(full)
  if cost(full) >= 100 and name != 'perez_lr':  # every costly experiment is cut down
    assert cost(quick) < cost(full) / 2
  # The papers' MNIST experiments on MNIST; DeepOBS's problem, the generalization study
  # and Figure 3's CNN (CIFAR-10 in the paper) on Fashion-MNIST.
  stays = ('fmnist_2c2d', 'generalization', 'generalization_decoupled', 'fig3_cnn_first3')
  if name != 'reddi':
    assert full.dataset.name == ('fashion_mnist' if name in stays else 'mnist')


def test_cnn_final_runs_take_the_alpha_the_screen_chose(runs):
  adam = parse(steps.command(reproduce.BY_NAME['perez_cnn_adam'], runs, quick=False))
  adamax = parse(steps.command(reproduce.BY_NAME['perez_cnn_adamax'], runs, quick=False))
  assert adam.sweep.optimizer.learning_rate == (0.01,)
  assert adamax.sweep.optimizer.learning_rate == (0.003,)
  assert adam.sweep.optimizer.name == ('adam',) and adam.num_epochs == 20
  assert adam.sweep.model.dropout == (True, False)  # Pérez's table has both columns
  screen = parse(steps.command(reproduce.BY_NAME['perez_cnn_screen'], runs, quick=False))
  assert screen.seeds == 3


def test_a_finished_step_is_archived_and_restored_not_retrained(tmp_path, monkeypatch):
  runs, kept = tmp_path / 'runs', tmp_path / 'kept'
  status = steps.run_one(reproduce.BY_NAME['reddi'], str(runs), False, True, str(kept))
  assert status['status'] == 'ok'
  assert archive.archived_command(str(kept / 'reddi')) == status['command']
  original = results.Run.load(str(runs / 'reddi'))
  shutil.rmtree(runs)  # a new machine: no workdir, the archive in the repository
  monkeypatch.setattr(subprocess, 'Popen', None)  # restoring must not train
  again = steps.run_one(reproduce.BY_NAME['reddi'], str(runs), False, True, str(kept))
  assert again['status'] == 'ok' and again['process_s'] == 0.0
  restored = results.Run.load(str(runs / 'reddi'))
  assert restored.summary == original.summary and restored.records == original.records
  # Again: the restored run is found finished (it has no checkpoints to resume: not trained).
  again = steps.run_one(reproduce.BY_NAME['reddi'], str(runs), False, True, str(kept))
  assert again['status'] == 'ok' and again['process_s'] == 0.0
  (kept / 'reddi' / 'command.txt').write_text('an older recipe\n')  # a changed step retrains
  shutil.rmtree(runs)
  with pytest.raises(TypeError):  # it reached Popen (None here): it trains
    steps.run_one(reproduce.BY_NAME['reddi'], str(runs), False, True, str(kept))


def test_a_dependent_step_without_its_screen_is_skipped(tmp_path):
  status = steps.run_one(reproduce.BY_NAME['perez_cnn_adam'], str(tmp_path), False, True)
  assert status['status'] == 'skipped' and 'perez_cnn_screen' in status['why']


@pytest.mark.slow
def test_pipeline_end_to_end_on_synthetic_data(tmp_path):
  """--smoke runs the real commands on random arrays; the report reads their results."""
  only = 'reddi,fig4_vae,perez_cnn_screen,perez_cnn_adam'
  args = ['--smoke', f'--only={only}', f'--runs={tmp_path}/runs', f'--out={tmp_path}/out']
  proc = forkserver.run(args, cli_env(), module='experiments.reproduce')
  assert proc.returncode == 0, proc.stderr[-3000:]
  text = (tmp_path / 'out' / 'REPORT.md').read_text()
  figures = sorted(os.listdir(tmp_path / 'out' / 'figures'))
  assert figures == ['fig4_vae_figure4.png', 'perez.png', 'reddi_reddi.png']
  for name in only.split(','):
    assert f'--workdir={tmp_path}/runs/{name}' in text  # its command, with its wall time
  # The CNN trained at the α its screen chose on validation accuracy.
  screen = results.Run.load(f'{tmp_path}/runs/perez_cnn_screen')
  alpha = select.chosen_learning_rate(screen.points, 'adam')
  assert shlex.quote(f'--config.optimizer.learning_rate={alpha!r}') in text
  trained = results.Run.load(f'{tmp_path}/runs/perez_cnn_adam')
  assert {p.get('optimizer.learning_rate') for p in trained.points} == {alpha}
  # The `seeds` argument (a smoke run's two), after the screen's seeds (0, 1, 2 in the real
  # run), with and without dropout.
  assert sorted(p.get('seed') for p in trained.points) == [3, 3, 4, 4]
  epochs = trained.num_epochs
  for dropout in ('with', 'without'):  # the goals table, one row per cell, from the run
    row = next(r for r in text.splitlines() if r.startswith(f'| CNN {dropout} dropout, Adam, '))
    assert row.startswith(f'| CNN {dropout} dropout, Adam, α/√t, {epochs} epochs |')
    assert f'[{len(trained.points) // 2} seeds]' in row  # the run's seeds, mean ± std
  verdicts = re.findall(r"the paper's finding (?:is )?\*\*", text.lower())
  assert len(verdicts) == 1  # Figure 4; Reddi's online and stochastic runs are observations
  assert len(re.findall(r': \*\*observed\*\* ', text)) == 2
  assert "Holm's step-down procedure" in text and 'Holm p = ' in text  # one family
  # Figure 4's cells are chosen on the tuning grid, never on the seeds they are tested on;
  # its two claims are tested apart (instability: counts; the chosen loss: Welch). Smoke
  # grids keep the first two β2 values.
  assert "chosen on the tuning grid's validation loss (the run's rule), then trained again" in text
  assert '| Figure 4, VAE | without bias correction, β2 = 0.999 diverges more often' in text
  assert '| Figure 4, VAE | at β2 = 0.999 the chosen loss is lower with bias correction' in text
  assert '## Findings at a glance' in text  # every verdict, with the seeds behind it
  assert '±' in text  # the `seeds` and `rerun` runs: mean ± std
  assert 'Not run yet.** `python -m experiments.reproduce --only=fig1_lr`' in text


def test_unknown_experiment_is_a_usage_error():
  args = ['--only=fig9', '--report_only']
  proc = forkserver.run(args, cli_env(), timeout=120, module='experiments.reproduce')
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
from experiments import reproduce, steps
steps.command = lambda *args: ['python', '-c', {CHILD!r}]  # a child that runs until told
signal.signal(signal.SIGTERM, steps._stop_on_sigterm)
try:
  steps.run_one(reproduce.BY_NAME['reddi'], 'unused', False, False)
except steps.Stopped as e:
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
