"""Reddi et al. (2018), §3: the online and stochastic counterexamples, Adam vs AMSGrad.

f_t(x) = 1010x once every 101 steps (online) or with probability 0.01 (stochastic), −10x
otherwise, on [−1, 1]; the optimum is x = −1. β1 = 0.9, β2 = 0.99, α_t = α/√t. Plots x_t
and the average regret R_t/t. `num_epochs` × `batch_size` steps (batch_size = steps per
"epoch", so the same keys as every config apply).

  python -m experiments.run --config=configs/reddi.py
  python -m experiments.run --config=configs/reddi.py:long   # the report's 2·10⁷ steps
  python -m experiments.run --config=configs/reddi.py:smoke
"""

from configs import common

COMMON_ARGS = ('quick', 'smoke')  # no dataset to swap
ARGS = {'long': '2·10⁷ steps (the report: AMSGrad needs ~10⁷ to reach −1 when stochastic)'}


def get_config(arg: str | None = None):
  args = common.parse_args(arg, ARGS, COMMON_ARGS)
  config = common.base()
  config.experiment = 'reddi'
  config.num_epochs = 20
  config.batch_size = 10_000  # steps per epoch: 200,000 steps in all
  config.dataset.name = 'reddi_online'  # or 'reddi_stochastic'
  config.dataset.validation_size = 0
  config.model.name = 'linear'
  config.optimizer.schedule = 'inverse_sqrt'
  config.optimizer.learning_rate = 0.5
  config.optimizer.b2 = 0.99
  config.plot = 'reddi'
  common.sweep(config, 'optimizer.name', ['adam', 'amsgrad'])
  common.sweep(config, 'dataset.name', ['reddi_online', 'reddi_stochastic'])
  if 'long' in args:
    config.num_epochs = 2000
  if 'quick' in args:
    config.num_epochs = 200
  if 'smoke' in args:
    config.num_epochs = 2
    config.batch_size = 500
  return config
