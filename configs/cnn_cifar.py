"""Adam paper §6.3, Figure 3: CNN c64-c64-c128-1000 on whitened CIFAR-10.

Three 5x5 conv stages with 3x3 max-pooling (stride 2), a 1000-unit ReLU layer; inputs
ZCA-whitened; dropout on the input and the dense layer. Adam vs AdaGrad vs SGD+Nesterov,
with and without dropout; the figure shows the first 3 epochs and 45 epochs.

`first3`: the figure's left panel, the first three epochs by iteration (the training loss
averaged over every 10 steps), with §6.3's optimizer diagnostics (how much ε dominates
√v̂, per layer) once per epoch; α ∈ {0.001, 0.01}. With `fmnist` it runs offline on
Fashion-MNIST (not whitened; the paper whitens CIFAR-10).

  python -m experiments.run --config=configs/cnn_cifar.py         # needs tfds cifar10
  python -m experiments.run --config=configs/cnn_cifar.py:fmnist,first3   # offline, see below
  python -m experiments.run --config=configs/cnn_cifar.py:smoke
"""

from configs import common

ARGS = {'first3': 'the first three epochs by iteration, with optimizer diagnostics (§6.3)'}


def get_config(arg: str | None = None):
  args = common.parse_args(arg, ARGS)
  config = common.base()
  config.num_epochs = 45
  config.dataset.name = 'cifar10'
  config.model.name = 'cnn'
  config.model.dropout = True
  common.sweep(config, 'optimizer.name', ['adam', 'adagrad', 'nesterov'])
  common.sweep(config, 'model.dropout', [True, False])
  common.sweep(config, 'optimizer.learning_rate', [1e-4, 1e-3, 1e-2])
  if 'first3' in args:
    config.num_epochs = 3
    config.log_every_steps = 10
    config.diagnostics = True
    common.sweep(config, 'optimizer.learning_rate', [1e-3, 1e-2])
  if 'quick' in args:  # about 80 s per point and epoch on 2 cores
    config.num_epochs = 1
    common.sweep(config, 'optimizer.name', ['adam'])
    common.sweep(config, 'model.dropout', [True])
    common.sweep(config, 'optimizer.learning_rate', [1e-3])
  return common.finish(config, args)
