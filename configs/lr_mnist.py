"""Adam paper §6.1, Figure 1 (left): L2-regularised multinomial logistic regression on MNIST.

Adam vs SGD with Nesterov momentum vs AdaGrad, each with α_t = α/√t and its α chosen
from a grid on the validation split; minibatch 128; training cost against epochs.

  python -m experiments.run --config=configs/lr_mnist.py
  python -m experiments.run --config=configs/lr_mnist.py:fmnist,followups   # make run
  python -m experiments.run --config=configs/lr_mnist.py:smoke   # offline, seconds
"""

from configs import common

ARGS = {'followups': 'AdaMax, AMSGrad, Nadam and AdamW beside Adam, SGD+Nesterov and AdaGrad'}


def get_config(arg: str | None = None):
  args = common.parse_args(arg, ARGS)
  config = common.base()
  config.num_epochs = 45  # Figure 1 shows 45 passes over the data
  config.dataset.name = 'mnist'
  config.model.name = 'logistic_regression'
  config.model.l2 = 1e-5  # the paper does not give λ; small enough not to cap accuracy
  config.optimizer.schedule = 'inverse_sqrt'  # "α_t = α/√t" (§6.1, as in Theorem 4.1)
  common.sweep(config, 'optimizer.name', ['adam', 'nesterov', 'adagrad'])
  # Decaying per *iteration*, α must be large (REFERENCE: α = 1e-3 stalls well below 92%).
  common.sweep(config, 'optimizer.learning_rate', [0.01, 0.03, 0.1, 0.3, 1.0, 3.0])
  if 'followups' in args:  # the report's Figure 1: the follow-ups beside the paper's three
    common.sweep(
      config,
      'optimizer.name',
      ['adam', 'adamax', 'amsgrad', 'nadam', 'adamw', 'nesterov', 'adagrad'],
    )
  if 'quick' in args:
    config.num_epochs = 8
  return common.finish(config, args)
