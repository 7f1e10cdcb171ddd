"""Convolution and max-pooling layers that stay fast inside ``lax.scan`` on CPU.

An epoch here is one compiled ``lax.scan``, and XLA:CPU runs some of the gradients that
``jax.grad`` derives for ``lax.conv_general_dilated`` and ``flax.linen.max_pool`` far
slower inside a while loop than the forward operations (jax-ml/jax#12868). Measured per
minibatch of 128 inside a scan (2 CPU cores; benchmarks/RESULTS.md):

- the kernel gradient of a convolution, as XLA derives it, runs 25-70x slower than the
  forward convolution; :func:`conv_same` computes it instead as one *canonical* NHWC
  convolution of transposed operands (the data's channels as the batch, its batch as
  the channels), or, when the input has few channels, as one matrix product of the
  input's patches with the output gradient;
- the gradient of ``reduce_window`` max pooling (``select_and_scatter``) costs 10-20x the
  forward pass; :func:`max_pool_same` is the same pooling written as the maximum of
  reshaped blocks (or of strided slices), one spatial axis at a time, whose gradient is
  elementwise.

:class:`Conv` is a drop-in for ``flax.linen.Conv(features, kernel_size, padding='SAME')``
(same parameter names, shapes and default initialisers).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

from adam_jax import _extras

try:
  import flax.linen as nn
except ModuleNotFoundError as error:  # the 'experiments' extra
  _extras.require(__name__, error.name or 'flax')
  raise

_DIMS = ('NHWC', 'HWIO', 'NHWC')

# Up to this many input channels the kernel gradient is one matrix product of the
# (examples·height·width, kh·kw·channels) patches matrix with the output gradient; above
# it the patches matrix grows too large to write out and a canonical convolution wins.
# Measured on 2 cores (benchmarks/RESULTS.md): 1 and 3 channels (the data) favour the
# patches, 32 and 64 channels the convolution.
IM2COL_MAX_CHANNELS = 4


def _same_pads(k: int) -> tuple[int, int]:
  """'SAME' padding (low, high) of a stride-1 window of size ``k``."""
  return (k - 1) // 2, k // 2


@jax.custom_vjp
def conv_same(x: jax.Array, kernel: jax.Array) -> jax.Array:
  """``lax.conv_general_dilated(x, kernel, (1, 1), 'SAME')`` for NHWC x and HWIO kernel."""
  return lax.conv_general_dilated(x, kernel, (1, 1), 'SAME', dimension_numbers=_DIMS)


def _conv_same_fwd(x, kernel):
  return conv_same(x, kernel), (x, kernel)


def _kernel_grad(x: jax.Array, dy: jax.Array, kh: int, kw: int) -> jax.Array:
  """dW[i, j, c, o] = Σ_{n,h,w} x_pad[n, h+i, w+j, c] · dy[n, h, w, o] (HWIO)."""
  n, h, w, c_in = x.shape
  pads = (_same_pads(kh), _same_pads(kw))
  if c_in <= IM2COL_MAX_CHANNELS:
    padded = jnp.pad(x, ((0, 0), *pads, (0, 0)))
    taps = [padded[:, i : i + h, j : j + w, :] for i in range(kh) for j in range(kw)]
    dy = dy.reshape(n * h * w, -1)
    if c_in == 1:
      # Taps as rows, each one contiguous copy, not columns written a float at a time:
      # 3.3-4.0 against 6.4-6.8 ms for 28×28×1→32 (2 cores, inside a scan).
      return (jnp.stack(taps).reshape(kh * kw, n * h * w) @ dy).reshape(kh, kw, 1, -1)
    patches = jnp.concatenate(taps, axis=-1).reshape(n * h * w, kh * kw * c_in)
    return (patches.T @ dy).reshape(kh, kw, c_in, -1)
  # The same sum as a stride-1 convolution: the input's channels play the batch, its
  # examples the input channels, and dy (spatial size h×w) the kernel; the output's
  # spatial size is then exactly kh×kw.
  lhs = x.transpose(3, 1, 2, 0)  # (c_in, h, w, n)
  rhs = dy.transpose(1, 2, 0, 3)  # (h, w, n, c_out)
  out = lax.conv_general_dilated(lhs, rhs, (1, 1), pads, dimension_numbers=_DIMS)
  return out.transpose(1, 2, 0, 3)  # (kh, kw, c_in, c_out)


def _conv_same_bwd(residuals, dy):
  x, kernel = residuals
  kh, kw = kernel.shape[:2]
  ph, pw = _same_pads(kh), _same_pads(kw)
  # Input gradient: correlate dy with the kernel rotated by 180°, in/out channels swapped.
  flipped = jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2)
  padding = ((ph[1], ph[0]), (pw[1], pw[0]))
  dx = lax.conv_general_dilated(dy, flipped, (1, 1), padding, dimension_numbers=_DIMS)
  dkernel = _kernel_grad(x, dy, kh, kw)
  return dx.astype(x.dtype), dkernel.astype(kernel.dtype)


conv_same.defvjp(_conv_same_fwd, _conv_same_bwd)


def _max_along(x: jax.Array, axis: int, window: int, stride: int) -> jax.Array:
  """'SAME' max pooling along one axis: the maximum of ``window`` strided slices."""
  size = x.shape[axis]
  if window == stride + 1 and size % stride == 0:
    # The CNNs' case (3, stride 2, even size): window a spans block a of ``stride``
    # entries and the first entry of block a+1 ('SAME' pads one -inf at the end). Blocks
    # are a reshape, so forward and gradient are contiguous elementwise operations.
    blocks = x.reshape(*x.shape[:axis], size // stride, stride, *x.shape[axis + 1 :])
    first = lax.index_in_dim(blocks, 0, axis + 1, keepdims=False)
    pads = [(0, 0)] * x.ndim
    pads[axis] = (0, 1)
    after = jnp.pad(lax.slice_in_dim(first, 1, None, axis=axis), pads, constant_values=-jnp.inf)
    return jnp.maximum(jnp.max(blocks, axis=axis + 1), after)
  out = -(-size // stride)
  total = max((out - 1) * stride + window - size, 0)
  pads = [(0, 0)] * x.ndim
  pads[axis] = (total // 2, total - total // 2)
  x = jnp.pad(x, pads, constant_values=-jnp.inf)
  span = (out - 1) * stride + 1
  slices = [lax.slice_in_dim(x, i, i + span, stride, axis) for i in range(window)]
  return functools.reduce(jnp.maximum, slices)


def max_pool_same(x: jax.Array, window_shape: Sequence[int], strides: Sequence[int]) -> jax.Array:
  """``flax.linen.max_pool(x, window_shape, strides, padding='SAME')`` for NHWC ``x``.

  The forward values are identical (a maximum is exact). The gradient goes to the
  maximum of each window; where several entries tie for it, it is shared among them
  (``jnp.maximum``'s rule) instead of going to the first one (``select_and_scatter``'s).

  Args:
    x: Inputs ``(batch, height, width, channels)``, a floating dtype.
    window_shape: (height, width) of the pooling window.
    strides: (height, width) strides.

  Returns:
    The pooled array.
  """
  for axis, (window, stride) in enumerate(zip(window_shape, strides, strict=True), start=1):
    x = _max_along(x, axis, window, stride)
  return x


class Conv(nn.Module):
  """2-D convolution, stride 1, 'SAME' padding, NHWC; gradients fast inside ``lax.scan``.

  Attributes:
    features: number of output channels.
    kernel_size: (height, width) of the kernel.
    kernel_init: initializer of the HWIO kernel (flax's default, LeCun normal).
    bias_init: initializer of the bias (flax's default, zeros).
  """

  features: int
  kernel_size: Sequence[int] = (5, 5)
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """The convolution of ``x`` (NHWC) with the layer's kernel, plus its bias."""
    shape = (*self.kernel_size, x.shape[-1], self.features)
    kernel = self.param('kernel', self.kernel_init, shape)
    bias = self.param('bias', self.bias_init, (self.features,))
    return conv_same(x, kernel.astype(x.dtype)) + bias.astype(x.dtype)
