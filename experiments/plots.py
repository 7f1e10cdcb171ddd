"""Plots drawn like the papers' figures (matplotlib, PNG, no display needed)."""

from __future__ import annotations

import math
import os
from typing import Any

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
import numpy as np  # noqa: E402

from adam_jax import sweep  # noqa: E402


def plot_run(config, results, summary: dict[str, Any], workdir: str) -> list[str]:
  """Draws the plots of ``config.plot`` into ``workdir``; returns their paths."""
  paths = [plot_curves(results, summary, os.path.join(workdir, 'curves.png'))]
  if config.plot == 'figure4':
    paths.append(plot_figure4(results, os.path.join(workdir, 'figure4.png')))
  return paths


def _series(result, split: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
  rows = [r for r in result.history if r['split'] == split and metric in r]
  return np.array([r['epoch'] for r in rows]), np.array([r[metric] for r in rows], float)


def _short(path: str) -> str:
  return path.split('.')[-1].replace('learning_rate', 'α')


def _label(result) -> str:
  program = (
    ', '.join(
      f'{_short(k)}={v}' if k.split('.')[-1] != 'name' else str(v)
      for k, v in sweep.parse_label(result.program).items()
    )
    or result.program
  )
  swept = ', '.join(f'{_short(k)}={v:g}' for k, v in result.hparams.items())
  return f'{program} ({swept})' if swept else program


def plot_curves(results, summary: dict[str, Any], path: str) -> str:
  """Training cost (log scale) and test accuracy per epoch, as Figures 1-3 of the paper.

  Each program (optimizer, model, dropout, ...) gets one colour; its best grid point
  (chosen on the validation split) is drawn bold and labelled, the others thin.
  """
  has_accuracy = any('accuracy' in r for res in results for r in res.history)
  panels = [('train', 'loss', 'training cost (mean minibatch loss)')]
  if has_accuracy:
    panels.append(('test', 'accuracy', 'test accuracy'))
  elif any(r['split'] == 'test' for res in results for r in res.history):
    panels.append(('test', 'loss', 'test loss'))
  fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
  best = set(summary['best_per_program'].values())
  programs = list(dict.fromkeys(r.program for r in results))
  colors = plt.get_cmap('tab10')
  for ax, (split, metric, title) in zip(axes[0], panels, strict=True):
    for result in results:
      x, y = _series(result, split, metric)
      if not len(x):
        continue
      color = colors(programs.index(result.program) % 10)
      if result.grid_index in best:
        ax.plot(x, y, color=color, lw=2.2, label=_label(result), marker='o', ms=3)
      else:
        ax.plot(x, y, color=color, lw=0.7, alpha=0.35)
    ax.set_xlabel('epochs (passes over the training set)')
    ax.set_title(title)
    if metric == 'loss':
      ax.set_yscale('log')
    ax.grid(alpha=0.3)
  axes[0][0].legend(fontsize=7, loc='upper right')
  fig.suptitle(f'best of each program by {summary["selected_by"]} (bold); other grid points thin')
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def figure4_table(results, epoch: int) -> dict[tuple, float]:
  """{(b1, b2, bias_correction, lr): training loss at ``epoch``} (inf where diverged)."""
  table = {}
  for r in results:
    hp = r.hparams
    x, y = _series(r, 'train', 'loss')
    if epoch not in x:
      continue
    value = y[list(x).index(epoch)]
    diverged = r.diverged_step is not None or not math.isfinite(value)
    key = (
      hp.get('optimizer.b1'),
      hp.get('optimizer.b2'),
      hp.get('optimizer.bias_correction'),
      hp.get('optimizer.learning_rate'),
    )
    table[key] = math.inf if diverged else value
  return table


def plot_figure4(results, path: str) -> str:
  """Figure 4 of the paper: loss against log10 α, one panel per β2, bias correction or not.

  Rows: after 10 and after 100 epochs (those the run reached; else its last epoch).
  Red: with bias correction; green: without; solid β1 = 0, dashed β1 = 0.9. Diverged
  points (non-finite loss) are drawn as crosses at the top of the panel.
  """
  epochs_run = sorted({r['epoch'] for res in results for r in res.history})
  rows = [e for e in (10, 100) if e in epochs_run] or epochs_run[-1:]
  b2s = sorted({r.hparams.get('optimizer.b2') for r in results}, key=lambda v: (v is None, v))
  fig, axes = plt.subplots(
    len(rows), len(b2s), figsize=(4.2 * len(b2s), 3.6 * len(rows)), squeeze=False
  )
  for row, epoch in enumerate(rows):
    table = figure4_table(results, epoch)
    finite = [v for v in table.values() if math.isfinite(v)]
    top = float(np.percentile(finite, 90)) * 1.3 if finite else 1.0
    bottom = min(finite) * 0.95 if finite else 0.0
    for col, b2 in enumerate(b2s):
      ax = axes[row][col]
      for b1 in sorted({k[0] for k in table if k[1] == b2}, key=lambda v: (v is None, v)):
        for bc in (True, False):
          pts = sorted((k[3], v) for k, v in table.items() if k[:3] == (b1, b2, bc))
          if not pts:
            continue
          lr = np.log10([p[0] for p in pts])
          loss = np.array([p[1] for p in pts])
          color = 'tab:red' if bc else 'tab:green'
          style = '-' if not b1 else '--'
          label = f'β1={b1:g}, {"bias correction" if bc else "no correction"}'
          ok = np.isfinite(loss) & (loss <= top)
          ax.plot(lr[ok], loss[ok], style, color=color, marker='o', ms=4, label=label)
          ax.plot(lr[~ok], np.full((~ok).sum(), top), 'x', color=color, ms=8)
      ax.set_ylim(bottom, top * 1.02)
      ax.set_title(f'β2={b2:g}, after {epoch} epoch{"s" * (epoch != 1)}')
      ax.set_xlabel('log10(α)')
      ax.grid(alpha=0.3)
    axes[row][0].set_ylabel('training loss (−ELBO, nats)')
  axes[0][0].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def plot_panels(
  panels: list[tuple[str, str, dict[str, tuple[np.ndarray, np.ndarray]]]], path: str
) -> str:
  """One panel per (title, y label, {curve label: (epochs, values)}), as the papers draw.

  A y label with 'loss' in it gets a log scale (the papers' training cost); accuracy is linear.

  Only the curves given (the chosen point of each optimizer) are drawn, and the y range
  is zoomed on them after their first epoch, where the paper's figures also look, so
  curves a few percent apart stay apart.
  """
  fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.3), squeeze=False)
  for ax, (title, ylabel, curves) in zip(axes[0], panels, strict=True):
    log_y = 'loss' in ylabel
    tails = []
    for label, (x, y) in curves.items():
      ax.plot(x, y, marker='o', ms=2.5, lw=1.6, label=label)
      tails += [v for v in y[1:] if math.isfinite(v)]
    if log_y:
      ax.set_yscale('log')
    if tails:
      lo, hi = min(tails), max(tails)
      pad = (hi - lo) * 0.08 or abs(hi) * 0.01
      ax.set_ylim((lo / 1.03, hi * 1.03) if log_y and lo > 0 else (lo - pad, hi + pad))
    ax.set(title=title, xlabel='epochs', ylabel=ylabel)
    ax.grid(alpha=0.3, which='both')
    ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path
