"""What a run shows on the terminal: one progress line per epoch, the results table."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from absl import logging

from experiments import search, select, stats
from experiments.point import Point
from experiments.results import Run


def duration(seconds: float) -> str:
  """'45s', '13m14s', '1h47m09s'."""
  seconds = int(round(seconds))
  if seconds >= 3600:
    return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s'
  return f'{seconds // 60}m{seconds % 60:02d}s' if seconds >= 60 else f'{seconds}s'


class Progress:
  """One log line per epoch: the best point's loss and accuracy, speed and ETA."""

  def __init__(self, num_epochs: int, examples_per_epoch: int, num_points: int):
    """Progress of ``num_points`` grid points trained together on ``examples_per_epoch``."""
    self.num_epochs = num_epochs
    self.examples = examples_per_epoch * num_points
    self.times: list[float] = []
    self._t0 = time.perf_counter()

  def start_epoch(self) -> None:
    """Starts the clock of one epoch."""
    self._t0 = time.perf_counter()

  def elapsed(self, outputs: Any = None) -> float:
    """Seconds since :meth:`start_epoch`, once ``outputs`` (device arrays) are computed."""
    if outputs is not None:
      import jax  # noqa: PLC0415

      jax.block_until_ready(outputs)
    return time.perf_counter() - self._t0

  def end_epoch(self, label: str, epoch: int, points: Sequence[Point]) -> None:
    """Logs one line after ``epoch`` for the chunk ``label`` of ``points``."""
    elapsed = self.elapsed()
    self.times.append(elapsed)
    steady = self.times[1:] or self.times  # the first epoch includes compilation
    eta = sum(steady) / len(steady) * (self.num_epochs - epoch)
    best = select.best(points)
    parts = [label, f'epoch {epoch}/{self.num_epochs}']
    if best is not None:
      for split in ('train', 'validation'):
        if split in best.final:
          parts.append(f'{split} ' + ' '.join(f'{k} {v:.4f}' for k, v in best.final[split].items()))
    diverged = sum(p.diverged_step is not None for p in points)
    if diverged:
      parts.append(f'{diverged}/{len(points)} diverged')
    parts.append(f'{self.examples / elapsed:,.0f} ex/s')
    parts.append(f'ETA {duration(eta)}')
    logging.info(' | '.join(parts))


def table(run: Run, max_rows: int = 40) -> str:
  """The results table printed when a run ends.

  One row per grid point (the chosen ones only, for a large grid); ``*`` marks the overall
  choice and ``+`` each program's. With several seeds, one row per configuration, each
  cell the mean ± std over its seeds (:func:`seeds_table`).
  """
  if run.num_seeds > 1:
    return seeds_table(run, max_rows)
  points = run.points
  keys, header = _choice_columns(points)
  chosen = {p.grid_index for p in run.best_per_program()}
  best = run.best
  header += ['train loss', 'val loss', 'val acc', 'test loss', 'test acc', '']
  shown = points
  if len(points) > max_rows:  # large grids: the best of each program and the first rows
    shown = [p for p in points if p.grid_index in chosen] or points[:max_rows]
  rows = []
  for p in shown:
    mark = '*' if best is not None and p.grid_index == best.grid_index else ''
    mark += '+' if p.grid_index in chosen else ''
    if p.diverged_step is not None:
      mark += f' diverged@{p.diverged_step}'
    rows.append(
      [
        str(p.grid_index),
        *(_fmt(p.get(k)) for k in keys),
        _fmt(p.metric('train', 'loss')),
        _fmt(p.metric('validation', 'loss')),
        _pct(p.metric('validation', 'accuracy')),
        _fmt(p.metric('test', 'loss')),
        _pct(p.metric('test', 'accuracy')),
        mark,
      ]
    )
  footer = (
    f'* best on {run.summary["selected_by"]}; + best of its program; '
    f'{run.num_epochs} epochs in {duration(run.train_wall_time_s)}'
  )
  return _layout(header, rows, len(points) - len(shown), 'grid points', footer)


def seeds_table(run: Run, max_rows: int = 40) -> str:
  """One row per configuration: mean ± std over its seeds, and how many seeds it has.

  ``seeds`` reads ``5`` when every seed finished, ``4/5 (1 diverged)`` otherwise; the
  statistics are over the seeds that finished. ``*`` and ``+`` mark the configurations
  chosen by their mean, overall and per program.
  """
  configs = run.configurations
  keys, header = _choice_columns(configs)
  chosen = {c.index for c in run.best_configurations()}
  best = run.summary.get('best_configuration')
  header += ['seeds', 'train loss', 'val loss', 'val acc', 'test loss', 'test acc', '']
  shown = configs
  if len(configs) > max_rows:
    shown = [c for c in configs if c.index in chosen] or configs[:max_rows]
  rows = []
  for c in shown:
    seeds = str(len(c.seeds)) if not c.diverged else f'{c.n}/{len(c.seeds)} ({c.diverged} diverged)'
    mark = ('*' if c.index == best else '') + ('+' if c.index in chosen else '')
    cells = [
      stats.format_spread(c.spread(split, metric), 100 if metric == 'accuracy' else 1)
      for split, metric in _COLUMNS
    ]
    rows.append([str(c.index), *(_fmt(c.get(k)) for k in keys), seeds, *cells, mark])
  seed_lists = {tuple(c.seeds) for c in configs}  # a tuning seed, then fresh ones: not one list
  over = f'seeds {", ".join(map(str, *seed_lists))}' if len(seed_lists) == 1 else "the row's seeds"
  footer = (
    f'mean ± std over {over} (accuracy in %); * best mean on '
    f'{run.summary["selected_by"]}; + best of its program; {run.num_epochs} epochs in '
    f'{duration(run.train_wall_time_s)}'
  )
  return _layout(header, rows, len(configs) - len(shown), 'configurations', footer)


_COLUMNS = (
  ('train', 'loss'),
  ('validation', 'loss'),
  ('validation', 'accuracy'),
  ('test', 'loss'),
  ('test', 'accuracy'),
)


def _choice_columns(rows) -> tuple[list[str], list[str]]:
  """The swept paths of ``rows`` (points or configurations), and the first table headers.

  The headers are '#', then each path by its last component where that is unambiguous.
  """
  keys = list(dict.fromkeys(k for row in rows for k in row.values))
  short = [k.split('.')[-1] for k in keys]
  return keys, ['#', *(s if short.count(s) == 1 else k for s, k in zip(short, keys, strict=True))]


def _layout(header: list[str], rows: list[list[str]], hidden: int, what: str, footer: str) -> str:
  widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
  lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
  lines.insert(1, '-' * len(lines[0]))
  if hidden:
    lines.append(f'({hidden} more {what} in summary.json)')
  lines.append(footer)
  return '\n'.join(lines)


def _fmt(value: Any) -> str:
  if value is None:
    return '-'
  if isinstance(value, float):
    return '-' if value != value else f'{value:.4g}'
  return str(value)


def _pct(value: float) -> str:
  return '-' if value != value else f'{100 * value:.2f}%'


def dry_run(config, program_list, reruns=()) -> str:
  """What ``--dry_run`` prints: what the run would train, one line per program."""
  total = sum(len(p.points) for p in [*program_list, *reruns])
  lines = [
    f'{config.experiment}: {len(program_list) + len(reruns)} program(s), {total} grid point(s), '
    f'{config.num_epochs} epoch(s) each; nothing trained'
  ]
  if search.num_points(config):
    s = config.search
    paths = ', '.join(search.space(config))
    lines.append(f'  search: {s.points} {s.sequence} points (seed {s.seed}) over {paths}')
  for p in program_list:
    swept = ', '.join(p.swept) or 'no swept values'
    lines.append(f'  program {p.index + 1}: {p.label}: {len(p.points)} point(s) over {swept}')
  for p in reruns:
    tuned = p.index - len(program_list) + 1
    choices = f'{len(p.points) // config.rerun_seeds} choice(s) x {config.rerun_seeds} seeds'
    lines.append(f"  program {p.index + 1}: program {tuned}'s choices again: {choices}")
  return '\n'.join(lines)
