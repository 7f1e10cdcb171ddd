"""The keys every experiment config has, and the `smoke` switch that shrinks any of them.

Config files build on :func:`base` and change what their experiment needs; the command
line overrides any field (``--config.optimizer.learning_rate=3e-4``), and
``config.sweep`` mirrors the config's structure with lists as leaves.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from adam_jax import registry
from experiments import sweep as sweep_lib

# Optimizer fields that are not the optimizer's keyword arguments: its name and schedule.
OPTIMIZER_META = ('name', 'schedule', 'restart_epochs', 'restart_mult')


def optimizer_fields(*specs: registry.OptimizerSpec) -> dict[str, type]:
  """The config field (its type) of every keyword a config can give to one of ``specs``.

  Their union, read from the descriptions (:func:`adam_jax.describe`); a dtype is a field
  of type ``str``, its name. Not here: ``mask``, ``weight_decay_mask``, ``vector_mask`` and
  other functions of the parameter tree (use the library for those).

  Raises:
    ValueError: if two optimizers give one keyword two types.
  """
  fields: dict[str, type] = {}
  for spec in specs:
    for key, h in spec.settable.items():
      if fields.setdefault(key, h.kind) is not h.kind:
        raise ValueError(f'optimizer keyword {key!r} is both {fields[key]} and {h.kind}')
  return fields


def add_optimizer_fields(config: ml_collections.ConfigDict, *names: str) -> None:
  """Adds to ``config.optimizer`` (unset) each keyword of the optimizers ``names`` it lacks.

  So that a config file naming an optimizer by path (``optax.lion``, ``my_pkg.mod:make``)
  can set and sweep its keywords, and the command line override them.

  Raises:
    adam_jax.OptimizerError: for a name that names no optimizer.
  """
  fields = optimizer_fields(*map(registry.describe, names))
  with config.optimizer.unlocked():
    for key, kind in fields.items():
      if key not in config.optimizer:
        config.optimizer[key] = config_dict.placeholder(kind)


# Every keyword of every registered optimizer (adam_jax.OPTIMIZERS) but the learning rate,
# unset: None leaves each optimizer its own default. Set one (or sweep it) on any config;
# validation checks that an optimizer of the run takes it. An optimizer named by path
# (optax.NAME, module:factory) adds its own (experiments.optimizers.add_fields).
OPTIMIZER_OPTIONS = {
  k: v
  for k, v in optimizer_fields(*map(registry.describe, registry.OPTIMIZERS)).items()
  if k != 'learning_rate'
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
  # How many steps beyond an end of its grid a choice may go before it is given up (and
  # listed at the edge, with the reason).
  config.extend_grid_steps = 3
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
  # The rest unset: each optimizer at its own defaults (Adam's ε 1e-8, AdaMax's 0, AdaDelta's
  # 1e-6, Lion's β2 0.99, ...); a config that sets one says why in its docstring.
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
SMOKE_MAX_SEEDS = 2

# Seeds of the report's comparisons (the `seeds` and `rerun` arguments).
REPORT_SEEDS, QUICK_SEEDS = 5, 2

# Arguments every config takes (`--config=configs/NAME.py:fmnist,smoke`).
COMMON_ARGS = {
  'fmnist': 'Fashion-MNIST instead of MNIST (the real data an offline machine has)',
  'quick': 'the reduced recipe of `make reproduce-quick` (fewer epochs and grid points)',
  'smoke': (
    f'a few steps on synthetic data of the real shapes (offline, seconds; {SMOKE_MAX_SEEDS} '
    'seeds at most, one checkpoint at the end)'
  ),
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
  config.extend_grid_steps = 1  # random data: every choice is at an edge
  # Saved at the end (and on SIGINT/SIGTERM), not after every epoch: vae_mnist.py:smoke took
  # 6.9-7.5 s saving after each of its 2 epochs, 6.1-6.4 s saving at the end (a process's
  # first orbax save costs the most). A test that kills a run mid-way asks for every epoch.
  config.checkpoint.every_epochs = 0
  # Two seeds at most (a mean ± std and a test still have what they need), at a fraction of
  # the time: the `seeds` and `rerun` arguments' 5 cost 2.5x as many trainings.
  config.seeds = min(config.seeds, SMOKE_MAX_SEEDS)
  config.rerun_seeds = min(config.rerun_seeds, SMOKE_MAX_SEEDS)
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
