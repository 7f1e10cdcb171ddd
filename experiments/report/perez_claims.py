"""Pérez's conclusions about AdaMax against Adam (his §5), each a test of the report's family.

Pérez concludes from his Figures 11–13 that "*Adam* generally performs better than
*AdaMax*", and that "the CNN performed better than the NN when optimized using *Adam*, but
the converse relationship was observed when optimized using *AdaMax*". Tested here on the
cells of :func:`.perez.chosen_table`: Adam above AdaMax in each cell (Welch's t test on the
test accuracy of the seeds), and with each optimizer the CNN against the MLP at the same
dropout. His own Table 1 is printed beside each, since it does not always agree with them.
"""

from __future__ import annotations

from experiments import significance
from experiments.report.common import Report, seed_values
from experiments.report.perez_goals import Chosen, Table
from experiments.report.references import CELLS, PEREZ_MNIST, cell_name, data_of
from experiments.report.verdicts import tested_finding, verdict

EXPERIMENT = "Pérez's conclusions"
ADAM_BETTER = '"Adam generally performs better than AdaMax"'
CONVERSE = (
  '"the CNN performed better than the NN when optimized using Adam, but the converse '
  'relationship was observed when optimized using AdaMax"'
)


def accuracies(c: Chosen) -> list[float]:
  """The test accuracy of each seed of a chosen configuration, in percent."""
  return [100 * v for v in seed_values(c.run, c.choice, 'test', 'accuracy')]


def claims(r: Report, found: Table) -> None:
  """Adam against AdaMax in each cell, then the CNN against the MLP with each optimizer."""
  data = data_of(*(c.run for row in found.values() for c in row.values()))
  lines, counts = [], {'holds': 0, 'does not hold': 0, 'not resolved': 0}
  for cell in CELLS:
    row = found.get(cell, {})
    if not {'adam', 'adamax'} <= set(row):
      continue
    test = tested_finding(
      r,
      EXPERIMENT,
      f"{cell_name(cell)}: Adam's test accuracy above AdaMax's",
      significance.compare(accuracies(row['adam']), accuracies(row['adamax']), 'greater'),
    )
    counts[test.verdict] += 1
    his = PEREZ_MNIST[cell]['adam'] - PEREZ_MNIST[cell]['adamax']
    lines.append(
      f'{cell_name(cell)}: Adam − AdaMax {test.difference:+.2f} points (Pérez {his:+.2f}); '
      f'Adam above: {verdict(test)}.'
    )
  if lines:
    his_own = [cell_name(c) for c in CELLS if PEREZ_MNIST[c]['adamax'] > PEREZ_MNIST[c]['adam']]
    r.lines += [
      f'**Pérez: {ADAM_BETTER}** (his §5, from his Figures 11–13; his Table 1 has AdaMax '
      f'above Adam for the {" and the ".join(his_own)}). Tested cell by cell on '
      f'{data} (Welch, two-sided, test accuracy of the seeds): Adam above AdaMax in '
      f'{counts["holds"]} cell{"s" * (counts["holds"] != 1)}, AdaMax above Adam in '
      f'{counts["does not hold"]}, not resolved in {counts["not resolved"]}. ' + ' '.join(lines),
      '',
    ]
  converse = []
  for with_dropout in (True, False):
    mlp, cnn = found.get(('mlp', with_dropout), {}), found.get(('perez_cnn', with_dropout), {})
    words = 'with' if with_dropout else 'without'
    for opt, label, above, below in (
      ('adam', 'Adam', cnn, mlp),
      ('adamax', 'AdaMax', mlp, cnn),
    ):
      if opt not in mlp or opt not in cnn:
        continue
      first, second = ('CNN', 'MLP') if above is cnn else ('MLP', 'CNN')
      test = tested_finding(
        r,
        EXPERIMENT,
        f"with {label}, {words} dropout: the {first}'s test accuracy above the {second}'s",
        significance.compare(accuracies(above[opt]), accuracies(below[opt]), 'greater'),
      )
      his = {m: PEREZ_MNIST[(m, with_dropout)][opt] for m in ('perez_cnn', 'mlp')}
      converse.append(
        f'with {label}, {words} dropout, the {first} above the {second} '
        f'({test.difference:+.2f} points; Pérez: CNN {his["perez_cnn"]:.2f}%, MLP '
        f'{his["mlp"]:.2f}%): {verdict(test)}'
      )
  if converse:
    cnn, mlp = (
      [f'{PEREZ_MNIST[(m, d)]["adamax"]:.2f}%' for d in (True, False)] for m in ('perez_cnn', 'mlp')
    )
    r.lines += [
      f'**Pérez: {CONVERSE}.** His own Table 1 has the CNN above the MLP with AdaMax too '
      f'({" and ".join(cnn)} with and without dropout, against {" and ".join(mlp)}), so '
      'its second half is at odds with his numbers. '
      f'Tested at each dropout setting on {data} (Welch, two-sided): ' + '; '.join(converse) + '.',
      '',
    ]
