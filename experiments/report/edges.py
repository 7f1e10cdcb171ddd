"""The report's list of tuning choices at an end of their α grid, and of the grids that grew.

A run made since grids grow (:mod:`experiments.extend`) records in its ``summary.json``
each α added beyond an end (``grid_extensions``) and every choice still at an end with the
reason (``grid_edges``, filled whether ``extend_grid`` was on or not): the report lists
those as they are. A run made before (a summary without these keys) has its edges computed
from its α grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from experiments import sweep as sweep_lib
from experiments.report.common import Report, learning_rate
from experiments.results import Run


def _values(alphas: Sequence[float]) -> str:
  return '{' + ', '.join(f'{a:g}' for a in alphas) + '}'


def _label(run: Run, structural: dict[str, Any], group: dict[str, Any] | None = None) -> str:
  """'adagrad', 'adam (model.dropout=True)': the optimizer, then the choice's other keys."""
  optimizer = structural.get('optimizer.name') or run.config['optimizer']['name']
  rest = {k: v for k, v in {**structural, **(group or {})}.items() if k != 'optimizer.name'}
  return optimizer + (f' ({sweep_lib.label(rest)})' if rest else '')


def _structural(run: Run, program: int) -> dict[str, Any]:
  return next((c.structural for c in run.configurations if c.program == program), {})


def _recorded(run: Run) -> list[str]:
  """The summary's ``grid_edges``: each choice still at an end, and why."""
  notes = []
  for edge in run.summary['grid_edges']:
    reason = edge['reason'] or (
      'not extended (the run was made without `extend_grid`)'
      if not run.config.get('extend_grid')
      else 'not extended'
    )
    notes.append(
      f'{_label(run, _structural(run, edge["program"]), edge["group"])} chose '
      f'α = {edge["chosen"]:g}, the {edge["end"]} of {_values(edge["grid"])}: {reason}'
    )
  return notes


def _computed(run: Run) -> list[str]:
  """A run without ``grid_edges``: the chosen α of each tuning program against its grid."""
  notes = []
  reruns = set(run.summary.get('rerun_programs') or [])
  for i in run.summary.get('best_configuration_per_program') or []:
    c = run.configurations[i] if i is not None else None
    if c is None or c.program in reruns:
      continue
    grid = sorted({learning_rate(p) for p in run.points if p.program == c.program})
    alpha = learning_rate(c)
    if len(grid) >= 3 and alpha in (grid[0], grid[-1]):
      end = 'largest' if alpha == grid[-1] else 'smallest'
      notes.append(
        f'{_label(run, c.structural)} chose α = {alpha:g}, the {end} of {_values(grid)}: '
        'not extended (the run predates `extend_grid`; its edge is computed from its grid)'
      )
  return notes


def edge_notes(r: Report) -> list[str]:
  """The tuning choices still at an end of their α grid, each with why: 'fig1_lr: …'."""
  notes = []
  for name in r.commands:
    if (run := r.run(name)) is not None:
      found = _recorded(run) if 'grid_edges' in run.summary else _computed(run)
      notes += [f'{name}: {note}' for note in found]
  return notes


def extension_notes(r: Report) -> list[str]:
  """What each grid grew by (``grid_extensions``): the α added beyond which end, diverged or not."""
  notes = []
  for name in r.commands:
    run = r.run(name)
    entries = (run.summary.get('grid_extensions') or []) if run is not None else []
    by_program: dict[int, list[int]] = {}
    for entry in entries:
      by_program.setdefault(entry['program'], []).append(entry['extension_program'])
    for program, extensions in by_program.items():
      own = sorted({learning_rate(p) for p in run.points if p.program == program})
      added: dict[float, list[bool]] = {}
      for p in run.points:
        if p.program in extensions:
          added.setdefault(learning_rate(p), []).append(p.failed)
      parts = []
      for alpha, failed in sorted(added.items()):
        end = 'largest' if alpha > own[-1] else 'smallest'
        diverged = f', {sum(failed)} of its {len(failed)} points diverged' if any(failed) else ''
        parts.append(f'α = {alpha:g} (beyond the {end}{diverged})')
      chosen = ''
      per_program = run.summary.get('best_configuration_per_program') or []
      if not run.config.get('rerun_by') and program < len(per_program):
        index = per_program[program]
        if index is not None:
          chosen = f'; chosen now: α = {learning_rate(run.configurations[index]):g}'
      notes.append(
        f'{name}: {_label(run, _structural(run, program))}, grid {_values(own)} grown by '
        + ', '.join(parts)
        + chosen
      )
  return notes


def section(edges: list[str], extended: Sequence[str] = ()) -> list[str]:
  """'Choices at the edge of their grid': what grew, then what is still at an edge and why."""
  if not edges and not extended:
    return []
  lines = ['## Choices at the edge of their grid', '']
  if extended:
    lines += [
      'A choice at an end of its α grid is not a choice: with `extend_grid` the grid grew '
      'by its own step beyond that end and the choice was made again, until it was inside, the '
      'points beyond diverged, or the `extend_grid_steps` of the run were taken (3 unless a '
      'config says otherwise; `experiments/extend.py`). Grown:',
      '',
      *(f'- {n}.' for n in extended),
      '',
    ]
  if edges:
    lines += [
      'Still at an end of its α grid, each with why it did not grow further (an α beyond it '
      'may be better, so a comparison with it favours the others):',
      '',
      *(f'- {n}.' for n in edges),
      '',
    ]
  else:
    lines += ['No choice is left at an end of its α grid.', '']
  return lines
