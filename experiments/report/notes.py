"""The sections that read no run.

Figure 1 (right) on IMDB (§6.1), temporal averaging (§7.2), and how to run the papers'
own datasets on a connected machine.
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
  """The papers' datasets (MNIST, CIFAR-10, IMDB) on a machine that can download them."""
  r.lines += [
    '## On a connected machine: MNIST, CIFAR-10, IMDB',
    '',
    "The same commands run the papers' datasets unchanged: drop "
    '`--config.dataset.name=fashion_mnist` (and `--config.dataset.binarize=True` for the '
    'VAE, whose config names `binarized_mnist`) and tfds downloads MNIST, binarised MNIST, '
    'CIFAR-10 or IMDB on first use, e.g. `python -m experiments.run '
    '--config=configs/mlp_mnist.py:dropout`, `python -m experiments.run '
    '--config=configs/cnn_cifar.py`, `python -m experiments.run --config=configs/lr_imdb.py`. '
    'Offline, such a run fails within seconds naming the dataset and `tfds build`.',
    '',
  ]
