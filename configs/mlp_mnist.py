"""Adam paper §6.2, Figure 2: MLP with two hidden layers of 1000 ReLU units on MNIST.

Without arguments: Figure 2b, the deterministic network with L2 weight decay (Adam; SFO is
out of scope). With `dropout`: Figure 2a, dropout-regularised, Adam vs AdaGrad, RMSProp,
AdaDelta and SGD+Nesterov, each with α chosen on the validation split. `short` is the
report's CPU budget for 2a (10 epochs, α ∈ {1e-3, …, 1}); `quick` shrinks either further.

  python -m experiments.run --config=configs/mlp_mnist.py
  python -m experiments.run --config=configs/mlp_mnist.py:dropout
  python -m experiments.run --config=configs/mlp_mnist.py:dropout,fmnist,short   # the report
  python -m experiments.run --config=configs/mlp_mnist.py:smoke
"""

from configs import common

ARGS = {
  'dropout': 'Figure 2a (dropout, five optimizers) instead of 2b (L2, Adam)',
  'short': '2a in the CPU budget of make reproduce: 10 epochs, α ∈ {1e-3, 1e-2, 1e-1, 1}',
}


def get_config(arg: str | None = None):
  args = common.parse_args(arg, ARGS)
  config = common.base()
  config.num_epochs = 20
  config.dataset.name = 'mnist'
  config.model.name = 'mlp'
  config.optimizer.learning_rate = 1e-3
  if 'dropout' in args:  # Figure 2a
    config.model.dropout = True
    common.sweep(config, 'optimizer.name', ['adam', 'adagrad', 'rmsprop', 'adadelta', 'nesterov'])
    common.sweep(config, 'optimizer.learning_rate', [1e-4, 1e-3, 1e-2, 1e-1])
    if 'short' in args:  # AdaGrad and AdaDelta want large steps; 1e-4 is never chosen
      config.num_epochs = 10
      common.sweep(config, 'optimizer.learning_rate', [1e-3, 1e-2, 1e-1, 1.0])
    if 'quick' in args:
      config.num_epochs = 3
      common.sweep(config, 'optimizer.learning_rate', [1e-3, 1e-1])
  else:  # Figure 2b: deterministic, L2 weight decay
    config.model.l2 = 1e-6
    common.sweep(config, 'optimizer.learning_rate', [1e-4, 3e-4, 1e-3])
    if 'quick' in args:
      config.num_epochs = 4
      common.sweep(config, 'optimizer.learning_rate', [1e-4, 1e-3])
  return common.finish(config, args)
