"""The numbers the report holds runs against, chosen by the data a run trained on.

Pérez's Table 1 (``../shared/REFERENCE.md``), the Fashion-MNIST references of the sections
that stay on it, the accuracy goals of each, and the data a run trained on, in words, read
from its config (``dataset.name``, ``dataset.binarize``).
"""

from __future__ import annotations

from typing import Any

from experiments.results import Run

# Reference numbers (REFERENCE.md): Pérez's MNIST test accuracy, 20 epochs, α/√t, by cell
# of his Table 1: (model, dropout), dropout None for logistic regression (no such column).
PEREZ_MNIST = {
  ('logistic_regression', None): {'adam': 92.69, 'adamax': 92.38},
  ('mlp', True): {'adam': 98.43, 'adamax': 98.14},
  ('mlp', False): {'adam': 98.17, 'adamax': 98.33},
  ('perez_cnn', True): {'adam': 99.21, 'adamax': 99.09},
  ('perez_cnn', False): {'adam': 99.21, 'adamax': 99.09},
}
CELLS = tuple(PEREZ_MNIST)
# Fashion-MNIST test accuracy references (the sections that stay on it, and runs made with
# the `fmnist` argument).
FMNIST_REFERENCE = {
  'logistic_regression': 'about 84% (Fashion-MNIST benchmark)',
  'mlp': '89–90% (DeepOBS fmnist_mlp with Adam ≈ 89%)',
  'perez_cnn': (
    '91.5–93% (DeepOBS fmnist_2c2d with Adam: 90.8% and 91.4% at epoch 20, '
    '92.2% and 92.3% at 100, seeds 45 and 47)'
  ),
}
# The accuracy goals (test accuracy of Adam under α/√t, 20 epochs, mean over the seeds),
# chosen by the data the run trained on. On MNIST, issue 23's: every Adam cell of Pérez's
# table at most 0.2 points below his number. On Fashion-MNIST, the earlier stand-in goals.
GOALS = {
  'mnist': {
    ('logistic_regression', None): 92.5,
    ('mlp', True): 98.2,
    ('mlp', False): 98.0,
    ('perez_cnn', True): 99.0,
    ('perez_cnn', False): 99.0,
  },
  'fashion_mnist': {
    cell: {'logistic_regression': 84.0, 'mlp': 89.0, 'perez_cnn': 91.5}[cell[0]] for cell in CELLS
  },
}
# Each goal is judged on one protocol fixed in advance: Adam under Pérez's (α/√t, α chosen
# on the validation accuracy). Adam at a constant α is shown beside it, never judged: a goal
# met by the better of two protocols would be a choice made on the test set.
GOAL_PROTOCOL = "Pérez's protocol (α/√t)"
NOT_JUDGED = f'not judged (the goal is judged on {GOAL_PROTOCOL} alone)'
GOAL_WORDS = {'holds': 'met', 'does not hold': 'missed'}
MODEL_NAMES = {'logistic_regression': 'logistic regression', 'mlp': 'MLP', 'perez_cnn': 'CNN'}
DATA_NAMES = {
  'mnist': 'MNIST',
  'fashion_mnist': 'Fashion-MNIST',
  'binarized_mnist': 'binarised MNIST',
  'cifar10': 'CIFAR-10',
  'imdb_reviews': 'IMDB reviews',
}


def data_key(run: Run) -> str:
  """The dataset the run trained on, as its config names it ('mnist', 'fashion_mnist')."""
  return str(run.config.get('dataset', {}).get('name', ''))


def data(run: Run) -> str:
  """The data the run trained on, in words, read from its config.

  'MNIST', 'MNIST binarised at 0.5' (``dataset.binarize``), 'Fashion-MNIST'; a smoke
  run's random arrays say so.
  """
  dataset = run.config.get('dataset', {})
  words = DATA_NAMES.get(data_key(run), data_key(run) or 'unnamed data')
  if dataset.get('binarize'):
    words += ' binarised at 0.5'
  if dataset.get('synthetic'):
    words = f'random arrays in the shapes of {words} (a smoke run)'
  return words


def data_of(*runs: Run | None) -> str:
  """The data of the runs that exist: 'MNIST', 'MNIST and Fashion-MNIST', '' for none."""
  return ' and '.join(dict.fromkeys(data(run) for run in runs if run is not None))


def here_on(*runs: Run | None) -> str:
  """' Here on **MNIST**.': the data of the runs, for a section's opening ('' before any ran)."""
  words = data_of(*runs)
  return f' Here on **{words}**.' if words else ''


def cell_name(cell: tuple[str, bool | None]) -> str:
  """'logistic regression', 'MLP with dropout', 'CNN without dropout': a cell of Pérez's table."""
  model, with_dropout = cell
  if with_dropout is None:
    return MODEL_NAMES[model]
  return f'{MODEL_NAMES[model]} {"with" if with_dropout else "without"} dropout'


def reference(key: str, cell: tuple[str, bool | None]) -> str:
  """What an Adam goal is held against on dataset ``key``: Pérez's number on MNIST."""
  if key == 'mnist':
    return f'Pérez: {PEREZ_MNIST[cell]["adam"]:.2f}%'
  return FMNIST_REFERENCE.get(cell[0], '–') if key == 'fashion_mnist' else '–'


def unjudged_goal(r: Any, run: Run, cell: tuple[str, bool | None], label: str, ours: str) -> None:
  """A goals-table row for a run of another protocol than the goal's: shown, not judged.

  Args:
    r: The report (its ``goal`` method takes the row).
    run: The run the row reads.
    cell: ``(model, dropout)``: which goal and reference the row sits beside.
    label: The row's first column.
    ours: Our result, as the row shows it.
  """
  target = GOALS.get(data_key(run), {}).get(cell)
  row = [label, f'≥ {target}%' if target else '–', ours, reference(data_key(run), cell)]
  r.goal([*row, NOT_JUDGED], None, data(run))
