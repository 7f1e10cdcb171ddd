"""Adam paper §6.2, Figure 2: MLP with two hidden layers of 1000 ReLU units on MNIST.

Without arguments: Figure 2b, the deterministic network with L2 weight decay (Adam; SFO is
out of scope). With `dropout`: Figure 2a, dropout-regularised, Adam vs AdaGrad, RMSProp,
AdaDelta and SGD+Nesterov, each with α chosen on the validation split.

  python -m experiments.run --config=configs/mlp_mnist.py
  python -m experiments.run --config=configs/mlp_mnist.py:dropout
  python -m experiments.run --config=configs/mlp_mnist.py:dropout \
      --config.dataset.name=fashion_mnist
  python -m experiments.run --config=configs/mlp_mnist.py:smoke
"""

from configs import common


def get_config(arg: str | None = None):
  args = common.parse_args(arg)
  config = common.base()
  config.num_epochs = 20
  config.dataset.name = 'mnist'
  config.model.name = 'mlp'
  config.optimizer.learning_rate = 1e-3
  if 'dropout' in args:  # Figure 2a
    config.model.dropout = True
    common.sweep(config, 'optimizer.name', ['adam', 'adagrad', 'rmsprop', 'adadelta', 'nesterov'])
    common.sweep(config, 'optimizer.learning_rate', [1e-4, 1e-3, 1e-2, 1e-1])
  else:  # Figure 2b: deterministic, L2 weight decay
    config.model.l2 = 1e-6
    common.sweep(config, 'optimizer.learning_rate', [1e-4, 3e-4, 1e-3])
  if 'smoke' in args:
    common.apply_smoke(config)
  return config
