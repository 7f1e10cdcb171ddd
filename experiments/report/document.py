"""The :class:`Report` the sections write into, and the :class:`Finding` they list.

Runs are read only through :class:`experiments.results.Run`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
from collections.abc import Sequence
from typing import Any

from experiments import significance
from experiments.console import duration
from experiments.results import Run
from experiments.rundir import read
from experiments.significance import Comparison


@dataclasses.dataclass(frozen=True)
class Finding:
  """A claim of a paper and what became of it here.

  Attributes:
    experiment: Where the claim is from ('Figure 1, logistic regression').
    claim: What was tested or observed, in words that say which test (a non-inferiority
      claim says 'no more than … worse').
    outcome: 'holds', 'does not hold', 'not resolved', or, for what involves no test,
      'observation' and 'check'.
    evidence: The verdict with what it rests on (the test, its raw and Holm-adjusted p).
    tests: The tests it rests on (several for a claim made of parts).
    note: What the summary says of a finding without a test ('as the paper says').
  """

  experiment: str
  claim: str
  outcome: str
  evidence: str
  tests: tuple[Comparison, ...] = ()
  note: str = ''


class Report:
  """Collects the sections' lines, goal rows, findings and tests; copies each run's figures.

  The sections run twice (:func:`experiments.report.write`): the first pass gathers every
  test's raw p, the second gets each test back with its Holm-adjusted verdict
  (:meth:`test`), so that every verdict printed is the family's.

  Attributes:
    runs: The runs root (one workdir per experiment, named as in ``commands``).
    out: Where REPORT.md and ``figures/`` go.
    commands: Experiment name -> its command line (None when it cannot be built yet).
    quick: Whether these are the runs of the quick variant.
    lines: The report's body, in order.
    goals: Rows of the accuracy-goals table: [goal, target, ours, reference, verdict].
    judged: The goals judged by a test (:meth:`goal`): (goal, ours, outcome).
    goal_data: The data the goals' runs trained on ('MNIST'), in order, as dict keys.
    findings: The papers' claims and their verdicts (:class:`Finding`).
    tests: Every test, in order: (experiment, what it tests, its comparison).
  """

  def __init__(
    self,
    runs: str,
    out: str,
    commands: dict[str, str | None],
    quick: bool = False,
    raw_p: list[float] | None = None,
    loaded: dict[str, Run | None] | None = None,
  ):
    """A report; with ``raw_p`` (the first pass's :meth:`raw_p`), the final pass that draws."""
    self.runs, self.out, self.commands, self.quick = runs, out, commands, quick
    self.figures = os.path.join(out, 'figures')
    self.draw = raw_p is not None
    if self.draw:
      shutil.rmtree(self.figures, ignore_errors=True)  # the report's own: no stale figures
      os.makedirs(self.figures)
    self.expected = raw_p
    tested = [p for p in raw_p or [] if math.isfinite(p)]
    self.adjusted = iter(significance.holm(tested))
    self.loaded: dict[str, Run | None] = {} if loaded is None else loaded
    self.lines: list[str] = []
    self.goals: list[list[Any]] = []
    self.findings: list[Finding] = []
    self.judged: list[tuple[str, str, str]] = []  # (goal, ours, outcome) of each judged goal
    self.goal_data: dict[str, None] = {}
    self.tests: list[tuple[str, str, Comparison]] = []

  def test(self, experiment: str, claim: str, comparison: Comparison) -> Comparison:
    """Enters a test into the report's family; returns it with its family verdict.

    In the first pass the comparison comes back as it is (its raw verdict); in the final
    pass with its Holm-adjusted p, the verdict that p gives, and its number in the list.
    """
    if self.expected is not None:
      k = len(self.tests)
      before = self.expected[k] if k < len(self.expected) else None
      p = comparison.p_value
      if before is None or not (before == p or (math.isnan(before) and math.isnan(p))):
        raise RuntimeError(f'test {k + 1} ({experiment}: {claim}) differs between the passes')
      if comparison.tested:
        number = sum(c.tested for _, _, c in self.tests) + 1
        comparison = comparison.adjusted(next(self.adjusted), number)
    self.tests.append((experiment, claim, comparison))
    return comparison

  def raw_p(self) -> list[float]:
    """Each test's raw p (NaN where none could be made), for the final pass."""
    return [c.p_value for _, _, c in self.tests]

  def finding(
    self,
    experiment: str,
    claim: str,
    outcome: str,
    evidence: str = '',
    tests: Sequence[Comparison] = (),
    note: str = '',
  ) -> None:
    """Lists a finding of the paper and what became of it (see :class:`Finding`)."""
    self.findings.append(Finding(experiment, claim, outcome, evidence, tuple(tests), note))

  def goal(self, row: list[Any], outcome: str | None, data: str) -> None:
    """A row of the goals table, of a run on ``data``.

    ``outcome`` is 'met', 'missed' or 'not resolved' for a judged goal, None for a row shown
    beside the judged ones.
    """
    self.goals.append(row)
    self.goal_data[data] = None
    if outcome is not None:
      self.judged.append((row[0], row[2], outcome))

  def run(self, name: str) -> Run | None:
    """The finished run of experiment ``name``, or None (read once)."""
    if name not in self.loaded:
      self.loaded[name] = Run.load(os.path.join(self.runs, name))
    return self.loaded[name]

  def figure(self, run: Run, file: str, caption: str) -> None:
    """Copies a figure the run drew into its workdir, and shows it."""
    if not self.draw:
      return
    source = os.path.join(run.workdir, file)
    if not os.path.exists(source):
      self.lines += [f'*(figure {file} missing from {run.workdir})*', '']
      return
    target = f'{run.name}_{file}'
    shutil.copyfile(source, os.path.join(self.figures, target))
    self.lines += [f'![{caption}](figures/{target})', '']

  def curves(self, file: str, panels, caption: str) -> None:
    """Draws ``panels`` (see :func:`experiments.plots.plot_panels`) into the report."""
    if not self.draw:
      return
    from experiments import plots  # noqa: PLC0415 (matplotlib)

    plots.plot_panels(panels, os.path.join(self.figures, file))
    self.lines += [f'![{caption}](figures/{file})', '']

  def provenance(self, *names: str) -> None:
    """Each experiment's command line and the wall time its training took."""
    for name in names:
      run = self.run(name)
      cmd = self.commands.get(name)
      time = duration(run.train_wall_time_s) if run else self.progress(name)
      self.lines += [f'`{cmd}`  ', f'wall time: {time}', ''] if cmd else []

  def progress(self, name: str) -> str:
    """How far an unfinished run of ``name`` got: where it stopped, or 'not run'."""
    workdir = os.path.join(self.runs, name)
    config = read(os.path.join(workdir, 'config.json'), None)
    records = [r for r in read(os.path.join(workdir, 'metrics.jsonl'), []) if 'epoch' in r]
    if config is None or not records:
      return 'not run'
    last = records[-1]  # records are appended in training order: where it stopped
    program = f' in program {last["program"] + 1}' if any(r.get('program') for r in records) else ''
    return (
      f'not finished (stopped after epoch {last["epoch"]} of {config["num_epochs"]}{program}; '
      f'`python -m experiments.reproduce --only={name}` resumes it)'
    )

  def missing(self, name: str) -> bool:
    """Whether experiment ``name`` has not run; if so, says how to run it."""
    if self.run(name) is not None:
      return False
    self.lines += [
      f'**Not run yet.** `python -m experiments.reproduce --only={name}` runs it'
      + (f' (`{self.commands[name]}`).' if self.commands.get(name) else '.'),
      '',
    ]
    return True
