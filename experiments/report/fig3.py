"""Adam paper §6.3, Figure 3: the CNN on CIFAR-10 (not run here: no CIFAR-10 offline).

Reads no run; the convolutional result of the report is the Pérez CNN (:mod:`.perez`).
"""

from __future__ import annotations

from experiments.report.common import Report


def section(r: Report) -> None:
  """Why Figure 3 is not run, and how to run it."""
  r.lines += [
    '## Figure 3, §6.3: CNN on CIFAR-10 (not run here; see the Pérez CNN below)',
    '',
    'CIFAR-10 is not on this offline machine. The c64-c64-c128-1000 network with ZCA '
    'whitening and dropout is built and trained in the tests on `tfds.testing.mock_data`, '
    'and its speed is in `benchmarks/RESULTS.md`. On a '
    'connected machine (a GPU advised): '
    '`python -m experiments.run --config=configs/cnn_cifar.py`. Per-iteration curves for '
    'the paper\'s "first three epochs" panel are not recorded (metrics are per epoch). '
    'The convolutional result of this report is the Pérez CNN on Fashion-MNIST.',
    '',
  ]
