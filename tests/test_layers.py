"""The custom-gradient convolution equals lax.conv_general_dilated, values and gradients."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from adam_jax import layers


@pytest.mark.parametrize('kernel', [(5, 5), (3, 3), (4, 2), (1, 1)])
def test_conv_same_matches_lax_with_gradients(x64, kernel):
  x = jax.random.normal(jax.random.PRNGKey(1), (3, 9, 7, 4), jnp.float64)
  w = jax.random.normal(jax.random.PRNGKey(2), (*kernel, 4, 6), jnp.float64)

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
