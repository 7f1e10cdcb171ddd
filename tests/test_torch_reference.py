"""adam_jax against PyTorch's optimizers, step for step, from recorded trajectories.

``tests/fixtures/torch_trajectories.npz`` was made by ``scripts/make_torch_fixtures.py``
with torch (see the file's ``meta``); this module needs only jax, optax and numpy. Each case
feeds the recorded gradients (300 steps, 24 float64 coordinates with x100 spikes, sparse and
always-zero coordinates) to the matching adam_jax optimizer in float64 and compares the
whole parameter trajectory with torch's.

Tolerance: both sides evaluate the same float64 recurrence and differ only in the order of
operations (torch divides ``sqrt(v)`` by ``sqrt(1 - b2^t)``, we take ``sqrt(v / (1 - b2^t))``;
torch's AdamW shrinks θ by ``1 - lr*wd`` before the Adam step, we add ``lr*wd*θ`` to it;
``lerp`` against ``b*m + (1-b)*g``). That is a few ulps (~1e-16 relative) per step; the
errors add up over the 300 steps and Adam's normalisation does not amplify them: with
torch 2.13.0 the worst relative error of a coordinate is 3e-13 (AdamW) and the worst error
relative to the distance travelled 5e-14. ``rtol=1e-10`` leaves over two orders of margin,
while a convention difference (AMSGrad's variants below, a missing bias correction) shows
up at >1e-2. The ``atol`` of 1e-12 times the trajectory's scale only matters for a
coordinate passing close to 0, where a relative error is meaningless.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import adam_jax

FIXTURE = Path(__file__).parent / 'fixtures' / 'torch_trajectories.npz'
CASES = (
  'adam_default',
  'adam_custom',
  'adamax',
  'adamax_custom',
  'amsgrad',
  'amsgrad_custom',
  'adamw',
  'adamw_custom',
)
RTOL = 1e-10
ATOL_FACTOR = 1e-12


@pytest.fixture(scope='module', autouse=True)
def _enable_x64():
  """float64 for this module only (restored afterwards for the other test modules)."""
  with jax.enable_x64(True):
    yield


@pytest.fixture(scope='module')
def fixture_data() -> dict:
  with np.load(FIXTURE, allow_pickle=False) as data:
    arrays = {k: data[k] for k in data.files}
  arrays['cases'] = json.loads(str(arrays['cases']))
  arrays['meta'] = json.loads(str(arrays['meta']))
  return arrays


def build_optimizer(spec: dict, amsgrad_variant: str = 'torch') -> optax.GradientTransformation:
  """The adam_jax optimizer matching a recorded torch optimizer and its param group."""
  name, h = spec['optimizer'], spec['hparams']
  lr, (b1, b2), eps = h['lr'], h['betas'], h['eps']
  assert not h['maximize']
  if name == 'AdamW':
    assert not h['amsgrad']
    return adam_jax.adamw(lr, b1, b2, eps, weight_decay=h['weight_decay'])
  assert h['weight_decay'] == 0, 'coupled (L2) weight decay has no adam_jax counterpart here'
  if name == 'Adamax':
    return adam_jax.adamax(lr, b1, b2, eps=eps)
  assert name == 'Adam', name
  if h['amsgrad']:
    return adam_jax.amsgrad(lr, b1, b2, eps, variant=amsgrad_variant)
  return adam_jax.adam(lr, b1, b2, eps)


def run_adam_jax(
  opt: optax.GradientTransformation, grads: np.ndarray, init_params: np.ndarray
) -> np.ndarray:
  """Parameters after steps 1..T (gradients do not depend on them), as one lax.scan."""

  def step(carry, g):
    params, state = carry
    updates, state = opt.update(g, state, params)
    params = optax.apply_updates(params, updates)
    return (params, state), params

  params = jnp.asarray(init_params)
  assert params.dtype == jnp.float64
  _, trajectory = jax.lax.scan(step, (params, opt.init(params)), jnp.asarray(grads))
  return np.asarray(trajectory)


def difference_per_displacement(
  actual: np.ndarray, expected: np.ndarray, init_params: np.ndarray
) -> np.ndarray:
  """Per step: max_i |actual - expected| / max_i |expected - θ0|, the distance travelled.

  Unlike a per-coordinate relative error this cannot be inflated by a coordinate passing
  close to 0.
  """
  travelled = np.abs(expected - init_params).max(axis=-1)
  return np.abs(actual - expected).max(axis=-1) / np.maximum(travelled, 1e-300)


def assert_matches_torch(actual: np.ndarray, expected: np.ndarray) -> None:
  assert actual.shape == expected.shape
  assert np.all(np.isfinite(actual))
  np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL_FACTOR * np.abs(expected).max())


def test_fixture_metadata(fixture_data):
  meta = fixture_data['meta']
  assert meta['torch_version'].split('.')[0].isdigit(), meta['torch_version']
  assert meta['torch_version'].startswith('2.13.0')
  assert set(fixture_data['cases']) == set(CASES)
  num_steps, dim = meta['num_steps'], meta['dim']
  grads = fixture_data['grads']
  assert grads.shape == (num_steps, dim) and grads.dtype == np.float64
  assert fixture_data['init_params'].shape == (dim,)
  for name in CASES:
    assert fixture_data[f'traj_{name}'].shape == (num_steps, dim)
    assert fixture_data['cases'][name]['hparams']['foreach'] is False
  # The gradients exercise what they should: x100 spikes, sparse and always-zero coordinates.
  assert np.any(np.all(grads == 0, axis=0))
  assert np.any((np.mean(grads == 0, axis=0) > 0.5) & np.any(grads != 0, axis=0))
  typical = np.median(np.abs(grads[:, :16]), axis=0)
  assert np.any(np.abs(grads[:, :16]) > 30 * typical)


@pytest.mark.parametrize('case', CASES)
def test_matches_torch(fixture_data, case):
  expected = fixture_data[f'traj_{case}']
  opt = build_optimizer(fixture_data['cases'][case])
  actual = run_adam_jax(opt, fixture_data['grads'], fixture_data['init_params'])
  # The optimizer moved the parameters: the comparison is not trivially of θ0 with itself.
  assert np.abs(expected[-1] - fixture_data['init_params']).max() > 1e-3
  assert_matches_torch(actual, expected)


@pytest.mark.parametrize('variant', ['paper', 'optax'])
@pytest.mark.parametrize('case', ['amsgrad', 'amsgrad_custom'])
def test_other_amsgrad_conventions_differ_from_torch(fixture_data, case, variant):
  expected = fixture_data[f'traj_{case}']
  opt = build_optimizer(fixture_data['cases'][case], amsgrad_variant=variant)
  actual = run_adam_jax(opt, fixture_data['grads'], fixture_data['init_params'])
  # Differs by more than 1% of the distance travelled (in fact by 10% to 500%).
  assert difference_per_displacement(actual, expected, fixture_data['init_params']).max() > 1e-2
  with pytest.raises(AssertionError):
    assert_matches_torch(actual, expected)
