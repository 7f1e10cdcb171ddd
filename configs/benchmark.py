"""The benchmark's problems: one optimizer tuned by a quasi-random search on each (issue 16).

`python -m experiments.benchmark --optimizer=NAME` runs each problem with this config and
compares the optimizer with the committed baselines (Adam, SGD+Nesterov, AdamW). The
problems are the papers' models on MNIST (as the reproduction runs them; `make install`
provides it offline), built from their own configs, and DeepOBS's fmnist_2c2d:

| problem | model (config) | test metric |
|---|---|---|
| mnist_logreg | §6.1's logistic regression, λ = 1e-5 (`lr_mnist.py`) | accuracy |
| mnist_mlp | §6.2's MLP 2×1000 ReLU, λ = 1e-6 (`mlp_mnist.py`, Figure 2b) | accuracy |
| mnist_cnn | Pérez's CNN with dropout (`perez_mnist.py:cnn`) | accuracy |
| mnist_vae | §6.4's VAE on MNIST thresholded at 0.5 (`vae_mnist.py`) | loss (−ELBO) |
| fmnist_2c2d | DeepOBS's 2c2d on Fashion-MNIST (`fmnist_2c2d.py`), 5,000 held out | accuracy |

The protocol, the same for every optimizer: a constant α, drawn log-uniformly from
[1e-5, 1] at `search.points` points of a scrambled Halton sequence (argument `b1` or
`momentum`: 1−β1, or 1−momentum, log-uniformly from [0.01, 0.5] too), one seed each,
all points in one vmapped program; the point with the best validation metric (accuracy,
the VAE's loss) is chosen and trained again with `rerun_seeds` fresh seeds (DeepOBS's
protocol), whose results are reported. The full budget is meant for a GPU; `quick` is
sized for the whole suite in about 20 minutes on 2 CPU cores (few epochs and points; an
estimate from the epoch times of `make reproduce-quick`, not yet a measured run).

  python -m experiments.run --config=configs/benchmark.py:mnist_mlp,quick \
      --config.optimizer.name=adam --workdir=runs/benchmark/quick/adam/mnist_mlp
  python -m experiments.run --config=configs/benchmark.py:mnist_cnn,b1   # the full budget
  python -m experiments.run --config=configs/benchmark.py:smoke   # mnist_logreg, synthetic
"""

import ml_collections

from configs import common, fmnist_2c2d, lr_mnist, mlp_mnist, perez_mnist, vae_mnist

# problem -> (its config module and argument, the model fields it fixes).
PROBLEMS = {
  'mnist_logreg': (lr_mnist, None, {}),
  'mnist_mlp': (mlp_mnist, None, {}),
  'mnist_cnn': (perez_mnist, 'cnn', {'name': 'perez_cnn', 'dropout': True}),
  'mnist_vae': (vae_mnist, None, {}),
  'fmnist_2c2d': (fmnist_2c2d, None, {}),
}
# Budgets: problem -> (epochs, search points). Seeds of the rerun: QUICK_SEEDS, FULL_SEEDS.
BUDGETS = {
  'quick': {
    'mnist_logreg': (3, 8),
    'mnist_mlp': (3, 6),
    'mnist_cnn': (1, 4),
    'mnist_vae': (3, 8),
    'fmnist_2c2d': (1, 4),
  },
  'full': {
    'mnist_logreg': (20, 20),
    'mnist_mlp': (20, 20),
    'mnist_cnn': (20, 20),
    'mnist_vae': (20, 20),
    'fmnist_2c2d': (20, 20),
  },
}
QUICK_SEEDS, FULL_SEEDS = common.QUICK_SEEDS, common.REPORT_SEEDS
LEARNING_RATES = (1e-5, 1.0)  # log-uniform
ONE_MINUS_MOMENTUM = (1e-2, 0.5)  # log-uniform 1−β1 (β1 in [0.5, 0.99]), as AlgoPerf's
MOMENTUM_KEYS = ('b1', 'momentum')

ARGS = {
  **{name: f'the problem {name} (default: mnist_logreg)' for name in PROBLEMS},
  'b1': 'also search 1−β1 (optimizer.b1), log-uniform in [0.01, 0.5]',
  'momentum': (
    'also search 1−momentum (optimizer.momentum), log-uniform in [0.01, 0.5]; the default '
    'optimizer is then SGD+Nesterov (Adam takes no momentum)'
  ),
}
COMMON_ARGS = ('quick', 'smoke')  # the data is the problem's; the seeds, the protocol's


def get_config(arg: str | None = None):
  args = common.parse_args(arg, ARGS, COMMON_ARGS)
  chosen = [name for name in PROBLEMS if name in args] or ['mnist_logreg']
  if len(chosen) > 1 or len(args & set(MOMENTUM_KEYS)) > 1:
    raise ValueError(f'one problem and one of {MOMENTUM_KEYS} at most, got {sorted(args)}')
  problem = chosen[0]
  module, module_arg, model = PROBLEMS[problem]
  config = module.get_config(module_arg)
  for key, value in model.items():
    config.model[key] = value
  config.sweep = ml_collections.ConfigDict()  # the search replaces the config's grid
  config.optimizer = common.base().optimizer  # Adam's defaults, constant α
  config.dataset.validation_size = 5000  # fmnist_2c2d holds none out: it must, to tune
  config.extend_grid = False  # a fixed budget of points (the reproduction extends its grids)
  config.eval.select_metric = 'loss' if config.model.name == 'vae' else 'accuracy'
  config.plot = 'curves'
  budget = 'quick' if 'quick' in args else 'full'
  config.num_epochs, config.search.points = BUDGETS[budget][problem]
  common.search(config, 'optimizer.learning_rate', 'log_uniform', *LEARNING_RATES)
  for key in args & set(MOMENTUM_KEYS):
    common.search(config, f'optimizer.{key}', 'one_minus_log_uniform', *ONE_MINUS_MOMENTUM)
  if 'momentum' in args:
    config.optimizer.name = 'nesterov'
  config.seeds = 1
  config.rerun_by = ()  # one choice per problem (the VAE's config reruns each cell)
  config.rerun_seeds = QUICK_SEEDS if budget == 'quick' else FULL_SEEDS
  return common.finish(config, args)
