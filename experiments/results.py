"""A finished run read back from its workdir: points, configurations, curves.

The report, the plots, the console table and ``reproduce`` read runs only through
:class:`Run`; :mod:`experiments.rundir` writes what it reads.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
from typing import Any

import numpy as np

from experiments.point import Point
from experiments.rundir import FORMAT, read
from experiments.stats import Configuration, configurations


def machine() -> str:
  """'2 CPU cores, x86_64, jax 0.4.38 on cpu (cpu)': where a run or a record is made.

  ``summary.json`` keeps it as ``machine`` (read back as :attr:`Run.machine`).
  """
  import jax  # noqa: PLC0415

  device = jax.devices()[0]
  return (
    f'{os.cpu_count()} CPU cores, {platform.machine()}, jax {jax.__version__} on '
    f'{device.platform} ({device.device_kind})'
  )


@dataclasses.dataclass
class Run:
  """A finished run, read back from its workdir."""

  workdir: str
  config: dict[str, Any]
  summary: dict[str, Any]
  points: list[Point]
  records: list[dict[str, Any]]
  state: dict[str, Any]

  @classmethod
  def load(cls, workdir: str) -> Run | None:
    """The run in ``workdir``, or None when it has no summary of this layout yet."""
    summary = read(os.path.join(workdir, 'summary.json'), None)
    if summary is None or summary.get('format') != FORMAT:
      return None
    return cls(
      workdir,
      read(os.path.join(workdir, 'config.json'), {}),
      summary,
      [Point.from_json(p) for p in summary['points']],
      read(os.path.join(workdir, 'metrics.jsonl'), []),
      read(os.path.join(workdir, 'run_state.json'), {}),
    )

  @property
  def name(self) -> str:
    """The workdir's last component."""
    return os.path.basename(os.path.normpath(self.workdir))

  @property
  def num_epochs(self) -> int:
    """Epochs the run was configured for."""
    return self.summary['num_epochs']

  def point(self, grid_index: int) -> Point:
    """The point of ``grid_index``."""
    return self._by_index[grid_index]

  @functools.cached_property
  def _by_index(self) -> dict[int, Point]:
    return {p.grid_index: p for p in self.points}

  @functools.cached_property
  def _records_by_index(self) -> dict[int, list[dict[str, Any]]]:
    """metrics.jsonl's records of each grid point (read once; curves are drawn per point)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for r in self.records:
      out.setdefault(r['grid_index'], []).append(r)
    return out

  def best_per_program(self) -> list[Point]:
    """The point each program chose (see :mod:`experiments.select`), in program order."""
    return [self.point(i) for i in self.summary['best_per_program'] if i is not None]

  @property
  def best(self) -> Point | None:
    """The overall chosen point (with seeds: the chosen configuration's first seed)."""
    index = self.summary['best_grid_index']
    return None if index is None else self.point(index)

  @functools.cached_property
  def configurations(self) -> list[Configuration]:
    """The run's configurations: its points grouped over seeds, with mean ± spread."""
    saved = self.summary.get('configurations')
    if saved is None:  # written before seeds existed: one configuration per point
      return configurations(self.points, self.config.get('seed', 0))
    return [Configuration.from_json(c) for c in saved]

  @property
  def num_seeds(self) -> int:
    """Seeds per configuration (the most any configuration has)."""
    return max((len(c.seeds) for c in self.configurations), default=1)

  def best_configurations(self) -> list[Configuration]:
    """The configuration each program chose (by its mean over seeds), in program order.

    With ``rerun_seeds`` (DeepOBS's protocol), the reruns' configurations only.
    """
    chosen = self.summary.get('best_configuration_per_program')
    if chosen is None:
      firsts = {c.first_grid_index: c for c in self.configurations}
      return [firsts[p.grid_index] for p in self.best_per_program()]
    reruns = self.summary.get('rerun_programs') or []
    configs = [self.configurations[i] for i in chosen if i is not None]
    return [c for c in configs if not reruns or c.program in reruns]

  def tuned(self, configuration: Configuration) -> Configuration:
    """The tuning configuration a rerun configuration trains again (else ``configuration``).

    What a choice between reruns is made on: the seeds a choice was made on, never the
    fresh seeds it is reported and tested on.
    """
    reruns = set(self.summary.get('rerun_programs') or [])
    if configuration.program not in reruns:
      return configuration
    same = (configuration.structural, configuration.hparams)
    return next(
      (
        c
        for c in self.configurations
        if c.program not in reruns and (c.structural, c.hparams) == same
      ),
      configuration,
    )

  def configuration_of(self, point: Point) -> Configuration:
    """The configuration ``point`` is a seed of."""
    return next(c for c in self.configurations if point.grid_index in c.grid_indices)

  def seed_curves(
    self,
    configuration: Configuration,
    split: str,
    metric: str,
    steps: bool = False,
    diverged: bool = False,
  ) -> tuple[np.ndarray, np.ndarray]:
    """``(x, values)`` of every seed of ``configuration`` that did not diverge.

    ``x`` are epochs (or the steps of ``train_steps`` records when ``steps``), ``values``
    has one row per seed (NaN where a seed has no value). Diverged seeds are left out, as
    in the configuration's statistics, unless ``diverged`` (a plot of where they went).
    """
    key = 'step' if steps else 'epoch'
    alive = [gi for gi in configuration.grid_indices if diverged or not self._by_index[gi].failed]
    rows = {
      gi: {
        r[key]: r[metric]
        for r in self._records_by_index.get(gi, [])
        if r['split'] == split and metric in r
      }
      for gi in alive
    }
    x = sorted({k for row in rows.values() for k in row})
    values = np.array([[row.get(k, np.nan) for k in x] for row in rows.values()], float)
    return np.asarray(x), values.reshape(len(rows), len(x))

  def series(self, grid_index: int, split: str, metric: str) -> dict[int, float]:
    """``{epoch: value}`` of one point's ``metric`` on ``split``."""
    return {
      r['epoch']: r[metric]
      for r in self._records_by_index.get(grid_index, [])
      if r['split'] == split and metric in r
    }

  def arrays(self, file: str) -> dict[str, Any]:
    """What :meth:`RunDir.save_arrays` kept, or {} when the file is absent."""
    path = os.path.join(self.workdir, file)
    if not os.path.exists(path):
      return {}
    with np.load(path) as data:
      return dict(data)

  def epoch_time_s(self, program: int) -> float | None:
    """Seconds of training in one epoch of ``program`` (all its points), None if not timed.

    The median over the epochs after the first of each chunk (the first compiles), summed
    over the program's chunks.
    """
    chunks = self.state.get(f'epoch_time_s/{program}')
    if not chunks:
      return None
    medians = []
    for times in chunks.values():
      ordered = [t for _, t in sorted((int(e), t) for e, t in times.items())]
      medians.append(float(np.median(ordered[1:] or ordered)))
    return sum(medians)

  @property
  def machine(self) -> str | None:
    """Where the run was finished (:func:`machine`); None for a run made before it was kept."""
    return self.summary.get('machine')

  @property
  def train_wall_time_s(self) -> float:
    """Seconds of training, over every process that trained the run."""
    return self.summary.get('train_wall_time_s', self.summary['wall_time_s'])
