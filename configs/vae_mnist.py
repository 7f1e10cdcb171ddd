"""Adam paper §6.4, Figure 4: bias correction in a VAE, the whole grid as one program.

VAE with 500 softplus hidden units and a 50-d latent on binarized MNIST. Grid:
β1 ∈ {0, 0.9} × β2 ∈ {0.99, 0.999, 0.9999} × log10 α ∈ {−5, ..., −1} × bias correction
on/off = 60 points, vmapped. Loss (negative ELBO) after 10 epochs (argument `long`: 100).

  python -m experiments.run --config=configs/vae_mnist.py
  python -m experiments.run --config=configs/vae_mnist.py:long
  python -m experiments.run --config=configs/vae_mnist.py \
      --config.dataset.name=fashion_mnist --config.dataset.binarize=True
  python -m experiments.run --config=configs/vae_mnist.py:smoke
"""

from configs import common


def get_config(arg: str | None = None):
  args = common.parse_args(arg)
  config = common.base()
  config.num_epochs = 100 if 'long' in args else 10
  config.dataset.name = 'binarized_mnist'
  config.model.name = 'vae'
  config.optimizer.bias_correction = True
  config.plot = 'figure4'
  common.sweep(config, 'optimizer.b1', [0.0, 0.9])
  common.sweep(config, 'optimizer.b2', [0.99, 0.999, 0.9999])
  common.sweep(config, 'optimizer.learning_rate', [1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
  common.sweep(config, 'optimizer.bias_correction', [True, False])
  if 'smoke' in args:
    common.apply_smoke(config)
  return config
