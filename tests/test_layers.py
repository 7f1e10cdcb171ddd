"""The custom-gradient layers equal lax convolution and flax max pooling, with gradients."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from adam_jax import layers


# Input channels on both sides of IM2COL_MAX_CHANNELS: the kernel gradient is then one
# matrix product of patches, or a convolution of transposed operands.
@pytest.mark.parametrize('channels', [1, layers.IM2COL_MAX_CHANNELS, 8])
@pytest.mark.parametrize('kernel', [(5, 5), (3, 3), (4, 2), (1, 1)])
def test_conv_same_matches_lax_with_gradients(x64, kernel, channels):
  x = jax.random.normal(jax.random.PRNGKey(1), (3, 9, 7, channels), jnp.float64)
  w = jax.random.normal(jax.random.PRNGKey(2), (*kernel, channels, 6), jnp.float64)

  def reference(x, w):
    dims = ('NHWC', 'HWIO', 'NHWC')
    return lax.conv_general_dilated(x, w, (1, 1), 'SAME', dimension_numbers=dims)

  np.testing.assert_allclose(layers.conv_same(x, w), reference(x, w), rtol=1e-12)
  ours = jax.grad(lambda x, w: jnp.sum(jnp.sin(layers.conv_same(x, w))), (0, 1))(x, w)
  theirs = jax.grad(lambda x, w: jnp.sum(jnp.sin(reference(x, w))), (0, 1))(x, w)
  for a, b in zip(ours, theirs, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_conv_module_is_a_drop_in_for_flax_conv():
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 3))
  ours = layers.Conv(5, (5, 5))
  theirs = nn.Conv(5, (5, 5), padding='SAME')
  params = ours.init(jax.random.PRNGKey(3), x)
  theirs_params = theirs.init(jax.random.PRNGKey(3), x)
  assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, theirs_params)
  np.testing.assert_allclose(ours.apply(params, x), theirs.apply(params, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
  'shape, window, strides',
  [
    ((2, 28, 28, 3), (3, 3), (2, 2)),  # the CNNs' pools: reshaped into blocks
    ((2, 14, 14, 2), (3, 3), (2, 2)),
    ((2, 7, 9, 2), (3, 3), (2, 2)),  # odd sizes: strided slices
    ((2, 8, 7, 1), (2, 2), (1, 1)),  # blocks of one along both axes
    ((2, 8, 8, 1), (2, 2), (2, 2)),
    ((1, 10, 9, 2), (4, 3), (3, 1)),
  ],
)
def test_max_pool_same_matches_flax_with_gradients(x64, shape, window, strides):
  x = jax.random.normal(jax.random.PRNGKey(4), shape, jnp.float64)  # no ties

  def flax_pool(x):
    return nn.max_pool(x, window, strides, padding='SAME')

  def ours(x):
    return layers.max_pool_same(x, window, strides)

  np.testing.assert_array_equal(ours(x), flax_pool(x))
  grads = [jax.grad(lambda x, f=f: jnp.sum(jnp.sin(f(x))))(x) for f in (ours, flax_pool)]
  np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_max_pool_same_shares_the_gradient_of_tied_maxima():
  x = jnp.zeros((1, 4, 4, 1))  # every window ties
  grad = jax.grad(lambda x: jnp.sum(layers.max_pool_same(x, (3, 3), (2, 2))))(x)
  np.testing.assert_allclose(jnp.sum(grad), 4.0)  # 4 windows, each passes on 1 in all
  assert int(jnp.sum(grad > 0)) > 4  # split among tied entries (unequal shares), not
  # sent to one entry per window as select_and_scatter does
