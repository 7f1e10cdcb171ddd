"""Any optimizer: optax's by name, a user's by import path, described like ours (issue 24).

One description per optimizer (adam_jax.describe) gives the registry, the config fields,
validation, and which keywords a grid may trace; the trainer takes a factory of a grid
point's hyperparameters and evaluates on the weights the optimizer's state names.
"""

from __future__ import annotations

import importlib
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from conftest import run_cli_forked
from test_cli_fuzz import check_exit, cli_env, describe, run_cli

import adam_jax
from adam_jax import data, hooks, models, train
from configs import common
from experiments import command_line, optimizers, programs, rundir, sweep, validate
from experiments.run import experiment_kind

USER_MODULE = '''
"""A user's own optimizers."""
import optax

import adam_jax


def heavy_ball(learning_rate=1e-3, beta=0.9):
  return optax.chain(optax.trace(decay=beta), optax.scale_by_learning_rate(learning_rate))


def branchy(learning_rate=1e-3, momentum=0.9):
  """Python control flow on ``momentum``: it cannot be a traced array."""
  return optax.sgd(learning_rate, momentum=momentum if momentum > 0.5 else None)


def averaged(learning_rate=1e-3, decay=0.9):
  """Adam whose weights for evaluation are its temporal average (the paper's §7.2)."""
  return optax.chain(adam_jax.adam(learning_rate), adam_jax.temporal_average(decay))


def not_an_optimizer(learning_rate=1e-3):
  return learning_rate
'''
SMOKE = '--config=configs/lr_mnist.py:smoke'
LION = '--config.optimizer.name=optax.lion'
LEARNING_RATES = (1e-4, 3e-4, 1e-3)


@pytest.fixture
def user_opts(tmp_path, monkeypatch):
  """A module ``user_opts`` of :data:`USER_MODULE`, importable here and in subprocesses."""
  (tmp_path / 'user_opts.py').write_text(USER_MODULE)
  monkeypatch.syspath_prepend(str(tmp_path))
  return str(tmp_path)


# --- descriptions ----------------------------------------------------------------------

# What must be a Python value, by optimizer (of the keywords a config can give).
STATIC = {
  'adam': {'mu_dtype'},
  'adamax': {'mu_dtype'},
  'nadam': {'mu_dtype'},
  'amsgrad': {'variant', 'mu_dtype'},
  'adamw': {'mu_dtype'},
  'swats': set(),
  'nd_adam': set(),
  'sgd': {'nesterov', 'accumulator_dtype'},  # nesterov: a Python bool once momentum is set
  'momentum': set(),
  'nesterov': set(),
  'adagrad': set(),
  'rmsprop': {'eps_in_sqrt', 'centered', 'nesterov', 'bias_correction'},
  'adadelta': set(),
}


def test_ours_are_described_from_their_signatures_as_foreign_ones_are():
  assert set(STATIC) == set(adam_jax.OPTIMIZERS)
  for name, static in STATIC.items():
    assert set(adam_jax.describe(name).static) == static, name
  adam = adam_jax.describe('adam').settable
  assert adam['b1'].kind is float and adam['b1'].range == (0.0, 1.0, False, True)
  assert adam['bias_correction'].kind is bool and adam['learning_rate'].default == 1e-3
  assert adam_jax.describe('amsgrad').settable['variant'].choices == ('paper', 'optax', 'torch')
  assert 'mask' not in adam_jax.describe('adamw').settable  # a function of the params: no field
  assert adam_jax.describe('sgd').settable['learning_rate'].required
  # The config fields are the descriptions' keywords: every one, unset.
  fields = common.base().optimizer
  for name in adam_jax.OPTIMIZERS:
    assert set(adam_jax.describe(name).settable) <= set(fields), name
  assert fields.b2 is None and fields.eps is None  # each optimizer's own default


def test_optax_and_import_path_names_are_described_and_built(user_opts):
  lion = adam_jax.describe('optax.lion')
  assert lion.factory is optax.lion and set(lion.settable) == {
    'learning_rate',
    'b1',
    'b2',
    'mu_dtype',
    'weight_decay',
  }
  assert set(lion.static) == {'mu_dtype'}  # every number may be traced: one vmapped program
  free = adam_jax.describe('optax.contrib.schedule_free_adamw')
  assert set(free.static) == {'warmup_steps', 'state_dtype'}  # an int and a dtype
  assert adam_jax.describe('user_opts:heavy_ball').static == {}
  assert 'momentum' in adam_jax.describe('user_opts:branchy').static
  params = {'w': jnp.ones(3)}
  for name in ('optax.lion', 'user_opts:heavy_ball', 'optax.contrib.schedule_free_adamw'):
    opt = adam_jax.get_optimizer(name, learning_rate=0.1)
    updates, _ = opt.update(params, opt.init(params), params)
    assert float(jnp.sum(jnp.abs(updates['w']))) > 0, name


@pytest.mark.parametrize(
  ('name', 'message'),
  [
    ('adamm', "unknown optimizer 'adamm'; valid names: adadelta, adagrad, adam"),
    ('nosuch_pkg_xyz.mod:make', 'cannot import nosuch_pkg_xyz.mod'),
    ('optax.nosuch', "optax has no 'nosuch'"),
    ('user_opts:not_an_optimizer', 'returned a float, not an optax.GradientTransformation'),
    ('optax.contrib.sophia', 'init/update fail on a small parameter tree'),
  ],
)
def test_a_name_that_is_no_optimizer_says_why(name, message, user_opts):
  with pytest.raises(adam_jax.OptimizerError, match=message):
    adam_jax.get_optimizer(name)


def test_a_keyword_the_factory_does_not_take_lists_those_it_takes():
  with pytest.raises(
    ValueError, match='takes no hyperparameter beta1; it takes: learning_rate, b1, b2, mu_dtype'
  ):
    adam_jax.get_optimizer('optax.lion', beta1=0.9)


# --- the run's programs ----------------------------------------------------------------


def command(config_name: str, optimizer: str, sweeps=(), **values):
  """The config of ``--config=configs/NAME.py:smoke --config.optimizer.name=OPTIMIZER
  [--config.optimizer.KEY=VALUE] [--sweep=...]``, as experiments.run resolves it."""
  config = importlib.import_module(f'configs.{config_name}').get_config('smoke')
  given = {'optimizer.name': optimizer, **{f'optimizer.{k}': v for k, v in values.items()}}
  for path, value in given.items():
    config.optimizer[path.partition('.')[2]] = value
  overrides = command_line.apply_command_line(config, given)
  for text in sweeps:
    path, values = command_line.parse_sweep_flag(text)
    sweep.set_path(config.sweep, path, values)
  command_line.fit_optimizers(config, [command_line.parse_sweep_flag(t)[0] for t in sweeps])
  validate.validate(config, overrides=overrides)
  return config


@pytest.mark.parametrize(
  'name', ['lr_mnist', 'lr_imdb', 'mlp_mnist', 'cnn_cifar', 'vae_mnist', 'perez_mnist', 'reddi']
)
def test_lion_on_any_config_sweeps_its_learning_rate_inside_each_program(name):
  config = command(name, 'optax.lion', sweeps=['optimizer.learning_rate=1e-4,3e-4,1e-3'])
  for program in programs.expand(config):
    assert program.structural.get('optimizer.name', 'optax.lion') == 'optax.lion'
    assert 'optimizer.learning_rate' in program.swept  # vmapped, not a program per value
    assert {p['optimizer.learning_rate'] for p in program.points} == set(LEARNING_RATES)
  if name == 'lr_mnist':
    assert len(programs.expand(config)) == 1


def test_a_keyword_the_factory_branches_on_is_one_program_per_value(user_opts, caplog):
  config = command('lr_mnist', 'user_opts:branchy')
  config.sweep.optimizer.momentum = (0.3, 0.9)
  config.sweep.optimizer.learning_rate = (0.1, 0.01)
  with caplog.at_level('INFO'):
    program_list = programs.expand(config)
  assert [p.structural['optimizer.momentum'] for p in program_list] == [0.3, 0.9]
  assert all(p.swept == ('optimizer.learning_rate',) for p in program_list)
  assert 'optimizer.momentum: one program per value' in caplog.text


# --- evaluation weights and state metrics ----------------------------------------------


def _tiny_task():
  ds = data.synthetic('fashion_mnist', num_train=256)
  x, y = jnp.asarray(ds.train[0]), jnp.asarray(ds.train[1])
  task = train.Task(models.get_model('logistic_regression', num_classes=10), 'classifier')
  return task, x, y


def _mean_loss(task, params, x, y):
  return float(jnp.mean(task.per_example(params, x, y, jax.random.PRNGKey(0), False)['loss']))


@pytest.mark.parametrize(
  ('name', 'eval_params'),
  [
    (
      'optax.contrib.schedule_free_adamw',
      lambda s, p: optax.contrib.schedule_free_eval_params(
        adam_jax._tree.find_states(s, optax.contrib.ScheduleFreeState)[0], p
      ),
    ),
    ('user_opts:averaged', lambda s, p: adam_jax.averaged_params(s)),
  ],
)
def test_the_trainer_evaluates_the_weights_the_optimizer_state_names(name, eval_params, user_opts):
  task, x, y = _tiny_task()
  trainer = train.GridTrainer(
    task, optimizers.factory(name), {'optimizer.learning_rate': 0.05, 'seed': 0}, batch_size=32
  )
  state, _ = trainer.train_epoch(trainer.init({}, x), {}, x, y, 0)
  measured = float(trainer.evaluate(state, x, y)['loss'][0])
  one = jax.tree.map(lambda v: v[0], state)
  expected = _mean_loss(task, eval_params(one.opt_state, one.params), x, y)
  on_training_params = _mean_loss(task, one.params, x, y)
  assert measured == pytest.approx(expected, rel=1e-5)
  assert abs(measured - on_training_params) > 1e-3  # the two differ: the test can tell


def test_the_hooks_are_a_registry_a_user_extends(monkeypatch):
  task, x, y = _tiny_task()
  state = adam_jax.adam().init(jnp.zeros(2))
  assert hooks.evaluation_params(state, 'params') == 'params'  # nothing registered: as given
  assert hooks.state_metrics(state) == {}
  monkeypatch.setitem(hooks.STATE_METRICS, adam_jax.ScaleByAdamState, lambda s: {'steps': s.count})
  trainer = train.GridTrainer(
    task, optimizers.factory('adam'), {'optimizer.learning_rate': 1e-3, 'seed': 0}, batch_size=32
  )
  _, metrics = trainer.train_epoch(trainer.init({}, x), {}, x, y, 0)
  assert int(metrics['steps'][0]) == 256 // 32
  swats = adam_jax.swats().init(jnp.zeros(2))
  assert set(hooks.state_metrics(swats)) == {'switched_at'}


def test_a_schedule_free_smoke_run_records_the_loss_of_its_eval_params(tmp_path):
  config = command('lr_mnist', 'optax.contrib.schedule_free_adamw', learning_rate=0.05)
  experiment_kind(config.experiment)(config, str(tmp_path))
  records = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  recorded = [r for r in records if r['split'] == 'test' and r['epoch'] == config.num_epochs]
  dataset = programs.load_dataset(config)
  task = programs.build_task(config, dataset)
  trainer = train.GridTrainer(
    task, optimizers.config_factory(config), optimizers.point_hparams(config)
  )
  x, y = (jnp.asarray(a) for a in dataset.test)
  template = trainer.init({}, jnp.asarray(dataset.train[0]))
  saved = rundir.RunDir(str(tmp_path), config).restore('000_000', config.num_epochs, template)
  one = jax.tree.map(lambda v: v[0], saved)
  free = adam_jax._tree.find_states(one.opt_state, optax.contrib.ScheduleFreeState)[0]
  eval_loss = _mean_loss(task, optax.contrib.schedule_free_eval_params(free, one.params), x, y)
  train_loss = _mean_loss(task, one.params, x, y)
  assert [r['loss'] for r in recorded] == [pytest.approx(eval_loss, rel=1e-5)]
  assert abs(eval_loss - train_loss) > 1e-3


# --- the command line ------------------------------------------------------------------


@pytest.mark.slow
def test_lion_swept_over_three_learning_rates_trains_one_program(tmp_path):
  args = [SMOKE, LION, '--sweep=optimizer.learning_rate=1e-4,3e-4,1e-3']
  dry = run_cli(*args, '--dry_run')
  check_exit(dry)
  assert dry.stdout.startswith('train: 1 program(s), 3 grid point(s)'), describe(dry)
  proc = run_cli(*args, f'--workdir={tmp_path}')
  check_exit(proc)
  assert proc.returncode == 0, describe(proc)
  summary = json.loads((tmp_path / 'summary.json').read_text())
  assert [p['program'] for p in summary['points']] == [0, 0, 0]
  lrs = [p['hparams']['optimizer.learning_rate'] for p in summary['points']]
  np.testing.assert_allclose(lrs, LEARNING_RATES)


@pytest.mark.slow
def test_an_import_path_optimizer_runs_with_its_own_keywords(tmp_path, user_opts):
  proc = run_cli(
    SMOKE,
    '--config.optimizer.name=user_opts:heavy_ball',
    '--config.optimizer.beta=0.8',  # no config file has this field: the factory's keyword
    '--sweep=optimizer.learning_rate=0.01,0.1',
    f'--workdir={tmp_path / "run"}',
    PYTHONPATH=user_opts,
  )
  check_exit(proc)
  assert proc.returncode == 0, describe(proc)
  config = json.loads((tmp_path / 'run' / 'config.json').read_text())
  assert config['optimizer']['name'] == 'user_opts:heavy_ball'
  assert config['optimizer']['beta'] == 0.8
  summary = json.loads((tmp_path / 'run' / 'summary.json').read_text())
  assert [p['program'] for p in summary['points']] == [0, 0]


BAD_INPUT = [
  (['--config.optimizer.name=nosuch_pkg_xyz.mod:make'], 'cannot import nosuch_pkg_xyz.mod'),
  (['--config.optimizer.name=optax.nosuch'], "optax has no 'nosuch'"),
  (['--config.optimizer.name=user_opts:not_an_optimizer'], 'not an optax.GradientTransformation'),
  ([LION, '--config.optimizer.nosuch=1'], 'optax.lion takes: learning_rate, b1, b2, mu_dtype'),
  ([LION, '--config.optimizer.eps_root=0.1'], "'optax.lion' takes: learning_rate, b1, b2"),
  ([LION, '--sweep=optimizer.nosuch=1,2'], 'optax.lion takes: learning_rate, b1, b2'),
  (['--config.optimizer.name=user_opts:heavy_ball', '--config.optimizer.beta=x'], 'must be'),
  (['--sweep=optimizer.name=adam,optax.nosuch'], "optax has no 'nosuch'"),
]


def test_bad_input_is_one_line_and_exit_2(user_opts):
  """Each case a process of its own, forked from one that imported the entry point."""
  commands = [[SMOKE, *args, '--dry_run'] for args, _ in BAD_INPUT]
  procs = run_cli_forked(commands, cli_env(PYTHONPATH=str(user_opts)))
  for proc, (_, message) in zip(procs, BAD_INPUT, strict=True):
    check_exit(proc)
    assert proc.returncode == 2, describe(proc)
    assert message in proc.stderr, describe(proc)
