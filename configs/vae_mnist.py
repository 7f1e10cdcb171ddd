"""Adam paper §6.4, Figure 4: bias correction in a VAE, the whole grid as one program.

VAE with 500 softplus hidden units and a 50-d latent on MNIST binarised once, deterministically,
by thresholding each pixel at 0.5 (byte >= 128: nothing is sampled, so nothing is stored). Grid:
β1 ∈ {0, 0.9} × β2 ∈ {0.99, 0.999, 0.9999} × log10 α ∈ {−5, ..., −1} × bias correction
on/off = 60 points, one program. Loss (negative ELBO) after 10 epochs (argument `long`: 100).
`fmnist`: Fashion-MNIST binarised the same way. (Larochelle's stochastically binarised MNIST,
tfds's `binarized_mnist`, is `--config.dataset.name=binarized_mnist` where tfds has it.)

  python -m experiments.run --config=configs/vae_mnist.py
  python -m experiments.run --config=configs/vae_mnist.py:long
  python -m experiments.run --config=configs/vae_mnist.py:fmnist
  python -m experiments.run --config=configs/vae_mnist.py:fmnist,rerun   # each cell's α, 5 seeds
  python -m experiments.run --config=configs/vae_mnist.py:smoke
"""

from configs import common

ARGS = {'long': '100 epochs (the lower row of Figure 4)'}


def get_config(arg: str | None = None):
  args = common.parse_args(arg, ARGS)
  config = common.base()
  config.num_epochs = 100 if 'long' in args else 10
  config.dataset.name = 'mnist'
  config.dataset.binarize = True
  config.model.name = 'vae'
  config.optimizer.bias_correction = True
  config.plot = 'figure4'
  common.sweep(config, 'optimizer.b1', [0.0, 0.9])
  common.sweep(config, 'optimizer.b2', [0.99, 0.999, 0.9999])
  common.sweep(config, 'optimizer.learning_rate', [1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
  common.sweep(config, 'optimizer.bias_correction', [True, False])
  # The figure compares cells: with `rerun`, each cell's best α is trained again with seeds.
  config.rerun_by = ('optimizer.b1', 'optimizer.b2', 'optimizer.bias_correction')
  if 'quick' in args:
    config.num_epochs = 2
    common.sweep(config, 'optimizer.b2', [0.99, 0.9999])
    common.sweep(config, 'optimizer.learning_rate', [1e-4, 1e-3, 1e-2])
  return common.finish(config, args)
