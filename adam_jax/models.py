"""The models of Kingma & Ba (2015), §6, of Pérez's MNIST replication and DeepOBS, in Flax linen.

Every model is called as ``model.apply(variables, x, train=..., rngs=...)`` and has no
mutable state (no BatchNorm). Dropout draws from the ``'dropout'`` rng collection and is
the identity when ``train`` is false; the VAE always draws its latent sample from the
``'latent'`` rng collection (the ELBO is a sampled quantity at evaluation too).

| name | model | section |
|---|---|---|
| ``'logistic_regression'`` | multinomial logistic regression | §6.1, Pérez §2.1 |
| ``'mlp'`` | 2×1000 ReLU MLP, optional dropout | §6.2, Pérez §2.2 |
| ``'cnn'`` | c64-c64-c128-1000 CNN, optional dropout | §6.3 |
| ``'perez_cnn'`` | two-stage CNN with two FC layers | Pérez §4.1.3 |
| ``'deepobs_2c2d'`` | DeepOBS's 2c2d CNN, its truncated-normal init | DeepOBS ``fmnist_2c2d`` |
| ``'vae'`` | 500 softplus units, 50-d Gaussian latent, Bernoulli decoder | §6.4 |

Example:
  >>> import jax, jax.numpy as jnp
  >>> model = get_model('logistic_regression', num_classes=10)
  >>> variables = model.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)))
  >>> count_params(variables)
  7850
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from adam_jax import _extras, layers

try:
  import flax.linen as nn
except ModuleNotFoundError as error:  # the 'experiments' extra
  _extras.require(__name__, error.name or 'flax')
  raise

__all__ = [
  'MLP',
  'DeepOBS2C2D',
  'MODELS',
  'VAE',
  'LogisticRegression',
  'PaperCNN',
  'PerezCNN',
  'count_params',
  'get_model',
]


def _flatten(x: jax.Array) -> jax.Array:
  """Flattens every axis but the leading (batch) one."""
  return x.reshape((x.shape[0], -1))


def _as_image(x: jax.Array) -> jax.Array:
  """An NHWC image batch; a channel-less ``(N, H, W)`` batch gets a channel axis."""
  return x[..., None] if x.ndim == 3 else x


def _conv_stage(x: jax.Array, features: int, name: str) -> jax.Array:
  """5×5 convolution (SAME), ReLU, 3×3 max-pool with stride 2 (SAME).

  ReLU is monotone, so ``relu(max_pool(x)) == max_pool(relu(x))``: the order in which the
  Adam paper (§6.3) and Pérez (§4.1.3: conv, pool, ReLU) list the layers does not matter,
  and pooling first applies the ReLU to a quarter of the values.
  """
  x = layers.Conv(features, kernel_size=(5, 5), name=name)(x)
  x = layers.max_pool_same(x, window_shape=(3, 3), strides=(2, 2))
  return nn.relu(x)


class LogisticRegression(nn.Module):
  """Multinomial logistic regression on flattened inputs (Adam paper §6.1; Pérez §2.1).

  The 784 MNIST pixels (or the 10,000-dimensional IMDB bag of words, §6.1) map linearly
  to ``num_classes`` logits. The paper's L2 term λ‖θ‖² is added by the caller with
  :func:`adam_jax.losses.l2_penalty`. With ``dropout`` the inputs are dropped with rate
  ``input_dropout`` in training (§6.1: 50% dropout noise on the IMDB bag of words).

  Attributes:
    num_classes: Number of output logits.
    dropout: Whether to apply input dropout when ``train`` is true.
    input_dropout: Dropout rate on the inputs.
  """

  num_classes: int
  dropout: bool = False
  input_dropout: float = 0.5

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
    """Logits ``(batch, num_classes)`` for inputs of any trailing shape.

    Args:
      x: Inputs ``(batch, ...)``.
      train: Whether input dropout is active (needs the ``'dropout'`` rng).

    Returns:
      The class logits.
    """
    x = _flatten(x)
    if self.dropout:
      x = nn.Dropout(self.input_dropout, deterministic=not train)(x)
    return nn.Dense(self.num_classes, name='linear')(x)


class MLP(nn.Module):
  """Fully connected ReLU network, by default 2×1000 hidden units (Adam paper §6.2).

  With ``dropout`` the inputs are dropped with rate ``input_dropout`` and every hidden
  layer's activations with rate ``hidden_dropout`` (Hinton et al.'s 0.2 / 0.5, the usual
  setting for this architecture; Fig. 2a). Without it the network is deterministic
  (Fig. 2b, trained with L2 weight decay instead).

  Attributes:
    num_classes: Number of output logits.
    hidden: Widths of the hidden layers.
    dropout: Whether to apply dropout when ``train`` is true.
    input_dropout: Dropout rate on the (flattened) inputs.
    hidden_dropout: Dropout rate after each hidden ReLU layer.
  """

  num_classes: int
  hidden: Sequence[int] = (1000, 1000)
  dropout: bool = False
  input_dropout: float = 0.2
  hidden_dropout: float = 0.5

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
    """Logits ``(batch, num_classes)``.

    Args:
      x: Inputs ``(batch, ...)``, flattened internally.
      train: Whether dropout is active (needs the ``'dropout'`` rng).

    Returns:
      The class logits.
    """
    deterministic = not (train and self.dropout)
    x = _flatten(x)
    if self.dropout:
      x = nn.Dropout(self.input_dropout, deterministic=deterministic)(x)
    for i, width in enumerate(self.hidden):
      x = nn.relu(nn.Dense(width, name=f'hidden_{i}')(x))
      if self.dropout:
        x = nn.Dropout(self.hidden_dropout, deterministic=deterministic)(x)
    return nn.Dense(self.num_classes, name='output')(x)


class PaperCNN(nn.Module):
  """The c64-c64-c128-1000 CNN of the Adam paper, §6.3 (CIFAR-10, Fig. 3).

  "Three alternating stages of 5x5 convolution filters and 3x3 max pooling with stride
  of 2 that are followed by a fully connected layer of 1000 rectified linear hidden
  units"; "dropout noise is applied to the input layer and fully connected layer".
  Convolutions and pools use SAME padding, so a 32×32 input goes 32→16→8→4 (and a
  28×28 MNIST input 28→14→7→4). Whitening of the inputs is the data pipeline's job.

  Attributes:
    num_classes: Number of output logits.
    features: Filters of each 5×5 convolution stage.
    dense: Width of the fully connected ReLU layer.
    dropout: Whether to apply dropout when ``train`` is true.
    input_dropout: Dropout rate on the input image.
    hidden_dropout: Dropout rate on the fully connected layer.
  """

  num_classes: int
  features: Sequence[int] = (64, 64, 128)
  dense: int = 1000
  dropout: bool = False
  input_dropout: float = 0.2
  hidden_dropout: float = 0.5

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
    """Logits ``(batch, num_classes)``.

    Args:
      x: Images ``(batch, height, width, channels)`` (or ``(batch, height, width)``).
      train: Whether dropout is active (needs the ``'dropout'`` rng).

    Returns:
      The class logits.
    """
    deterministic = not (train and self.dropout)
    x = _as_image(x)
    if self.dropout:
      x = nn.Dropout(self.input_dropout, deterministic=deterministic)(x)
    for i, f in enumerate(self.features):
      x = _conv_stage(x, f, name=f'conv_{i}')
    x = nn.relu(nn.Dense(self.dense, name='dense')(_flatten(x)))
    if self.dropout:
      x = nn.Dropout(self.hidden_dropout, deterministic=deterministic)(x)
    return nn.Dense(self.num_classes, name='output')(x)


class PerezCNN(PaperCNN):
  """Pérez's MNIST CNN (seed 000, §4.1.3 and §4.2.3).

  The seed says only: "two alternating stages of a 5×5 convolutional layer, a 3×3 max
  pooling layer with a stride of 2, and a ReLU layer. Following those two stages there
  are two fully-connected layers", trained with and without dropout. It gives neither
  filter counts, FC widths, padding nor where dropout goes. Chosen here (our
  assumption, not Pérez's): 32 and 64 filters and a 1024-unit hidden FC layer (the
  classic two-conv MNIST net), so the two FC layers are Dense(1024)+ReLU and the
  classifier; SAME padding (28→14→7); dropout placed as in the Adam paper's CNN (§6.3),
  on the input and on the hidden FC layer.

  The layers are :class:`PaperCNN`'s with two stages and these widths.

  Attributes:
    num_classes: Number of output logits.
    features: Filters of each 5×5 convolution stage.
    dense: Width of the first (hidden, ReLU) fully connected layer.
    dropout: Whether to apply dropout when ``train`` is true.
    input_dropout: Dropout rate on the input image.
    hidden_dropout: Dropout rate on the hidden fully connected layer.
  """

  features: Sequence[int] = (32, 64)
  dense: int = 1024


class DeepOBS2C2D(nn.Module):
  """DeepOBS's ``2c2d`` network, the model of its ``fmnist_2c2d`` test problem.

  Schneider, Balles & Hennig (ICLR 2019), adapted by DeepOBS from TensorFlow's CNN
  tutorial: two stages of a 5×5 convolution (SAME, stride 1) with ReLU and a 2×2 max-pool
  with stride 2 (SAME), 32 then 64 filters (28→14→7); the 7·7·64 = 3136 features in HWC
  order; a 1024-unit ReLU layer; a linear classifier. No dropout, no batch norm, no weight
  decay: the loss is the plain softmax cross-entropy. Every kernel is drawn from a normal
  of standard deviation ``init_stddev`` = 0.05 truncated at two standard deviations
  (values in ±0.1, actual standard deviation 0.05·0.8796 ≈ 0.0440: TensorFlow's
  ``truncated_normal_initializer(stddev=0.05)``, DeepOBS's PyTorch ``_truncated_normal_init``
  and :func:`jax.nn.initializers.truncated_normal` are the same distribution), and every
  bias starts at the constant ``init_bias`` = 0.05.

  ReLU is monotone, so pooling before the ReLU (as :func:`_conv_stage` does, cheaper)
  gives exactly DeepOBS's conv → ReLU → pool. The layer widths are Pérez's CNN's
  (:class:`PerezCNN`); the pooling window (2×2, not 3×3) and the initialisation differ.

  References:
    Schneider, Balles & Hennig, *DeepOBS: A Deep Learning Optimizer Benchmark Suite*,
    ICLR 2019; github.com/fsschneider/DeepOBS: ``deepobs/tensorflow/testproblems/_2c2d.py``
    and ``fmnist_2c2d.py``; PyTorch: ``deepobs/pytorch/testproblems/testproblems_modules.py``
    (``net_mnist_2c2d``) and ``testproblems_utils.py`` (``_truncated_normal_init``).

  Attributes:
    num_classes: Number of output logits.
    features: Filters of each 5×5 convolution stage.
    dense: Width of the hidden ReLU layer.
    init_stddev: Standard deviation, before truncation at ±2σ, of every kernel.
    init_bias: The constant every bias starts at.
  """

  num_classes: int
  features: Sequence[int] = (32, 64)
  dense: int = 1024
  init_stddev: float = 0.05
  init_bias: float = 0.05

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
    """Logits ``(batch, num_classes)``.

    Args:
      x: Images ``(batch, height, width, channels)`` (or ``(batch, height, width)``).
      train: Unused (the network has no dropout); accepted like every model's.

    Returns:
      The class logits.
    """
    del train
    init = {
      'kernel_init': nn.initializers.truncated_normal(self.init_stddev),
      'bias_init': nn.initializers.constant(self.init_bias),
    }
    x = _as_image(x)
    for i, f in enumerate(self.features):
      x = layers.Conv(f, kernel_size=(5, 5), name=f'conv_{i}', **init)(x)
      x = nn.relu(layers.max_pool_same(x, window_shape=(2, 2), strides=(2, 2)))
    x = nn.relu(nn.Dense(self.dense, name='dense', **init)(_flatten(x)))
    return nn.Dense(self.num_classes, name='output', **init)(x)


class VAE(nn.Module):
  """Variational auto-encoder of the Adam paper, §6.4 (Kingma & Welling, 2013).

  "A single hidden layer with 500 hidden units with softplus nonlinearities and a
  50-dimensional spherical Gaussian latent variable", Bernoulli decoder on the pixels.
  Encoder: Dense(hidden)+softplus → (mean, log-variance) of q(z|x). Decoder:
  Dense(hidden)+softplus → Bernoulli logits. One reparameterized sample
  ``z = mean + exp(logvar / 2) * eps`` is drawn on every call, training or not, from the
  ``'latent'`` rng collection, so ``apply`` always needs ``rngs={'latent': key}``.
  The loss is :func:`adam_jax.losses.negative_elbo`.

  Attributes:
    latents: Dimension of the latent variable z.
    hidden: Width of the encoder and decoder hidden layers.
    output_shape: Shape of one example (the decoder's logits are reshaped to it).
  """

  latents: int = 50
  hidden: int = 500
  output_shape: Sequence[int] = (28, 28, 1)

  @nn.compact
  def __call__(
    self, x: jax.Array, *, train: bool = False
  ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Encodes, samples z, decodes.

    Args:
      x: Inputs ``(batch, ...)`` in [0, 1], flattened internally.
      train: Unused: the latent is sampled in both modes (the ELBO is an expectation).

    Returns:
      ``(logits, mean, logvar)``: Bernoulli logits ``(batch, *output_shape)`` and the
      posterior mean and log-variance ``(batch, latents)``.
    """
    del train
    h = nn.softplus(nn.Dense(self.hidden, name='enc_hidden')(_flatten(x)))
    mean = nn.Dense(self.latents, name='enc_mean')(h)
    logvar = nn.Dense(self.latents, name='enc_logvar')(h)
    eps = jax.random.normal(self.make_rng('latent'), mean.shape, mean.dtype)
    z = mean + jnp.exp(0.5 * logvar) * eps
    h = nn.softplus(nn.Dense(self.hidden, name='dec_hidden')(z))
    shape = tuple(self.output_shape)
    logits = nn.Dense(math.prod(shape), name='dec_output')(h)
    return logits.reshape((x.shape[0], *shape)), mean, logvar


MODELS: dict[str, type[nn.Module]] = {
  'logistic_regression': LogisticRegression,
  'mlp': MLP,
  'cnn': PaperCNN,
  'perez_cnn': PerezCNN,
  'deepobs_2c2d': DeepOBS2C2D,
  'vae': VAE,
}


def get_model(name: str, **kwargs: Any) -> nn.Module:
  """Builds a registered model by name.

  Args:
    name: A key of :data:`MODELS`.
    **kwargs: The model's attributes (e.g. ``num_classes=10, dropout=True``).

  Returns:
    The (unbound) Flax module.

  Raises:
    ValueError: If ``name`` is not registered; the message lists the valid names.
  """
  if name not in MODELS:
    raise ValueError(f'Unknown model {name!r}; valid names: {", ".join(sorted(MODELS))}.')
  return MODELS[name](**kwargs)


def count_params(params: Any) -> int:
  """Total number of scalars in a pytree of parameters (or a whole variables dict)."""
  return sum(math.prod(jnp.shape(leaf)) for leaf in jax.tree.leaves(params))
