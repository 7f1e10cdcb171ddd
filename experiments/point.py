"""One grid point as a typed record: its choices as real values and what training gave."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from experiments import sweep as sweep_lib

SPLITS = ('train', 'validation', 'test')
METRICS = ('loss', 'accuracy')


class Choices:
  """What a point and a configuration share: their choices by dotted path.

  Subclasses have ``structural`` (the program's choices) and ``hparams`` (the vmapped ones).
  """

  structural: dict[str, Any]
  hparams: dict[str, Any]

  @property
  def values(self) -> dict[str, Any]:
    """Every swept choice, structural and vmapped."""
    return {**self.structural, **self.hparams}

  def get(self, path: str, default: Any = None) -> Any:
    """The value of a swept path (``'optimizer.name'``), or ``default``."""
    return self.values.get(path, default)


@dataclasses.dataclass
class Point(Choices):
  """One grid point: its choices as real values, and what training it gave.

  Attributes:
    grid_index: Its index across the whole sweep.
    program: Index of its program (one compiled program per structural choice).
    structural: The program's choices by dotted path (``{'optimizer.name': 'adam'}``).
    hparams: Its vmapped values by dotted path (``{'optimizer.learning_rate': 0.01}``).
    diverged_step: The first step whose training loss was non-finite, or None.
    final: ``{split: {metric: value}}`` at the last evaluation.
  """

  grid_index: int
  program: int
  structural: dict[str, Any]
  hparams: dict[str, Any]
  diverged_step: int | None = None
  final: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

  def metric(self, split: str, metric: str) -> float:
    """The final ``metric`` on ``split``; NaN when it was not measured."""
    return self.final.get(split, {}).get(metric, math.nan)

  @property
  def failed(self) -> bool:
    """Whether its training loss or a final evaluation's loss became non-finite (never chosen).

    The loss is the signal: NaN params still give a finite accuracy (argmax of NaN logits).
    """
    losses = [split.get('loss') for split in self.final.values() if 'loss' in split]
    return self.diverged_step is not None or not all(
      v is not None and math.isfinite(v) for v in losses
    )

  @property
  def label(self) -> str:
    """For display only."""
    return sweep_lib.label(self.values)

  def update(self, record: dict[str, Any]) -> None:
    """Takes in one evaluation record (later records replace earlier ones in ``final``)."""
    metrics = {k: record[k] for k in METRICS if k in record}
    if record['split'] in SPLITS and metrics:
      self.final[record['split']] = metrics
    if record.get('diverged_step') is not None and self.diverged_step is None:
      self.diverged_step = record['diverged_step']

  def record(self, **fields: Any) -> dict[str, Any]:
    """A metrics.jsonl record of this point."""
    out = {
      **fields,
      'grid_index': self.grid_index,
      'program': self.program,
      'structural': self.structural,
      'hparams': self.hparams,
    }
    if self.diverged_step is not None:
      out['diverged_step'] = self.diverged_step
    return out

  def window_records(
    self, losses: Sequence[float], epoch: int, steps_per_epoch: int, every: int
  ) -> list[dict[str, Any]]:
    """``train_steps`` records of one epoch (``log_every_steps``): window means of the loss.

    Windows of ``every`` steps start with the epoch (its last window may be shorter); a
    record's ``step`` is its window's last step. The per-step losses come back from the
    compiled epoch as one array, so this costs no host round trip per step.
    """
    out = []
    for start in range(0, len(losses), every):
      mean = float(np.mean(np.asarray(losses[start : start + every], np.float64)))
      step = epoch * steps_per_epoch + min(start + every, len(losses))
      loss = mean if math.isfinite(mean) else math.nan
      out.append(self.record(step=step, epoch=epoch + 1, split='train_steps', loss=loss))
    return out

  def to_json(self) -> dict[str, Any]:
    """The point as summary.json holds it."""
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, obj: dict[str, Any]) -> Point:
    """The inverse of :meth:`to_json`."""
    return cls(**{f.name: obj[f.name] for f in dataclasses.fields(cls) if f.name in obj})


def points_from_records(records: Iterable[dict[str, Any]]) -> dict[int, Point]:
  """The points that ``records`` (metrics.jsonl) describe, keyed by grid index."""
  points: dict[int, Point] = {}
  for r in records:
    gi = r['grid_index']
    if gi not in points:
      points[gi] = Point(gi, r['program'], r['structural'], r['hparams'])
    points[gi].update(r)
  return points
