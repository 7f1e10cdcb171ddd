"""Adam paper §6.3, Figure 3: CNN c64-c64-c128-1000 on whitened CIFAR-10.

Three 5x5 conv stages with 3x3 max-pooling (stride 2), a 1000-unit ReLU layer; inputs
ZCA-whitened; dropout on the input and the dense layer. Adam vs AdaGrad vs SGD+Nesterov,
with and without dropout; the figure shows the first 3 epochs and 45 epochs.

  python -m experiments.run --config=configs/cnn_cifar.py         # needs tfds cifar10
  python -m experiments.run --config=configs/cnn_cifar.py:smoke
"""

from configs import common


def get_config(arg: str | None = None):
  args = common.parse_args(arg)
  config = common.base()
  config.num_epochs = 45
  config.dataset.name = 'cifar10'
  config.model.name = 'cnn'
  config.model.dropout = True
  common.sweep(config, 'optimizer.name', ['adam', 'adagrad', 'nesterov'])
  common.sweep(config, 'model.dropout', [True, False])
  common.sweep(config, 'optimizer.learning_rate', [1e-4, 1e-3, 1e-2])
  return common.finish(config, args)
