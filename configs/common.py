"""The keys every experiment config has, and the `smoke` switch that shrinks any of them.

Config files build on :func:`base` and change what their experiment needs; the command
line overrides any field (``--config.optimizer.learning_rate=3e-4``), and
``config.sweep`` mirrors the config's structure with lists as leaves.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from adam_jax import sweep as sweep_lib

# Optimizer fields that are not the optimizer's keyword arguments: its name and schedule.
OPTIMIZER_META = ('name', 'schedule', 'restart_epochs', 'restart_mult')

# Every other hyperparameter of a registered optimizer (adam_jax.get_optimizer), unset:
# None leaves the optimizer's own default. Set one (or sweep it) on any config; validation
# checks that an optimizer of the run takes it. Not here: `mask`, `weight_decay_mask` and
# `vector_mask`, which are functions of the parameter tree (use the library for those).
OPTIMIZER_OPTIONS = {
  'eps_root': float,  # adam: ε inside the square root
  'b1_decay': float,  # adam: λ of β1,t = β1·λ^(t−1) (§4)
  'bias_correction': bool,  # adam, adamax (§6.4's ablation); rmsprop (optax's option)
  'variant': str,  # amsgrad: 'paper', 'optax' or 'torch'
  'weight_decay': float,  # adamw (decoupled), adadelta
  'momentum': float,  # momentum, nesterov, sgd, rmsprop
  'nesterov': bool,  # sgd, rmsprop (optax takes it as a Python bool: swept by program)
  'accumulator_dtype': str,  # sgd: dtype name of the momentum, e.g. 'bfloat16'
  'mu_dtype': str,  # adam, adamax, adamw, amsgrad, nadam: dtype name of the first moment
  'initial_accumulator_value': float,  # adagrad
  'decay': float,  # rmsprop
  'initial_scale': float,  # rmsprop
  'eps_in_sqrt': bool,  # rmsprop
  'centered': bool,  # rmsprop
  'rho': float,  # adadelta
}


def base() -> ml_collections.ConfigDict:
  """Defaults shared by every experiment: the paper's minibatch of 128, Adam's defaults."""
  config = ml_collections.ConfigDict()
  config.experiment = 'train'  # 'train' (a dataset and a model) or 'reddi' (online problem)
  config.seed = 0
  # Replicates: every grid point is trained with seeds seed, …, seed+seeds−1 in the same
  # compiled program, and configurations are compared by their mean (experiments.stats).
  config.seeds = 1
  # DeepOBS's protocol when > 0: tune on the grid as configured, then train each program's
  # chosen configuration again with this many seeds (one compiled program) and report those.
  config.rerun_seeds = 0
  # Swept paths whose every value gets its own rerun choice (e.g. Figure 4's cells); ():
  # one choice per program.
  config.rerun_by = ()
  # No choice at an edge (experiments.extend): a tuning choice at an end of its α grid grows
  # the grid by the grid's own step beyond that end and chooses again (on in make reproduce).
  config.extend_grid = False
  # Also record the training loss averaged over every window of this many steps
  # (metrics.jsonl records with split 'train_steps'; 0: once per epoch only).
  config.log_every_steps = 0
  # Once per epoch, per parameter leaf: update RMS, and for Adam the fraction of √v̂ < ε
  # and the median √v̂ (§6.3; metrics.jsonl records with split 'optimizer').
  config.diagnostics = False
  config.num_epochs = 10
  config.batch_size = 128  # §6: "minibatch size of 128" in every experiment.

  config.dataset = ml_collections.ConfigDict()
  config.dataset.name = 'mnist'
  config.dataset.validation_size = 5000  # held out of train to choose hyperparameters
  config.dataset.data_dir = ''  # '' = $ADAM_JAX_DATA_DIR, Debian's files, then tfds
  config.dataset.binarize = False  # threshold pixels at 0.5 (the VAE on (Fashion-)MNIST)
  config.dataset.synthetic = False  # random arrays of the real shapes (smoke runs)

  config.model = ml_collections.ConfigDict()
  config.model.name = 'logistic_regression'
  config.model.dropout = False
  config.model.l2 = 0.0  # λ of the λ‖θ‖² term added to the loss

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.name = 'adam'
  # 'constant'; 'inverse_sqrt': α_t = α/√t (t = step); 'warm_restarts': SGDR's cosine with
  # warm restarts, periods of restart_epochs, then ×restart_mult each (AdamWR with adamw).
  config.optimizer.schedule = 'constant'
  config.optimizer.restart_epochs = 1
  config.optimizer.restart_mult = 2.0
  config.optimizer.learning_rate = 1e-3
  config.optimizer.b1 = 0.9
  config.optimizer.b2 = 0.999
  # Unset: each optimizer at its own ε (Adam's 1e-8, AdaMax's 0, AdaDelta's 1e-6, ...); a
  # config that sets one says why in its docstring.
  config.optimizer.eps = config_dict.placeholder(float)
  for key, kind in OPTIMIZER_OPTIONS.items():
    config.optimizer[key] = config_dict.placeholder(kind)

  config.eval = ml_collections.ConfigDict()
  config.eval.batch_size = 1000
  # The paper's protocol: choose the grid point by this metric on the validation split,
  # report it on the test split.
  config.eval.select_metric = 'loss'

  config.checkpoint = ml_collections.ConfigDict()
  config.checkpoint.every_epochs = 1
  config.checkpoint.keep = 2

  # How a program runs its grid: 'vmap' (batched: pays when one point's steps are too small
  # to keep the device busy), 'map' (one point after another in the same compiled program),
  # or 'auto' (adam_jax.train.auto_grid_strategy: 'map' on CPU from 0.1 GFLOP a step).
  config.grid_strategy = 'auto'
  # Grid points trained at once (0: as many as fit in half the free memory); a larger grid
  # runs chunk after chunk with the same results.
  config.grid_chunk_size = 0
  # Devices: the grid axis split over mesh.grid devices, each minibatch over mesh.data.
  config.mesh = ml_collections.ConfigDict()
  config.mesh.grid = 1
  config.mesh.data = 1

  config.plot = 'curves'  # 'curves' (cost/accuracy per epoch) or 'figure4' (VAE grid)
  config.sweep = ml_collections.ConfigDict()
  # Quasi-random search (experiments.search): when points > 0, that many points drawn from
  # `space` (mirrors the config with tuples as leaves: ('log_uniform', low, high),
  # ('uniform', low, high), ('one_minus_log_uniform', low, high) for a β whose 1−β is
  # log-uniform, ('choice', v1, ...), ('list', v1, ..., vN)) by a scrambled 'halton' or
  # 'sobol' sequence of `seed`; crossed with the sweep's lists and the seeds.
  config.search = ml_collections.ConfigDict()
  config.search.points = 0
  config.search.sequence = 'halton'
  config.search.seed = 0
  config.search.space = ml_collections.ConfigDict()
  return config


def sweep(config: ml_collections.ConfigDict, path: str, values: list) -> None:
  """Sets ``config.sweep.<path> = values``, creating the nested sections."""
  # Tuples, so that --config.sweep.X="(a, b)" can override them from the command line.
  sweep_lib.set_path(config.sweep, path, tuple(values))


def search(config: ml_collections.ConfigDict, path: str, *spec) -> None:
  """Sets ``config.search.space.<path> = spec``: ``search(c, 'optimizer.b1', 'uniform', 0, 1)``."""
  sweep_lib.set_path(config.search.space, path, tuple(spec))


# The points of a search that a smoke run keeps.
SMOKE_SEARCH_POINTS = 4

# Seeds of the report's comparisons (the `seeds` and `rerun` arguments).
REPORT_SEEDS, QUICK_SEEDS = 5, 2

# Arguments every config takes (`--config=configs/NAME.py:fmnist,smoke`).
COMMON_ARGS = {
  'fmnist': 'Fashion-MNIST instead of MNIST (the real data an offline machine has)',
  'quick': 'the reduced recipe of `make reproduce-quick` (fewer epochs and grid points)',
  'smoke': 'a few steps on synthetic data of the real shapes (offline, seconds)',
  'seeds': f'every configuration with {REPORT_SEEDS} seeds (with `quick`: {QUICK_SEEDS})',
  'rerun': (
    f"DeepOBS's protocol: tune on one seed, then train the choices again with {REPORT_SEEDS} "
    'seeds (with `quick`: the tuning run alone)'
  ),
}


def parse_args(
  arg: str | None,
  known: dict[str, str] | None = None,
  common: tuple[str, ...] = tuple(COMMON_ARGS),
) -> set[str]:
  """`get_config('smoke,dropout')` -> {'smoke', 'dropout'}.

  Args:
    arg: The text after the colon of ``--config=configs/NAME.py:ARGS``.
    known: The config's own arguments and what each does.
    common: The arguments of :data:`COMMON_ARGS` the config also takes.

  Raises:
    ValueError: For an argument the config does not know, listing those it does.
  """
  args = {a.strip() for a in (arg or '').split(',') if a.strip()}
  allowed = {**(known or {}), **{k: COMMON_ARGS[k] for k in common}}
  unknown = sorted(args - set(allowed))
  if unknown:
    raise ValueError(
      f'unknown config argument {", ".join(unknown)}; this config takes: '
      + '; '.join(f'{k} ({v})' for k, v in allowed.items())
    )
  return args


def finish(config: ml_collections.ConfigDict, args: set[str]) -> ml_collections.ConfigDict:
  """Applies the common arguments (after the config's own)."""
  if 'fmnist' in args:
    config.dataset.name = 'fashion_mnist'
  seeds = QUICK_SEEDS if 'quick' in args else REPORT_SEEDS
  if 'seeds' in args:
    config.seeds = seeds
  if 'rerun' in args and 'quick' not in args:  # quick: the reruns would double its time
    config.rerun_seeds = REPORT_SEEDS
  if 'smoke' in args:
    apply_smoke(config)
  return config


def apply_smoke(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Shrinks a config to a few steps on synthetic data of the real shapes (offline, fast)."""
  config.dataset.synthetic = True
  config.dataset.validation_size = 64
  config.num_epochs = 2
  config.batch_size = 32
  config.eval.batch_size = 64
  for path, values in sweep_lib.flatten(config.sweep.to_dict()).items():
    sweep(config, path, tuple(values)[:2])  # keep the structure, fewer points
  if config.search.points > SMOKE_SEARCH_POINTS:
    config.search.points = SMOKE_SEARCH_POINTS
    for path, leaf in sweep_lib.flatten(config.search.space.to_dict()).items():
      if leaf[0] == 'list':  # the points given explicitly: the first ones
        sweep_lib.set_path(config.search.space, path, tuple(leaf[: SMOKE_SEARCH_POINTS + 1]))
  return config
