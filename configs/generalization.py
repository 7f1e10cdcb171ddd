"""Wilson et al.'s generalization gap on Fashion-MNIST, and whether Adam's follow-ups close it.

Wilson, Roelofs, Stern, Srebro & Recht, *The Marginal Value of Adaptive Gradient Methods in
Machine Learning* (NeurIPS 2017): adaptive methods reach a lower training loss than
well-tuned SGD with momentum, but test no better (often worse). The follow-ups each say
they close the gap: SWATS (switch from Adam to SGD, Keskar & Socher 2017), AdamW and AdamWR
(decoupled weight decay, warm restarts; Loshchilov & Hutter 2019) and ND-Adam (Zhang et al.
2017).

The problem: the MLP 784-1000-1000-10 (ReLU) without dropout or L2, so that the optimizer
alone decides how the network generalises; Fashion-MNIST; batch 128; 15 epochs, the length
at which AdamWR's periods of 1, 2, 4 and 8 epochs end (at epochs 1, 3, 7 and 15). Each
optimizer's α (and AdamW's decay) is chosen on the validation accuracy (5,000 training
images held out), then (`rerun`) the choices are trained again with fresh seeds.

Without arguments: SGD with heavy-ball momentum 0.9 (`momentum`), Adam, SWATS and ND-Adam, each over
α ∈ {1e-4, 3e-4, …, 1e-1}. With `decoupled`: AdamW at constant α and AdamWR (the same with
SGDR's warm restarts), over α ∈ {3e-4, …, 1e-2} and decay ∈ {0.01, 0.1, 1} (torch's
convention: the step decays θ by α·decay; the paper's λ is α·decay).

  python -m experiments.run --config=configs/generalization.py:rerun
  python -m experiments.run --config=configs/generalization.py:decoupled,rerun
  python -m experiments.run --config=configs/generalization.py:smoke
"""

from configs import common

ARGS = {
  'decoupled': 'AdamW and AdamWR (warm restarts) over α and weight decay, instead of '
  'SGD+momentum, Adam, SWATS and ND-Adam'
}


def get_config(arg: str | None = None):
  args = common.parse_args(arg, ARGS)
  config = common.base()
  config.num_epochs = 15
  config.dataset.name = 'fashion_mnist'  # (so the common `fmnist` argument changes nothing)
  config.model.name = 'mlp'
  config.model.dropout = False
  config.model.l2 = 0.0
  config.eval.select_metric = 'accuracy'  # the claim is about test accuracy
  config.optimizer.learning_rate = 1e-3
  config.optimizer.restart_epochs = 1  # AdamWR: periods of 1, 2, 4, 8 epochs
  config.optimizer.restart_mult = 2.0
  if 'decoupled' in args:
    config.optimizer.name = 'adamw'
    common.sweep(config, 'optimizer.schedule', ['constant', 'warm_restarts'])
    common.sweep(config, 'optimizer.learning_rate', [3e-4, 1e-3, 3e-3, 1e-2])
    common.sweep(config, 'optimizer.weight_decay', [0.01, 0.1, 1.0])
  else:
    common.sweep(config, 'optimizer.name', ['momentum', 'adam', 'swats', 'nd_adam'])
    common.sweep(config, 'optimizer.learning_rate', [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
  if 'quick' in args:
    config.num_epochs = 2  # AdamWR restarts once, after epoch 1
    if 'decoupled' in args:
      common.sweep(config, 'optimizer.learning_rate', [1e-3, 3e-3])
      common.sweep(config, 'optimizer.weight_decay', [0.1, 1.0])
    else:
      common.sweep(config, 'optimizer.learning_rate', [1e-3, 3e-2])
  return common.finish(config, args)
