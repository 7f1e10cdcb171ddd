"""Pérez (seed 000), Table 1: MNIST test accuracy after 20 epochs with α/√t, batch 128.

Logistic regression, MLP and Pérez's two-stage CNN, each with and without dropout, trained
with Adam and AdaMax; α from a grid chosen on the validation split.

  python -m experiments.run --config=configs/perez_mnist.py
  python -m experiments.run --config=configs/perez_mnist.py --config.dataset.name=fashion_mnist
  python -m experiments.run --config=configs/perez_mnist.py:cnn   # one model: lr, mlp or cnn
  python -m experiments.run --config=configs/perez_mnist.py:smoke
"""

from configs import common


def get_config(arg: str | None = None):
  args = common.parse_args(arg)
  config = common.base()
  config.num_epochs = 20
  config.dataset.name = 'mnist'
  config.model.name = 'perez_cnn'
  config.optimizer.name = 'adam'
  config.optimizer.schedule = 'inverse_sqrt'
  models = {'lr': 'logistic_regression', 'mlp': 'mlp', 'cnn': 'perez_cnn'}
  chosen = [name for arg, name in models.items() if arg in args] or list(models.values())
  common.sweep(config, 'model.name', chosen)
  common.sweep(config, 'model.dropout', [True, False])
  common.sweep(config, 'optimizer.name', ['adam', 'adamax'])
  common.sweep(config, 'optimizer.learning_rate', [0.003, 0.01, 0.03, 0.1])
  if 'smoke' in args:
    common.apply_smoke(config)
  return config
