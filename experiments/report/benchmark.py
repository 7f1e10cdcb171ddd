"""The benchmark's report: an optimizer against the committed baselines, problem by problem.

Everything is computed from records (:mod:`experiments.baselines`): the optimizer's, read
from its runs, and the baselines', read from their files. Per problem: the final test
metric as mean and 95% interval with a verdict against each baseline (Welch's t test,
:func:`experiments.significance.compare`, Holm-adjusted over every verdict of the report,
as the reproduction report does), and the steps and training time the optimizer needs
to reach each baseline's final validation loss. Across problems: AlgoPerf's performance
profile of the steps (and time) to each problem's target (:mod:`experiments.targets`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np

from experiments import baselines, significance, stats, targets
from experiments.console import duration
from experiments.report.common import table

VERDICTS = {'holds': 'better', 'does not hold': 'worse', 'not resolved': 'not resolved'}
TAUS = np.linspace(1.0, 4.0, 61)  # AlgoPerf's τ_max = 4


@dataclasses.dataclass
class Problem:
  """One problem of the report.

  Attributes:
    name: The problem's name (its workdir under the benchmark's directory).
    command: The ``experiments.run`` command that trains it.
    ours: The optimizer's record, or None (not run, or it failed: ``status`` says).
    baselines: ``{optimizer: record}``, the optimizer's own left out.
    status: 'ok', or what went wrong.
  """

  name: str
  command: str | None
  ours: dict[str, Any] | None
  baselines: dict[str, dict[str, Any]]
  status: str = 'ok'

  @property
  def target(self) -> float | None:
    """The profile's target: the lowest final mean validation loss of the baselines.

    (Of every record, the optimizer's too, when the problem has no baseline.)
    """
    finals = [final_loss(r) for r in (list(self.baselines.values()) or [self.ours]) if r]
    finals = [f for f in finals if f is not None]
    return min(finals) if finals else None


def _curve(rec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
  return targets.mean_curve(baselines.curves(rec))


def final_loss(rec: dict[str, Any]) -> float | None:
  """The last value of ``rec``'s mean validation loss over seeds (None: no value)."""
  steps, mean = _curve(rec)
  return float(mean[-1]) if len(mean) else None


def reach(rec: dict[str, Any], target: float | None) -> tuple[int | None, float | None]:
  """(steps, seconds of training) for ``rec``'s mean validation loss to reach ``target``."""
  if target is None:
    return None, None
  steps = targets.steps_to_target(*_curve(rec), target)
  per_epoch = baselines.epoch_time_s(rec)
  if steps is None or per_epoch is None:
    return steps, None
  return steps, steps / rec['steps_per_epoch'] * per_epoch


def _scale(rec: dict[str, Any]) -> float:
  return 100.0 if rec['metric'] == 'accuracy' else 1.0


def spread(rec: dict[str, Any]) -> str:
  """'84.31 [84.02, 84.60] (2 seeds)': the test metric's mean and 95% interval."""
  d = stats.describe(baselines.values(rec))
  k = _scale(rec)
  n = len(baselines.values(rec))
  diverged = sum(s['diverged_step'] is not None for s in rec['seeds'])
  tail = f' ({n} seed{"s" * (n != 1)}' + (f', {diverged} diverged)' if diverged else ')')
  if d['mean'] is None:
    return 'diverged' + tail
  if d['ci95'] is None:
    return f'{k * d["mean"]:.4g}' + tail
  low, high = d['ci95']
  return f'{k * d["mean"]:.4g} [{k * low:.4g}, {k * high:.4g}]' + tail


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> significance.Comparison:
  """Welch's test of "the optimizer's final test metric is better than the baseline's"."""
  claim = 'greater' if ours['metric'] == 'accuracy' else 'less'
  return significance.compare(baselines.values(ours), baselines.values(theirs), claim)


def verdicts(problems: list[Problem]) -> dict[tuple[str, str], significance.Comparison]:
  """Every comparison of the report, ``{(problem, baseline): comparison}``, Holm-adjusted.

  The tests made are one family (:func:`experiments.significance.holm`): a verdict is
  read from its adjusted p, so that the chance of any false verdict stays at 5%.
  """
  found = {
    (p.name, name): compare(p.ours, base)
    for p in problems
    if p.ours
    for name, base in p.baselines.items()
  }
  tested = [k for k, c in found.items() if c.tested]
  adjusted = significance.holm([found[k].p_value for k in tested])
  for number, (key, p_adjusted) in enumerate(zip(tested, adjusted, strict=True), 1):
    found[key] = found[key].adjusted(p_adjusted, number)
  return found


def word(c: significance.Comparison) -> str:
  """'better', 'worse' or 'not resolved', with the raw and the adjusted p."""
  if not c.tested:
    return VERDICTS[c.verdict] + (' (no spread)' if 'no spread' in c.test else '')
  return f'{VERDICTS[c.verdict]} (p = {c.p_value:.2g}, Holm {c.p_adjusted:.2g})'


def _time(seconds: float | None) -> str:
  if seconds is None:
    return '–'
  return duration(seconds) if seconds >= 10 else f'{seconds:.2g}s'


def steps_text(steps: int | None) -> str:
  """'1,290', or 'not reached'."""
  return 'not reached' if steps is None else f'{steps:,}'


def section(p: Problem, optimizer: str, judged: dict[tuple[str, str], Any]) -> list[str]:
  """The report's section of one problem."""
  lines = [f'## {p.name}', '']
  if p.command:
    lines += [f'`{p.command}`', '']
  if p.ours is None:
    return [*lines, f'**No result:** {p.status}.', '']
  rec = p.ours
  chosen = ', '.join(f'{k.split(".")[-1]} = {v:.4g}' for k, v in rec['chosen'].items())
  tuning = rec['tuning']
  lines.append(
    f'Training took {_time(rec["train_wall_time_s"])}. The search tried {tuning["points"]} '
    f'points ({tuning["diverged"]} diverged) and chose {chosen}.'
  )
  for alpha, end in rec['edges']:
    lines.append(
      f'The chosen α = {alpha:.4g} is the {end} the search tried: a better one may lie '
      'beyond its range.'
    )
  what = f'test {rec["metric"]}' + (' (%)' if rec['metric'] == 'accuracy' else '')
  header = [
    'optimizer',
    f'{what}: mean [95% interval]',
    f'{optimizer} is',
    'final validation loss',
    f'steps to it: {optimizer} / its own',
    f'training time to it: {optimizer} / its own',
  ]
  rows = [[f'**{optimizer}**', spread(rec), '', final_loss(rec) or math.nan, '', '']]
  notes = []
  for name, base in p.baselines.items():
    target = final_loss(base)
    ours_steps, ours_time = reach(rec, target)
    theirs_steps, theirs_time = reach(base, target)
    rows.append(
      [
        name,
        spread(base),
        word(judged[p.name, name]),
        target if target is not None else math.nan,
        f'{steps_text(ours_steps)} / {steps_text(theirs_steps)}',
        f'{_time(ours_time)} / {_time(theirs_time)}',
      ]
    )
    if differs := baselines.differences(rec, base):
      notes.append(f'{name} was made under another protocol (differs in {", ".join(differs)})')
    here, there = baselines.trained_on(rec), baselines.trained_on(base)
    if here and there and here != there:
      notes.append(f'{name} was trained on {there}, {optimizer} on {here}: times do not compare')
  lines += ['', *table(header, rows)]
  if not p.baselines:
    lines += ['*(no baselines of this problem and budget yet)*', '']
  lines += [f'**Not like for like:** {n}.' for n in notes] + ([''] if notes else [])
  return lines


def summary_rows(problems: list[Problem], names: list[str], judged) -> list[list[Any]]:
  """One row per problem: the optimizer's test metric and its verdict against each baseline."""
  rows = []
  for p in problems:
    if p.ours is None:
      rows.append([p.name, p.status, *('–' for _ in names)])
      continue
    cells = [VERDICTS[judged[p.name, n].verdict] if n in p.baselines else '–' for n in names]
    rows.append([p.name, spread(p.ours), *cells])
  return rows


def profiles(problems: list[Problem], optimizer: str) -> dict[str, dict[str, dict[str, Any]]]:
  """``{'steps' or 'seconds': {solver: {problem: time to the problem's target}}}``."""
  out: dict[str, dict[str, dict[str, Any]]] = {'steps': {}, 'seconds': {}}
  for p in problems:
    records = {**p.baselines, **({optimizer: p.ours} if p.ours else {})}
    for solver, rec in records.items():
      steps, seconds = reach(rec, p.target)
      out['steps'].setdefault(solver, {})[p.name] = steps
      out['seconds'].setdefault(solver, {})[p.name] = seconds
  return out


def profile_figure(times: dict[str, dict[str, dict[str, Any]]], optimizer: str, path: str) -> str:
  """AlgoPerf's performance profiles, of steps and of training time, side by side."""
  from experiments.plots import plt  # noqa: PLC0415 (matplotlib)

  fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
  for ax, (kind, by_solver) in zip(axes, times.items(), strict=True):
    for solver, rho in targets.performance_profile(by_solver, TAUS).items():
      ax.step(TAUS, rho, where='post', lw=2.4 if solver == optimizer else 1.3, label=solver)
    ax.set(
      xlabel='τ (ratio to the fastest)',
      ylabel='fraction of problems',
      title=f'{kind} to reach the target',
      ylim=(-0.03, 1.03),
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc='lower right')
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def curves_figure(problems: list[Problem], optimizer: str, path: str) -> str:
  """Mean validation loss per epoch of the optimizer and each baseline, one panel a problem."""
  from experiments import plots  # noqa: PLC0415 (matplotlib)

  panels = []
  for p in problems:
    records = {optimizer: p.ours, **p.baselines} if p.ours else dict(p.baselines)
    lines = {}
    for name, rec in records.items():
      steps, mean = _curve(rec)
      lines[name] = (steps / rec['steps_per_epoch'], mean, None)
    if lines:
      panels.append((p.name, 'validation loss (mean over seeds)', lines))
  return plots.plot_panels(panels, path) if panels else ''


def write(out: str, problems: list[Problem], optimizer: str, head: list[str]) -> str:
  """Writes ``out/REPORT.md`` and ``out/figures/``; returns the report's path."""
  figures = os.path.join(out, 'figures')
  os.makedirs(figures, exist_ok=True)
  names = sorted({n for p in problems for n in p.baselines})
  lines = [*head, '## Summary', '']
  header = ['problem', f'{optimizer}: test metric', *(f'vs {n}' for n in names)]
  judged = verdicts(problems)
  lines += table(header, summary_rows(problems, names, judged))
  for p in problems:
    lines += section(p, optimizer, judged)
  if curves_figure(problems, optimizer, os.path.join(figures, 'validation_loss.png')):
    lines += ['![validation loss per epoch](figures/validation_loss.png)', '']
  times = profiles(problems, optimizer)
  lines += [
    '## Performance profile',
    '',
    "Each problem's target is the lowest final validation loss (mean over seeds) among its "
    'baselines. ρ(τ) is the fraction of problems on which an optimizer reaches the target '
    'within τ times the steps (or training time) of the fastest; a target not reached counts '
    'as never. The score is the area under ρ over τ ∈ [1, 4] over its width (AlgoPerf): 1 is '
    'fastest on every problem. Training times compare only between records of one machine.',
    '',
  ]
  rows = []
  for solver in times['steps']:
    score = {
      kind: targets.profile_score(targets.performance_profile(t, TAUS)[solver], TAUS)
      for kind, t in times.items()
    }
    reached = sum(v is not None for v in times['steps'][solver].values())
    rows.append([solver, score['steps'], score['seconds'], f'{reached} of {len(problems)}'])
  lines += table(['optimizer', 'score (steps)', 'score (time)', 'targets reached'], rows)
  profile_figure(times, optimizer, os.path.join(figures, 'performance_profile.png'))
  lines += ['![performance profiles](figures/performance_profile.png)', '']
  path = os.path.join(out, 'REPORT.md')
  with open(path, 'w') as f:
    f.write('\n'.join(lines).rstrip() + '\n')
  return path
