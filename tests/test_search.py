"""Quasi-random search: the points drawn, how they run, how they are checked."""

from __future__ import annotations

import forkserver
import ml_collections
import numpy as np
import pytest
from conftest import cli_env

from configs import common, lr_mnist
from experiments import programs, search, validate
from experiments.command_line import apply_command_line
from experiments.grid import run as run_grid

ROOT = __file__.rsplit('/tests/', 1)[0]


def searched(points=16, **space) -> ml_collections.ConfigDict:
  """lr_mnist's smoke config, Adam alone, its sweep replaced by a search of ``space``."""
  config = lr_mnist.get_config('smoke')
  config.sweep = ml_collections.ConfigDict()
  config.optimizer.name = 'adam'
  config.num_epochs = 1
  config.search.points = points
  for path, spec in space.items():
    common.search(config, path.replace('__', '.'), *spec)
  return config


SPACE = {
  'optimizer__learning_rate': ('log_uniform', 1e-4, 1.0),
  'optimizer__b1': ('one_minus_log_uniform', 1e-2, 0.5),
  'optimizer__b2': ('choice', 0.99, 0.999),
}


def test_a_search_is_one_program_equal_to_its_points_given_as_a_list(tmp_path):
  config = searched(**SPACE)
  validate.validate(config)
  (program,) = programs.expand(config)
  drawn = search.draw(config)
  assert program.points == drawn and len(drawn) == 16
  summary = run_grid(config, str(tmp_path / 'search'))
  assert summary['search']['drawn'] == drawn
  assert summary['search']['space']['optimizer.b1'] == ['one_minus_log_uniform', 0.01, 0.5]

  listed = searched(**{k: ('list', *[p[k.replace('__', '.')] for p in drawn]) for k in SPACE})
  validate.validate(listed)
  (same,) = programs.expand(listed)
  assert same.points == drawn
  again = run_grid(listed, str(tmp_path / 'list'))
  assert [p['hparams'] for p in again['points']] == [p['hparams'] for p in summary['points']]
  assert [p['final'] for p in again['points']] == [p['final'] for p in summary['points']]
  # The points were trained at their own values: they do not all end alike.
  assert len({p['final']['test']['loss'] for p in summary['points']}) == 16


def test_the_same_seed_draws_the_same_points_and_the_sequences_are_scrambled():
  for sequence in search.SEQUENCES:
    a = search.unit_points(8, 3, sequence, seed=0)
    np.testing.assert_array_equal(a, search.unit_points(8, 3, sequence, seed=0))
    assert not np.allclose(a, search.unit_points(8, 3, sequence, seed=1))
    assert a.min() > 0  # unscrambled, both sequences start at the origin
  config = searched(**SPACE)
  assert search.draw(config) == search.draw(searched(**SPACE))
  config.search.seed = 1
  assert search.draw(config) != search.draw(searched(**SPACE))
  config.search.sequence = 'sobol'
  assert search.draw(config) != search.draw(searched(**SPACE))


def test_each_distribution_keeps_to_its_range_and_scale():
  config = searched(
    64,
    optimizer__learning_rate=('log_uniform', 1e-5, 1.0),
    optimizer__b1=('one_minus_log_uniform', 1e-3, 0.1),
    optimizer__b2=('uniform', 0.9, 0.99),
    optimizer__eps=('choice', 1e-8, 1e-6, 1e-4),
  )
  drawn = search.draw(config)
  lr = np.array([p['optimizer.learning_rate'] for p in drawn])
  one_minus_b1 = 1 - np.array([p['optimizer.b1'] for p in drawn])
  b2 = np.array([p['optimizer.b2'] for p in drawn])
  assert lr.min() >= 1e-5 and lr.max() <= 1.0
  assert one_minus_b1.min() >= 1e-3 - 1e-12 and one_minus_b1.max() <= 0.1 + 1e-12
  assert b2.min() >= 0.9 and b2.max() <= 0.99
  # Quasi-random points fill a range evenly on its scale: the log's for log-uniform.
  assert np.histogram(np.log10(lr), bins=5, range=(-5, 0))[0].min() >= 10
  assert np.histogram(np.log10(one_minus_b1), bins=2, range=(-3, -1))[0].min() >= 28
  assert np.histogram(b2, bins=3, range=(0.9, 0.99))[0].min() >= 18
  counts = {v: sum(p['optimizer.eps'] == v for p in drawn) for v in (1e-8, 1e-6, 1e-4)}
  assert min(counts.values()) >= 18 and sum(counts.values()) == 64


def test_structural_choices_are_programs_and_seeds_stay_the_innermost_axis():
  config = searched(
    optimizer__name=('choice', 'adam', 'nesterov'),
    optimizer__learning_rate=('log_uniform', 1e-3, 1.0),
  )
  config.seeds = 2
  validate.validate(config)
  progs = programs.expand(config)
  drawn = search.draw(config)
  assert [p.structural for p in progs] == [{'optimizer.name': n} for n in ('adam', 'nesterov')]
  for p in progs:
    mine = [
      d['optimizer.learning_rate']
      for d in drawn
      if d['optimizer.name'] == p.structural['optimizer.name']
    ]
    assert [pt['optimizer.learning_rate'] for pt in p.points] == [a for a in mine for _ in (0, 1)]
    assert [pt['seed'] for pt in p.points] == [0, 1] * len(mine)
  assert sum(len(p.points) for p in progs) == 32
  # A Cartesian sweep crosses the drawn points.
  config.sweep.model = ml_collections.ConfigDict({'dropout': (True, False)})
  assert len(programs.expand(config)) == 4


BAD = [
  ({'optimizer__learning_rate': ('log_uniform', 0.0, 1.0)}, '0 < low < high'),
  ({'optimizer__learning_rate': ('log_uniform', 1.0, 0.1)}, '0 < low < high'),
  ({'optimizer__learning_rate': ('uniform', 1.0)}, 'takes two finite numbers'),
  ({'optimizer__learning_rate': ('uniform', -1.0, 1.0)}, 'must be a number in'),
  ({'optimizer__b1': ('one_minus_log_uniform', 0.01, 2.0)}, 'high <= 1'),
  ({'optimizer__b2': ('uniform', 0.5, 1.0)}, r'optimizer.b2 = 1.0: must be'),
  ({'optimizer__learning_rate': ('normal', 0.0, 1.0)}, 'KIND one of log_uniform'),
  ({'optimizer__learning_rate': ('choice',)}, 'choice needs values'),
  ({'optimizer__learning_rate': ('list', 0.1, 0.2)}, '2 values for search.points = 16'),
  ({'num_epochs': ('choice', 1, 2)}, 'not sweepable'),
  ({'seed': ('choice', 1, 2)}, 'a seed is a replicate'),
  ({'batch_size': ('uniform', 10, 100)}, 'must be an integer'),
  ({'optimizer__momentum': ('uniform', 0.1, 0.9)}, "'adam' does not take 'momentum'"),
  ({'optimizer__nosuch': ('uniform', 0.1, 0.9)}, 'not a config field'),
  ({}, 'a search needs both'),
]


@pytest.mark.parametrize(('space', 'message'), BAD)
def test_a_bad_search_is_a_config_error_naming_it(space, message):
  with pytest.raises(validate.ConfigError, match=message):
    validate.validate(searched(**space))


def test_a_space_without_points_and_a_path_both_swept_and_searched_are_refused():
  config = searched(0, optimizer__learning_rate=('log_uniform', 1e-3, 1.0))
  with pytest.raises(validate.ConfigError, match='points = 0 with 1 path'):
    validate.validate(config)
  config = searched(optimizer__learning_rate=('log_uniform', 1e-3, 1.0))
  common.sweep(config, 'optimizer.learning_rate', [0.1])
  with pytest.raises(validate.ConfigError, match='also in config.sweep'):
    validate.validate(config)


def test_bad_search_bounds_exit_2_with_one_line():
  argv = [f'--config={ROOT}/configs/lr_mnist.py:smoke', '--config.search.points=8']
  argv += ['--search=optimizer.learning_rate=log_uniform,1,0.1']
  proc = forkserver.run(argv, cli_env())
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
    "error: config.search.space.optimizer.learning_rate = ('log_uniform', 1, 0.1): bounds "
    'must be (low, high), 0 < low < high: log(value) uniform'
  ]


def test_a_command_line_value_takes_its_path_out_of_the_search():
  config = searched(**SPACE)
  notes = apply_command_line(config, {'optimizer.b2': 0.95})
  assert 'replaces the search over optimizer.b2' in notes['optimizer.b2']
  assert set(search.space(config)) == {'optimizer.learning_rate', 'optimizer.b1'}
  assert config.search.points == 16
  config = searched(optimizer__learning_rate=('log_uniform', 1e-3, 1.0))
  notes = apply_command_line(config, {'optimizer.learning_rate': 0.1})
  assert 'a single run' in notes['optimizer.learning_rate'] and config.search.points == 0
  validate.validate(config)
  assert [p.points for p in programs.expand(config)] == [[{}]]


def test_smoke_keeps_four_points_of_a_search_and_of_its_list():
  config = common.base()
  config.search.points = 16
  common.search(config, 'optimizer.learning_rate', 'list', *[0.1 * (i + 1) for i in range(16)])
  common.apply_smoke(config)
  validate.validate(config)
  assert [p['optimizer.learning_rate'] for p in search.draw(config)] == pytest.approx(
    [0.1, 0.2, 0.3, 0.4]
  )


def test_a_choice_at_the_end_of_what_the_search_tried_is_an_edge():
  from experiments import extend  # noqa: PLC0415
  from experiments.point import Point  # noqa: PLC0415

  config = searched(6, **SPACE)
  tuning = programs.expand(config)
  # The validation loss falls with α: the largest α drawn is chosen, at the edge.
  points = [
    Point(i, 0, {}, hp, None, {'validation': {'loss': -hp['optimizer.learning_rate']}})
    for i, hp in enumerate(tuning[0].points)
  ]
  (edge,) = extend.edges(config, tuning, points, {})
  alphas = sorted(p['optimizer.learning_rate'] for p in tuning[0].points)
  assert (edge.end, edge.chosen, edge.grid) == ('largest', alphas[-1], tuple(alphas))
