"""Generates PyTorch reference trajectories for ``tests/test_torch_reference.py``.

PyTorch is *not* a dependency of adam_jax nor of ``make test``: this script is run by hand,
in a separate virtualenv that has torch and numpy, and its output
(``tests/fixtures/torch_trajectories.npz``) is committed. To regenerate it::

  python3 -m venv /opt/torchref && /opt/torchref/bin/pip install torch numpy
  /path/to/venv-with-torch/bin/python scripts/make_torch_fixtures.py

(the committed file was made with torch 2.13.0 CPU; its version is stored in the file).

With a fixed NumPy seed it draws a sequence of ``NUM_STEPS`` float64 gradients for a
parameter vector of ``DIM`` coordinates (gradients do not depend on the parameters) and an
initial parameter vector, then runs each torch optimizer of ``CASES`` in float64 on the
plain single-tensor code path (``foreach=False``, ``fused=False``), setting ``p.grad`` and
calling ``opt.step()``, and records the parameters after every step.

Gradient layout (coordinates):

* 0-15: dense Gaussian with per-coordinate scale 10^U(-2, 1) and drift; 2% of all entries
  are heavy-tailed spikes (multiplied by 100).
* 16-19: sparse, non-zero on about 10% of the steps (spikes included).
* 20: zero for the first half of the run, then dense.
* 21: a single non-zero gradient, at step 37.
* 22-23: always zero.

Saved arrays: ``grads`` (NUM_STEPS, DIM), ``init_params`` (DIM,), ``traj_<case>``
(NUM_STEPS, DIM): the parameters after steps 1..NUM_STEPS, and the JSON strings ``cases``
(``{case: {'optimizer': torch class name, 'hparams': param group without params}}``) and
``meta`` (torch/numpy versions, seed, sizes).
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch

SEED = 20141222  # arXiv v1 of Kingma & Ba.
NUM_STEPS = 300
DIM = 24
SPIKE_PROB = 0.02
SPIKE_FACTOR = 100.0
DEFAULT_OUT = Path(__file__).resolve().parents[1] / 'tests' / 'fixtures' / 'torch_trajectories.npz'

# name -> (torch.optim class name, constructor kwargs besides the single-tensor switches).
CASES: dict[str, tuple[str, dict]] = {
  'adam_default': ('Adam', {'lr': 1e-3}),
  'adam_custom': ('Adam', {'lr': 3e-2, 'betas': (0.8, 0.99), 'eps': 1e-6}),
  'adamax': ('Adamax', {'lr': 2e-3, 'eps': 1e-8}),
  'adamax_custom': ('Adamax', {'lr': 1e-2, 'betas': (0.5, 0.9), 'eps': 1e-4}),
  'amsgrad': ('Adam', {'lr': 1e-2, 'amsgrad': True}),
  'amsgrad_custom': ('Adam', {'lr': 1e-2, 'betas': (0.9, 0.99), 'eps': 1e-6, 'amsgrad': True}),
  'adamw': ('AdamW', {'lr': 1e-2, 'weight_decay': 1e-2}),
  'adamw_custom': ('AdamW', {'lr': 3e-3, 'weight_decay': 0.1, 'betas': (0.85, 0.995)}),
}

# Force the plain float64 per-tensor loop (no foreach / fused kernels).
SINGLE_TENSOR = {'Adam': {'foreach': False, 'fused': False}, 'Adamax': {'foreach': False}}
SINGLE_TENSOR['AdamW'] = SINGLE_TENSOR['Adam']


def make_problem(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
  """The gradient sequence (NUM_STEPS, DIM) and initial parameters (DIM,), in float64."""
  rng = np.random.default_rng(seed)
  scales = 10.0 ** rng.uniform(-2.0, 1.0, size=DIM)
  drift = 0.3 * rng.standard_normal(DIM)
  grads = scales * (drift + rng.standard_normal((NUM_STEPS, DIM)))
  spikes = rng.random((NUM_STEPS, DIM)) < SPIKE_PROB
  grads[spikes] *= SPIKE_FACTOR
  grads[:, 16:20] *= rng.random((NUM_STEPS, 4)) < 0.1
  grads[: NUM_STEPS // 2, 20] = 0.0
  grads[:, 21] = 0.0
  grads[36, 21] = 2.5
  grads[:, 22:24] = 0.0
  init_params = rng.standard_normal(DIM)
  return grads.astype(np.float64), init_params.astype(np.float64)


def run_torch(
  cls_name: str, kwargs: dict, grads: np.ndarray, init_params: np.ndarray
) -> tuple[np.ndarray, dict]:
  """Runs ``torch.optim.<cls_name>`` on the gradients; returns the trajectory and hparams."""
  param = torch.nn.Parameter(torch.from_numpy(init_params.copy()))
  opt = getattr(torch.optim, cls_name)([param], **kwargs, **SINGLE_TENSOR[cls_name])
  trajectory = np.empty_like(grads)
  for t, g in enumerate(grads):
    param.grad = torch.from_numpy(g.copy())
    opt.step()
    trajectory[t] = param.detach().numpy()
  assert param.dtype == torch.float64
  hparams = {k: v for k, v in opt.param_groups[0].items() if k != 'params'}
  return trajectory, hparams


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--out', type=Path, default=DEFAULT_OUT)
  args = parser.parse_args()

  grads, init_params = make_problem()
  arrays = {'grads': grads, 'init_params': init_params}
  cases = {}
  for name, (cls_name, kwargs) in CASES.items():
    trajectory, hparams = run_torch(cls_name, kwargs, grads, init_params)
    assert np.all(np.isfinite(trajectory)), name
    arrays[f'traj_{name}'] = trajectory
    cases[name] = {'optimizer': cls_name, 'hparams': hparams}
  meta = {
    'torch_version': torch.__version__,
    'numpy_version': np.__version__,
    'python_version': platform.python_version(),
    'seed': SEED,
    'num_steps': NUM_STEPS,
    'dim': DIM,
    'generator': 'scripts/make_torch_fixtures.py',
  }
  arrays['cases'] = np.array(json.dumps(cases, sort_keys=True, default=str))
  arrays['meta'] = np.array(json.dumps(meta, sort_keys=True))
  args.out.parent.mkdir(parents=True, exist_ok=True)
  np.savez_compressed(args.out, **arrays)
  print(f'wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB), torch {torch.__version__}')


if __name__ == '__main__':
  main()
