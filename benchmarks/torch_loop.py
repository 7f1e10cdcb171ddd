"""A plain PyTorch eager training loop (torch.optim.Adam), the baseline of bench_models.

Needs only torch and numpy; bench_models runs it in the interpreter named by
$TORCH_PYTHON (a virtualenv with `pip install torch==2.13.0 numpy`), so PyTorch never
becomes a dependency of adam_jax. Prints one JSON line: {"model": ..., "seconds": ...}.

  $TORCH_PYTHON benchmarks/torch_loop.py --model mlp --examples 55000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn


def make(model: str) -> tuple[nn.Module, tuple[int, ...]]:
  """The same architectures as adam_jax.models (PyTorch layout: NCHW)."""
  if model == 'lr':
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), (1, 28, 28)
  if model == 'mlp':
    layers = [nn.Flatten(), nn.Linear(784, 1000), nn.ReLU(), nn.Linear(1000, 1000), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(1000, 10)), (1, 28, 28)
  pool = dict(kernel_size=3, stride=2, padding=1)
  if model == 'cnn':
    convs = []
    for c_in, c_out in ((3, 64), (64, 64), (64, 128)):
      convs += [nn.Conv2d(c_in, c_out, 5, padding=2), nn.ReLU(), nn.MaxPool2d(**pool)]
    head = [nn.Flatten(), nn.Linear(4 * 4 * 128, 1000), nn.ReLU(), nn.Linear(1000, 10)]
    return nn.Sequential(*convs, *head), (3, 32, 32)
  if model == 'perez_cnn':
    convs = []
    for c_in, c_out in ((1, 32), (32, 64)):
      convs += [nn.Conv2d(c_in, c_out, 5, padding=2), nn.ReLU(), nn.MaxPool2d(**pool)]
    head = [nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Linear(1024, 10)]
    return nn.Sequential(*convs, *head), (1, 28, 28)
  raise ValueError(model)


class VAE(nn.Module):
  def __init__(self):
    super().__init__()
    self.enc = nn.Linear(784, 500)
    self.mean, self.logvar = nn.Linear(500, 50), nn.Linear(500, 50)
    self.dec = nn.Sequential(nn.Linear(50, 500), nn.Softplus(), nn.Linear(500, 784))

  def forward(self, x):
    x = x.flatten(1)
    h = nn.functional.softplus(self.enc(x))
    mean, logvar = self.mean(h), self.logvar(h)
    z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
    logits = self.dec(z)
    nll = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction='none').sum(1)
    kl = -0.5 * (1 + logvar - mean**2 - logvar.exp()).sum(1)
    return (nll + kl).mean()


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument('--model', required=True)
  parser.add_argument('--examples', type=int, default=55000)
  parser.add_argument('--batch_size', type=int, default=128)
  parser.add_argument('--threads', type=int, default=0)
  args = parser.parse_args()
  if args.threads:
    torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  if args.model == 'vae':
    model, shape = VAE(), (1, 28, 28)
  else:
    model, shape = make(args.model)
  rng = np.random.default_rng(0)
  x = torch.from_numpy(rng.random((args.examples, *shape), dtype=np.float32))
  if args.model == 'vae':
    x = (x > 0.5).float()
  y = torch.from_numpy(rng.integers(0, 10, args.examples))
  opt = torch.optim.Adam(model.parameters(), lr=1e-3)
  loss_fn = nn.CrossEntropyLoss()

  def epoch(num_batches: int) -> None:
    perm = torch.randperm(args.examples)
    for i in range(num_batches):
      idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
      opt.zero_grad(set_to_none=True)
      loss = model(x[idx]) if args.model == 'vae' else loss_fn(model(x[idx]), y[idx])
      loss.backward()
      opt.step()

  epoch(5)  # warm up allocator and kernels
  start = time.perf_counter()
  epoch(args.examples // args.batch_size)
  seconds = time.perf_counter() - start
  print(
    json.dumps(
      {
        'model': args.model,
        'seconds': seconds,
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
      }
    )
  )


if __name__ == '__main__':
  main()
