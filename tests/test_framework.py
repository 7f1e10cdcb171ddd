"""The experiment framework's pieces.

Typed points, the selection rule, the run directory, the optimizer fields of every
config, and command-line values against sweeps.
"""

from __future__ import annotations

import importlib
import json
import math

import jax.numpy as jnp
import ml_collections
import optax
import pytest

import adam_jax
from adam_jax import OPTIMIZERS, optimizer_hparams
from configs import common
from experiments import config_diff, optimizers, programs, results, rundir, select, validate
from experiments.command_line import apply_command_line
from experiments.point import Point

# Functions of the parameter tree: set them through the library.
NOT_ON_THE_COMMAND_LINE = {'mask', 'weight_decay_mask', 'vector_mask'}


def point(gi, program=0, *, val_acc=None, val_loss=None, diverged=None, **hparams) -> Point:
  final = {'validation': {}}
  if val_loss is not None:
    final['validation']['loss'] = val_loss
  if val_acc is not None:
    final['validation']['accuracy'] = val_acc
  return Point(gi, program, {'optimizer.name': 'adam'}, hparams, diverged, final)


def test_accuracy_ties_go_to_the_lower_loss_and_diverged_points_are_never_chosen():
  points = [
    point(0, val_acc=0.9, val_loss=0.5),
    point(1, val_acc=0.9, val_loss=0.4),
    point(2, val_acc=0.99, val_loss=0.1, diverged=7),
    point(3, val_acc=math.nan, val_loss=0.05),
  ]
  assert select.best(points, 'accuracy').grid_index == 1
  assert select.best(points, 'loss').grid_index == 3  # by loss, its NaN accuracy is no bar
  assert select.best(points[2:], 'accuracy') is None


def test_loss_ties_go_to_the_higher_accuracy_then_the_earlier_point():
  points = [point(0, val_acc=0.8, val_loss=0.5), point(1, val_acc=0.9, val_loss=0.5)]
  assert select.best(points, 'loss').grid_index == 1
  assert select.best([point(0, val_loss=0.5), point(1, val_loss=0.5)]).grid_index == 0


def test_summary_chooses_per_program_and_round_trips_through_the_run_directory(tmp_path):
  points = [
    point(0, 0, val_acc=0.7, val_loss=0.9, **{'optimizer.learning_rate': 0.1}),
    point(1, 0, val_acc=0.8, val_loss=0.8, **{'optimizer.learning_rate': 0.01}),
    point(2, 1, val_acc=0.6, val_loss=1.0, diverged=3, **{'optimizer.learning_rate': 0.1}),
  ]
  summary = select.summarize(points, 3, 'accuracy', 1.0)
  assert summary['best_per_program'] == [1, None]  # program 1: its only point diverged
  assert summary['best_grid_index'] == 1
  assert summary['selected_by'] == 'validation accuracy'
  rundir.dump_json({'format': rundir.FORMAT, **summary}, tmp_path / 'summary.json')
  run = results.Run.load(str(tmp_path))
  assert run.points == points  # real values back: floats, bools, ints, not strings
  assert [p.grid_index for p in run.best_per_program()] == [1]
  assert select.chosen_learning_rate(run.points, 'adam') == 0.01


def test_a_workdir_of_an_older_layout_is_started_afresh_not_misread(tmp_path):
  config = importlib.import_module('configs.lr_mnist').get_config('smoke')
  (tmp_path / 'summary.json').write_text(json.dumps({'points': [], 'best_per_program': {}}))
  (tmp_path / 'config.json').write_text(json.dumps({'old': True}))
  assert results.Run.load(str(tmp_path)) is None
  rundir.RunDir(str(tmp_path), config)  # no WorkdirMismatch: our own old files, cleared
  assert not (tmp_path / 'summary.json').exists()
  assert json.loads((tmp_path / 'config.json').read_text()) == json.loads(
    json.dumps(config.to_dict())
  )


def test_an_optimizer_field_written_out_at_its_default_is_the_unset_field():
  """A workdir an older config made with ``b1 = 0.9`` is the run an unset ``b1`` makes."""
  config = importlib.import_module('configs.lr_mnist').get_config('smoke')
  config.sweep.optimizer.name = ('adam', 'adamax', 'sgd')  # sgd takes no b1: it does not count
  old = json.loads(json.dumps(config.to_dict()))
  old['optimizer'] |= {'b1': 0.9, 'b2': 0.999}
  assert config.optimizer.b1 is None and config.optimizer.eps is None
  assert config_diff.differences(old, config) == []
  # Not the default of every optimizer: Adam's and AdaMax's β2 is 0.999, not 0.99.
  old['optimizer'] |= {'b2': 0.99}
  assert config_diff.differences(old, config) == ['optimizer.b2']
  config.optimizer.b2 = 0.999  # set in both: compared as values
  assert config_diff.differences(old, config) == ['optimizer.b2']
  # AdaDelta's own ε is 1e-6: an ε of 1e-8 written out was another run.
  config.optimizer.b2, old['optimizer']['b2'] = None, 0.999
  config.sweep.optimizer.name = ('adam', 'adadelta')
  old['optimizer']['eps'] = 1e-8
  assert config_diff.differences(old, config) == ['optimizer.eps', 'sweep.optimizer.name']


def test_every_hyperparameter_of_every_optimizer_is_a_field_of_every_config():
  fields = set(common.base().optimizer.keys())
  for name in OPTIMIZERS:
    missing = set(optimizer_hparams(name)) - fields - NOT_ON_THE_COMMAND_LINE
    assert not missing, (name, missing)


@pytest.mark.parametrize('name', sorted(OPTIMIZERS))
def test_each_optimizer_can_be_built_from_a_config_with_all_its_fields_set(name):
  """Every field an optimizer takes, set to a valid value, reaches the optimizer."""
  values = {'b1': 0.8, 'b2': 0.99, 'eps': 1e-6, 'eps_root': 1e-9, 'b1_decay': 0.999}
  values |= {'bias_correction': False, 'variant': 'torch', 'weight_decay': 1e-3}
  values |= {'momentum': 0.5, 'nesterov': True, 'accumulator_dtype': 'bfloat16'}
  values |= {'mu_dtype': 'bfloat16'}
  values |= {'initial_accumulator_value': 0.2, 'decay': 0.95, 'initial_scale': 0.1}
  values |= {'eps_in_sqrt': False, 'centered': True, 'rho': 0.8}
  config = common.base()
  config.optimizer.name = name
  for key in set(optimizer_hparams(name)) - NOT_ON_THE_COMMAND_LINE - {'learning_rate'}:
    config.optimizer[key] = values[key]
  validate.validate(config, overrides={f'optimizer.{k}' for k in optimizer_hparams(name)})
  kwargs = optimizers.kwargs(config)
  assert set(kwargs) == set(optimizer_hparams(name)) - NOT_ON_THE_COMMAND_LINE
  for key, value in kwargs.items():  # each as it was set (dtypes by name)
    if key != 'learning_rate':
      expected = values[key]
      assert (
        (jnp.dtype(value) == jnp.dtype(expected)) if key.endswith('dtype') else (value == expected)
      ), (key, value, expected)
  from adam_jax import get_optimizer

  get_optimizer(name, **kwargs)  # accepted as given


def test_a_field_no_optimizer_of_the_run_takes_is_refused_when_given():
  config = common.base()
  config.optimizer.name = 'sgd'
  config.optimizer.b2 = 0.5
  with pytest.raises(validate.ConfigError, match="no optimizer of the run takes 'b2'"):
    validate.validate(config, overrides={'optimizer.b2'})
  validate.validate(config)  # set by a config file: a default for the optimizers taking it


def test_a_command_line_value_replaces_the_sweep_of_that_key():
  config = importlib.import_module('configs.mlp_mnist').get_config(None)
  config.optimizer.learning_rate = 1e12  # as config_flags sets it
  notes = apply_command_line(config, {'optimizer.learning_rate': 1e12, 'num_epochs': 3})
  assert config.sweep.optimizer.learning_rate == (1e12,)
  assert 'replaces the sweep' in notes['optimizer.learning_rate'] and notes['num_epochs'] == ''
  [program] = programs.expand(config)
  assert program.points == [{'optimizer.learning_rate': 1e12}]


def test_python_level_optimizer_options_are_structural():
  config = common.base()
  config.optimizer.name = 'sgd'
  config.optimizer.momentum = 0.9
  common.sweep(config, 'optimizer.nesterov', [True, False])
  common.sweep(config, 'optimizer.learning_rate', [0.1, 0.01])
  assert [p.structural for p in programs.expand(config)] == [
    {'optimizer.nesterov': True},
    {'optimizer.nesterov': False},
  ]
  vae = importlib.import_module('configs.vae_mnist').get_config(None)
  [program] = programs.expand(vae)  # adam_jax's bias correction is a traced switch
  assert 'optimizer.bias_correction' in program.swept and len(program.points) == 60


def test_config_sweep_mirrors_the_config():
  config = common.base()
  config.sweep = ml_collections.ConfigDict({'optimizer': {'nosuch': (1, 2)}})
  with pytest.raises(validate.ConfigError, match='nosuch'):
    validate.validate(config)


def test_schedule_and_its_restart_periods_are_structural_and_reach_the_optimizer():
  config = importlib.import_module('configs.generalization').get_config('decoupled')
  validate.validate(config)
  structural = [p.structural for p in programs.expand(config)]
  assert structural == [{'optimizer.schedule': 'constant'}, {'optimizer.schedule': 'warm_restarts'}]
  config.sweep.optimizer.restart_epochs = (1, 2)
  assert len(programs.expand(config)) == 4  # one program per period, never vmapped

  ours = optimizers.factory(
    'adamw', 'warm_restarts', steps_per_epoch=10, restart_epochs=2, restart_mult=3.0
  )({'optimizer.learning_rate': 0.1, 'optimizer.weight_decay': 0.5})
  theirs = adam_jax.adamw(adam_jax.warm_restarts(0.1, 20, period_mult=3.0), weight_decay=0.5)
  params = jnp.array([1.0, -2.0])
  state_a, state_b = ours.init(params), theirs.init(params)
  for _ in range(100):  # across the restarts at steps 20 and 80
    a, state_a = ours.update(params, state_a, params)
    b, state_b = theirs.update(params, state_b, params)
    assert jnp.array_equal(a, b)
    params = optax.apply_updates(params, a)


def test_the_report_lists_choices_at_the_edge_of_their_grid(tmp_path):
  import types

  from experiments import stats
  from experiments.report import Report
  from experiments.report.edges import edge_notes, section

  points = []
  for program, (name, best) in enumerate([('adagrad', 3.0), ('adam', 1.0)]):
    for alpha in (0.1, 1.0, 3.0):
      p = point(
        len(points), program, val_loss=abs(alpha - best), **{'optimizer.learning_rate': alpha}
      )
      p.structural = {'optimizer.name': name}
      points.append(p)
  run = types.SimpleNamespace(
    summary=select.summarize(points, 1, 'loss', 0.0),
    configurations=stats.configurations(points),
    points=points,
    config={'optimizer': {'name': 'adam'}},
  )
  report = Report(str(tmp_path), str(tmp_path / 'out'), {'fig1_lr': 'its command'})
  report.loaded['fig1_lr'] = run
  lines = section(edge_notes(report))
  assert (
    '- fig1_lr: adagrad chose α = 3, the largest of {0.1, 1, 3}: not extended (the run '
    'predates `extend_grid`; its edge is computed from its grid).'
  ) in lines
  assert not any('adam chose' in line for line in lines)  # α = 1: inside its grid


def test_the_report_says_how_far_an_interrupted_run_got_not_that_it_never_ran(tmp_path):
  from experiments.report import Report

  workdir = tmp_path / 'cnn'
  workdir.mkdir()
  (workdir / 'config.json').write_text(json.dumps({'num_epochs': 20}))
  records = [{'epoch': e, 'split': 'train', 'grid_index': 0} for e in (1, 2, 3, 4)]
  (workdir / 'metrics.jsonl').write_text(''.join(json.dumps(x) + '\n' for x in records))
  report = Report(str(tmp_path), str(tmp_path / 'out'), {'cnn': 'its command', 'lr': 'other'})
  report.provenance('cnn', 'lr')
  assert report.lines[1] == (
    'wall time: not finished (stopped after epoch 4 of 20; '
    '`python -m experiments.reproduce --only=cnn` resumes it)'
  )
  assert report.lines[4] == 'wall time: not run'  # no workdir at all
  # Program 2 (run after program 1's 4 epochs) stopped after its third: not "epoch 4".
  records += [{'epoch': e, 'split': 'train', 'grid_index': 1, 'program': 1} for e in (1, 2, 3)]
  (workdir / 'metrics.jsonl').write_text(''.join(json.dumps(x) + '\n' for x in records))
  stopped = 'not finished (stopped after epoch 3 of 20 in program 2;'
  assert report.progress('cnn').startswith(stopped)


def test_the_report_names_a_choice_by_its_optimizer_and_its_structural_options():
  from experiments.report.common import choice_name

  p = point(0)
  p.structural = {'model.dropout': False, 'optimizer.name': 'adam'}
  assert choice_name(p) == 'adam without dropout'
  p.structural = {'optimizer.name': 'sgd', 'optimizer.nesterov': True, 'model.dropout': True}
  assert choice_name(p) == 'sgd nesterov=True with dropout'
