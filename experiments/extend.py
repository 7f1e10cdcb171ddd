"""No choice at an edge: a tuning choice at an end of its α grid grows the grid (``extend_grid``).

A configuration chosen at the largest (smallest) α of its grid may be beaten by an α
beyond it, so the choice is not one. With ``extend_grid`` on, after the tuning programs
have trained, every choice (each program's, or each ``rerun_by`` group's: Figure 4's
cells) whose α sits at an end of the α values tried grows the grid by the grid's own step
beyond that end (:func:`step_beyond`). An *extension program* trains the new α with every
other value of the chosen end's points (other swept keys, seeds); then the choice is made
again over the grid and its extensions, until it is inside, or the points beyond it
diverged (a configuration with a diverged seed is never chosen, so the choice then stays
inside the α values tried), or ``extend_grid_steps`` steps were taken at that end, or the
next value is not a valid α.

Extension programs get program and grid indices after every other program, so that an
interrupted run resumes them; their plan is kept in the run's state. ``summary.json``
records each extension under ``grid_extensions`` and every choice still at an end of its
grid, with the reason, under ``grid_edges``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ml_collections
from absl import logging

from experiments import select, stats
from experiments import sweep as sweep_lib
from experiments.point import Point

PATH = 'optimizer.learning_rate'

STATE_KEY = 'grid_extensions'


@dataclasses.dataclass(frozen=True)
class Edge:
  """A choice at an end of its α grid, and the α one step beyond it.

  Attributes:
    program: The tuning program whose choice it is.
    group: The ``rerun_by`` values of the choice ({} for the program's one choice).
    end: ``'largest'`` or ``'smallest'``.
    grid: The α values tried so far for this choice, ascending.
    chosen: The chosen α.
    beyond: The α one step beyond, or None when the grid does not grow (see ``reason``).
    reason: Why the grid does not grow; empty when it does.
  """

  program: int
  group: dict[str, Any]
  end: str
  grid: tuple[float, ...]
  chosen: float
  beyond: float | None
  reason: str = ''

  def to_json(self) -> dict[str, Any]:
    """For summary.json's ``grid_edges``."""
    return dataclasses.asdict(self) | {'grid': list(self.grid)}


def step_beyond(grid: Sequence[float], end: str) -> float:
  """The next α beyond ``end`` of ``grid`` by the grid's own step.

  A grid of positive values is a log grid: the step is the ratio of its two outermost
  values at that end; otherwise their difference. Six significant digits, so that no
  float noise reaches the labels.

  Examples:
    >>> step_beyond([0.001, 0.01, 0.1], 'largest'), step_beyond([0.001, 0.01, 0.1], 'smallest')
    (1.0, 0.0001)
    >>> step_beyond([0.1, 0.2, 0.3], 'largest')
    0.4
  """
  values = sorted(grid)
  outer, inner = (values[-1], values[-2]) if end == 'largest' else (values[0], values[1])
  value = outer * (outer / inner) if values[0] > 0 else outer + (outer - inner)
  return float(f'{value:.6g}')


def _alpha(choice: Any, default: float) -> float:
  value = choice.get(PATH)
  return default if value is None else value


def edges(
  config: ml_collections.ConfigDict,
  tuning: Sequence[sweep_lib.Program],
  points: Sequence[Point],
  extends: dict[int, int],
) -> list[Edge]:
  """Every choice at an end of the α values tried for it.

  Args:
    config: The run's config (``eval.select_metric``, ``rerun_by``, ``seed``).
    tuning: The tuning programs.
    points: Every point trained so far.
    extends: Extension program index -> the tuning program it extends.

  Returns:
    The choices at an end, each with the α beyond it or the reason there is none.
  """
  default = config.optimizer.learning_rate
  by = tuple(config.get('rerun_by') or ())
  configs = stats.configurations(points, config.seed)
  found = []
  for program in tuning:
    if PATH not in program.swept:
      continue
    own = sorted({pt[PATH] for pt in program.points})
    mine = [c for c in configs if extends.get(c.program, c.program) == program.index]
    groups = dict.fromkeys(tuple((k, pt[k]) for k in by if k in pt) for pt in program.points)
    for group in groups:
      members = [c for c in mine if all(c.get(k) == v for k, v in group)]
      chosen = select.best(members, config.eval.select_metric)
      grid = tuple(sorted({_alpha(c, default) for c in members}))
      if chosen is None or len(grid) < 2 or _alpha(chosen, default) not in (grid[0], grid[-1]):
        continue
      end = 'largest' if _alpha(chosen, default) == grid[-1] else 'smallest'
      steps = sum(a > own[-1] if end == 'largest' else a < own[0] for a in grid)
      beyond, reason = step_beyond(grid, end), ''
      if steps >= config.get('extend_grid_steps', 3):  # 3: a config from before the key
        beyond, reason = None, f'{steps} steps beyond the grid, still chosen at its end'
      elif beyond <= 0:
        beyond, reason = None, f'the next step, {beyond:g}, is not a valid α'
      found.append(
        Edge(program.index, dict(group), end, grid, _alpha(chosen, default), beyond, reason)
      )
  return found


def extension_program(
  found: Sequence[Edge], program: sweep_lib.Program, index: int, first_grid_index: int
) -> sweep_lib.Program:
  """One program that trains each edge's α beyond with the other values of its end's points.

  Args:
    found: Edges of ``program``'s choices (one per ``rerun_by`` group at most).
    program: The tuning program.
    index: The extension program's index.
    first_grid_index: Its first point's grid index.
  """
  points = []
  for edge in found:
    mine = [pt for pt in program.points if all(pt.get(k) == v for k, v in edge.group.items())]
    alphas = [pt[PATH] for pt in mine]
    end_value = max(alphas) if edge.end == 'largest' else min(alphas)
    points += [{**pt, PATH: edge.beyond} for pt in mine if pt[PATH] == end_value]
  return sweep_lib.Program(index, dict(program.structural), points, first_grid_index)


def _round_key(number: int) -> str:
  return f'{STATE_KEY}/round_{number}'


def _programs(
  entries: Sequence[dict[str, Any]], tuning: Sequence[sweep_lib.Program], index: int, grid: int
) -> Iterator[tuple[sweep_lib.Program, int]]:
  """The extension programs of a round's edges (one per tuning program), numbered on."""
  by_program: dict[int, list[Edge]] = {}
  for entry in entries:
    edge = Edge(**{**entry, 'grid': tuple(entry['grid'])})
    by_program.setdefault(edge.program, []).append(edge)
  for tuned, found in by_program.items():
    program = extension_program(found, tuning[tuned], index, grid)
    index, grid = index + 1, grid + len(program.points)
    yield program, tuned


def planned(
  tuning: Sequence[sweep_lib.Program], state: dict[str, Any], index: int, grid: int
) -> list[tuple[sweep_lib.Program, int]]:
  """``(extension program, tuning program)`` of every round a run's state has planned.

  Args:
    tuning: The tuning programs.
    state: The run's state (:attr:`experiments.rundir.RunDir.state`).
    index: The first extension program's index (after every other program).
    grid: Its first grid index (after every other program's points).
  """
  out = []
  for number in itertools.takewhile(lambda n: _round_key(n) in state, itertools.count()):
    for program, tuned in _programs(state[_round_key(number)], tuning, index, grid):
      out.append((program, tuned))
      index, grid = index + 1, grid + len(program.points)
  return out


def plans(
  config: ml_collections.ConfigDict,
  tuning: Sequence[sweep_lib.Program],
  state: dict[str, Any],
  remember: Callable[[str, Any], Any],
  index: int,
  grid: int,
  points: list[Point],
) -> Iterator[tuple[sweep_lib.Program, int]]:
  """Yields ``(extension program, tuning program)`` one round at a time.

  Each round is planned from ``points``: the caller trains each yielded program and
  appends its points to ``points`` before asking for the next. A round's plan is
  remembered in the run's state (``remember``) before it is trained, so that a resumed run
  trains the same programs whatever it recomputes.
  """
  extends: dict[int, int] = {}
  # Ends: each round steps beyond an end, and edges() allows an end extend_grid_steps steps.
  for number in itertools.count():
    if _round_key(number) not in state:
      growing = [e for e in edges(config, tuning, points, extends) if e.beyond is not None]
      remember(_round_key(number), [dataclasses.asdict(e) for e in growing])
    entries = state[_round_key(number)]
    if not entries:
      return
    for program, tuned in _programs(entries, tuning, index, grid):
      logging.info('program %d chose α at an end of its grid: %s', tuned + 1, program.points[0])
      extends[program.index] = tuned
      index, grid = index + 1, grid + len(program.points)
      yield program, tuned


def members(points: Sequence[Point], program: int, extends: dict[int, int]) -> list[Point]:
  """The points a tuning program's choice is made among: its own and its extensions'."""
  return [p for p in points if extends.get(p.program, p.program) == program]


def summary(
  config: ml_collections.ConfigDict,
  tuning: Sequence[sweep_lib.Program],
  points: Sequence[Point],
  extends: dict[int, int],
) -> dict[str, Any]:
  """summary.json's ``grid_extensions`` (each α added) and ``grid_edges`` (choices still at an end).

  ``grid_edges`` is filled whether or not ``extend_grid`` is on: a choice at an edge is
  worth knowing either way.
  """
  by = tuple(config.get('rerun_by') or ())
  added: dict[tuple, dict[str, Any]] = {}
  for p in points:  # one entry per α added to each choice (Figure 4: per cell)
    if p.program in extends:
      group = {k: p.get(k) for k in by if p.get(k) is not None}
      entry = {'extension_program': p.program, 'program': extends[p.program]}
      entry |= {'structural': p.structural, 'group': group, 'added': p.get(PATH)}
      added.setdefault((p.program, repr(sorted(group.items())), p.get(PATH)), entry)
  return {
    'grid_extensions': list(added.values()),
    'grid_edges': [e.to_json() for e in edges(config, tuning, points, extends)],
  }
