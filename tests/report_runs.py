"""Synthetic runs written as ``experiments.run`` writes them, for the report's tests to read."""

from __future__ import annotations

import json
import os
from typing import Any

from experiments import rundir, select
from experiments.point import Point


def write_run(
  workdir,
  points: list[Point],
  config: dict,
  reruns=(),
  epochs: int = 3,
  extends: dict[int, int] | None = None,
  summary: dict[str, Any] | None = None,
  records: list[dict[str, Any]] = (),
) -> None:
  """A run's ``summary.json``, ``config.json`` and ``metrics.jsonl`` from its points.

  Each point's ``final`` metrics are its last epoch's (losses higher in earlier epochs);
  ``summary`` adds keys to the summary (``grid_edges``, ...), ``records`` more records.
  """
  os.makedirs(workdir)
  lines = []
  for p in points:
    for e in range(1, epochs + 1):
      for split, metrics in p.final.items():
        late = {m: v * (1 + 0.2 * (epochs - e)) if m == 'loss' else v for m, v in metrics.items()}
        lines.append(p.record(step=e, epoch=e, split=split, **late))
  metric = config['eval']['select_metric']
  made = select.summarize(points, epochs, metric, 1.0, reruns=list(reruns), extends=extends)
  made |= summary or {}
  rundir.dump_json({'format': rundir.FORMAT, **made}, os.path.join(workdir, 'summary.json'))
  rundir.dump_json({**config, 'num_epochs': epochs}, os.path.join(workdir, 'config.json'))
  with open(os.path.join(workdir, 'metrics.jsonl'), 'w') as f:
    f.writelines(json.dumps(r) + '\n' for r in [*lines, *records])


def config(metric: str, dataset: str = 'fashion_mnist', model: str = 'logistic_regression'):
  """A run's config as ``config.json`` holds it (the keys the report reads)."""
  return {
    'seed': 0,
    'dataset': {'name': dataset, 'binarize': False},
    'model': {'name': model},
    'optimizer': {'name': 'adam', 'eps': None, 'schedule': 'inverse_sqrt', 'learning_rate': 0.1},
    'eval': {'select_metric': metric},
  }


def final(loss: float, acc: float, val_acc: float | None = None, val_loss: float | None = None):
  """A point's final metrics on the three splits."""
  return {
    'train': {'loss': loss, 'accuracy': acc},
    'validation': {'loss': val_loss or loss, 'accuracy': acc if val_acc is None else val_acc},
    'test': {'loss': loss, 'accuracy': acc},
  }
