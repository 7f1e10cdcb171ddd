"""extend_grid: a choice at an end of its α grid grows the grid until it is inside."""

from __future__ import annotations

import json
import math
import signal
import time

import forkserver
import pytest
from conftest import cli_env

from configs import common
from experiments import extend, select
from experiments import sweep as sweep_lib
from experiments.point import Point

A = 'optimizer.learning_rate'


def test_step_beyond_uses_the_grids_own_step():
  assert extend.step_beyond([0.003, 0.01, 0.03, 0.1], 'largest') == pytest.approx(0.333333)
  assert extend.step_beyond([0.003, 0.01, 0.03, 0.1], 'smallest') == 0.0009
  assert extend.step_beyond([1e-5, 1e-4, 1e-3], 'smallest') == 1e-6
  assert extend.step_beyond([0.0, 0.5, 1.0], 'largest') == 1.5  # not a log grid
  assert extend.step_beyond([0.0, 0.5, 1.0], 'smallest') == -0.5


def _config(rerun_by=()):
  config = common.base()
  config.eval.select_metric = 'loss'
  config.rerun_by = rerun_by
  return config


def _points(losses, program=0, first=0, extra=None):
  """Points of one program: α -> validation loss (None: diverged)."""
  out = []
  for i, (alpha, loss) in enumerate(losses.items()):
    p = Point(first + i, program, {'optimizer.name': 'adam'}, {A: alpha, **(extra or {})})
    p.final = {'validation': {'loss': math.nan if loss is None else loss, 'accuracy': 0.5}}
    p.diverged_step = 3 if loss is None else None
    out.append(p)
  return out


def _program(alphas, index=0, extra=None):
  points = [{A: a, **(extra or {})} for a in alphas]
  return sweep_lib.Program(index, {'optimizer.name': 'adam'}, points, 0)


def test_a_choice_at_either_end_is_an_edge_and_one_inside_is_not():
  tuning = [_program([0.01, 0.1, 1.0])]
  (edge,) = extend.edges(_config(), tuning, _points({0.01: 3.0, 0.1: 2.0, 1.0: 1.0}), {})
  assert (edge.end, edge.chosen, edge.beyond, edge.reason) == ('largest', 1.0, 10.0, '')
  (edge,) = extend.edges(_config(), tuning, _points({0.01: 1.0, 0.1: 2.0, 1.0: 3.0}), {})
  assert (edge.end, edge.chosen, edge.beyond) == ('smallest', 0.01, 0.001)
  assert extend.edges(_config(), tuning, _points({0.01: 3.0, 0.1: 1.0, 1.0: 2.0}), {}) == []


def test_an_extension_that_diverges_ends_the_search_inside():
  tuning = [_program([0.01, 0.1, 1.0])]
  points = _points({0.01: 3.0, 0.1: 2.0, 1.0: 1.0})
  points += _points({10.0: None}, program=1, first=3)  # the step beyond diverged
  assert extend.edges(_config(), tuning, points, {1: 0}) == []
  per_program = select.best_per_program(points, 'loss', extends={1: 0})
  assert list(per_program) == [0] and per_program[0].get(A) == 1.0


def test_the_extension_is_chosen_among_and_gives_up_after_max_steps():
  tuning = [_program([0.01, 0.1])]
  losses = {0.01: 5.0, 0.1: 4.0}
  points, extends = _points(losses), {}
  for step in range(_config().extend_grid_steps):
    (edge,) = extend.edges(_config(), tuning, points, extends)
    assert edge.beyond == pytest.approx(0.1 * 10 ** (step + 1)) and not edge.reason
    points += _points({edge.beyond: 3.0 - step}, program=1 + step, first=len(points))
    extends[1 + step] = 0
  (edge,) = extend.edges(_config(), tuning, points, extends)
  assert edge.beyond is None and 'still chosen at its end' in edge.reason
  assert edge.grid == (0.01, 0.1, 1.0, 10.0, 100.0)


def test_rerun_by_groups_are_extended_separately():
  group_a, group_b = {'optimizer.b1': 0.0}, {'optimizer.b1': 0.9}
  tuning = [
    sweep_lib.Program(
      0,
      {'optimizer.name': 'adam'},
      [{A: a, **g} for g in (group_a, group_b) for a in (0.01, 0.1, 1.0)],
      0,
    )
  ]
  points = _points({0.01: 1.0, 0.1: 2.0, 1.0: 3.0}, extra=group_a)
  points += _points({0.01: 3.0, 0.1: 1.0, 1.0: 2.0}, first=3, extra=group_b)
  (edge,) = extend.edges(_config(rerun_by=('optimizer.b1',)), tuning, points, {})
  assert edge.group == group_a and edge.end == 'smallest'
  program = extend.extension_program([edge], tuning[0], 5, 100)
  assert program.points == [{A: 0.001, 'optimizer.b1': 0.0}]
  assert (program.index, program.first_grid_index) == (5, 100)
  # Two cells grown by different α in one extension program: one entry each.
  points += _points({0.001: 0.5}, program=5, first=6, extra=group_a)
  points += _points({10.0: 0.4}, program=5, first=7, extra=group_b)
  config = _config(rerun_by=('optimizer.b1',))
  entries = extend.summary(config, tuning, points, {5: 0})['grid_extensions']
  assert [(e['group'], e['added'], e['program']) for e in entries] == [
    (group_a, 0.001, 0),
    (group_b, 10.0, 0),
  ]


def _run(workdir, *extra) -> forkserver.Child:
  """Starts the run (a forked child: tests/forkserver.py); its output in ``workdir``.log."""
  argv = [
    '--config=configs/lr_mnist.py:smoke',
    f'--workdir={workdir}',
    '--config.extend_grid=True',
    '--config.extend_grid_steps=3',  # a smoke config takes one
    '--sweep=optimizer.name=adam',
    '--sweep=optimizer.learning_rate=1e-4,3e-4',
    '--config.batch_size=16',  # 4 steps an epoch: α = 0.0081 is still best, at the end
    *extra,
  ]
  log = f'{workdir}.log'
  return forkserver.popen(argv, cli_env(), log, log)


def _output(child: forkserver.Child) -> str:
  with open(child.stdout_path) as f:
    return f.read()


@pytest.mark.slow
def test_a_run_extends_records_and_resumes_after_kill(tmp_path):
  """End to end: tiny α's are chosen at the top; the grid grows; a kill -9 mid-way resumes."""
  whole = _run(tmp_path / 'whole')
  assert whole.wait(timeout=600) == 0, _output(whole)[-3000:]
  summary = json.loads((tmp_path / 'whole' / 'summary.json').read_text())
  added = [e['added'] for e in summary['grid_extensions']]
  assert added == [0.0009, 0.0027, 0.0081]
  assert all(e['program'] == 0 for e in summary['grid_extensions'])
  (edge,) = summary['grid_edges']
  assert edge['chosen'] == 0.0081 and 'still chosen at its end' in edge['reason']
  chosen = summary['configurations'][summary['best_configuration_per_program'][0]]
  assert chosen['hparams'][A] == 0.0081 and len(summary['best_configuration_per_program']) == 1

  broken = _run(tmp_path / 'broken')
  state = tmp_path / 'broken' / 'run_state.json'
  deadline = time.time() + 600
  while time.time() < deadline:  # kill it once the first extension is planned
    if state.exists() and 'grid_extensions/round_0' in state.read_text():
      break
    time.sleep(0.2)
  broken.send_signal(signal.SIGKILL)
  assert broken.wait(timeout=60) == -signal.SIGKILL
  resumed = _run(tmp_path / 'broken')
  assert resumed.wait(timeout=600) == 0, _output(resumed)[-3000:]
  again = json.loads((tmp_path / 'broken' / 'summary.json').read_text())
  for key in ('grid_extensions', 'grid_edges', 'configurations', 'best_configuration'):
    assert again[key] == summary[key], key
