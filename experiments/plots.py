"""Plots drawn like the papers' figures (matplotlib, PNG, no display needed)."""

from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
import numpy as np  # noqa: E402

from experiments.point import Point
from experiments.results import Run  # noqa: E402


def plot_run(run: Run) -> list[str]:
  """Draws the plots of the run's ``plot`` config key into its workdir; returns their paths."""
  kind = run.config.get('plot', 'curves')
  if kind == 'reddi':
    return [plot_reddi(run, os.path.join(run.workdir, 'reddi.png'))]
  paths = [plot_curves(run, os.path.join(run.workdir, 'curves.png'))]
  if any(r['split'] == 'optimizer' for r in run.records):
    paths.append(plot_diagnostics(run, os.path.join(run.workdir, 'diagnostics.png')))
  if kind == 'figure4':
    paths.append(plot_figure4(run, os.path.join(run.workdir, 'figure4.png')))
  return paths


def _legend(point: Point, seeds_too: bool = True) -> str:
  """'adam, dropout=True (α=0.01)': the program's choices, then the grid point's values.

  ``seeds_too=False`` leaves the seed out (a curve that stands for all of them).
  """

  def short(path: str) -> str:
    return path.split('.')[-1].replace('learning_rate', 'α')

  program = ', '.join(
    str(v) if k.endswith('.name') else f'{short(k)}={v}' for k, v in point.structural.items()
  )
  swept = ', '.join(
    f'{short(k)}={v:g}' for k, v in point.hparams.items() if seeds_too or k != 'seed'
  )
  if program and swept:
    return f'{program} ({swept})'
  return program or swept or 'run'


def plot_curves(run: Run, path: str) -> str:
  """Training cost (log scale) and test accuracy per epoch, as Figures 1-3 of the paper.

  Each program (optimizer, model, dropout, ...) gets one colour; its chosen configuration
  (on the validation split) is drawn bold and labelled, the others thin. With several
  seeds each curve is the mean over the configuration's seeds, and the chosen ones have a
  band of ± one standard deviation. A loss panel's y range is the chosen curves' (log
  scale): a thin curve that diverged runs off it rather than flattening them.
  """
  has_accuracy = any('accuracy' in r for r in run.records)
  panels = [('train', 'loss', 'training cost (mean minibatch loss)')]
  if has_accuracy:
    panels.append(('test', 'accuracy', 'test accuracy'))
  elif any(r['split'] == 'test' for r in run.records):
    panels.append(('test', 'loss', 'test loss'))
  if any(r['split'] == 'train_steps' for r in run.records):
    panels.insert(1, ('train_steps', 'loss', 'training cost per iteration, first 3 epochs'))
  fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
  best = {c.index for c in run.best_configurations()}
  programs = list(dict.fromkeys(c.program for c in run.configurations))
  colors = plt.get_cmap('tab10')
  seeds = run.num_seeds
  for ax, (split, metric, title) in zip(axes[0], panels, strict=True):
    steps = split == 'train_steps'
    shown = []  # the chosen curves' values: the y range is theirs
    for config in run.configurations:
      chosen = config.index in best  # the others are drawn even where they diverged
      x, values = run.seed_curves(config, split, metric, steps=steps, diverged=not chosen)
      if steps:  # the paper's Figure 3 (left) shows the first three epochs by iteration
        keep = x <= 3 * steps_per_epoch(run)
        x, values = x[keep], values[:, keep]
      if not len(x):
        continue
      color = colors(programs.index(config.program) % 10)
      mean = mean_of(values)
      if chosen:
        label = _legend(run.point(config.first_grid_index), seeds_too=False)
        label += f' [{config.n} seeds]' if seeds > 1 else ''
        marker = 'o' if len(x) <= 60 else None  # per-iteration curves: a line only
        ax.plot(x, mean, color=color, lw=2.2, label=label, marker=marker, ms=3)
        shown += [v for v in mean if math.isfinite(v)]
        if values.shape[0] > 1:
          std = np.nanstd(values, axis=0, ddof=1)
          ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)
      else:
        ax.plot(x, mean, color=color, lw=0.7, alpha=0.35)
    ax.set_xlabel('iterations' if steps else 'epochs (passes over the training set)')
    ax.set_title(title)
    if metric == 'loss':
      ax.set_yscale('log')
      if shown and min(shown) > 0:  # a diverged thin curve (1e5) would flatten the chosen
        ax.set_ylim(min(shown) / 1.5, max(shown) * 1.5)
    ax.grid(alpha=0.3)
  axes[0][0].legend(fontsize=7, loc='upper right')
  what = f'mean of {seeds} seeds ± 1 std' if seeds > 1 else 'best'
  fig.suptitle(
    f'{what} of each program by {run.summary["selected_by"]} (bold); other configurations thin'
  )
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def steps_per_epoch(run: Run) -> int:
  """Optimizer steps in one epoch of the run (from its first epoch's record)."""
  return next((r['step'] for r in run.records if r['split'] == 'train' and r['epoch'] == 1), 0)


DIAGNOSTIC_PANELS = (
  ('eps_dominated', 'fraction of coordinates with √v̂ < ε', False),
  ('sqrt_v_hat_median', 'median √v̂', True),
  ('update_rms', 'RMS of the update', True),
)


def plot_diagnostics(run: Run, path: str) -> str:
  """§6.3's claim by layer: the share of √v̂ below ε, the median √v̂, the update RMS.

  One row per program (its chosen configuration, the mean over its seeds), one line per
  parameter leaf, once per epoch (the ``diagnostics`` records, taken after each epoch's
  last step). The median panel marks ε with a dashed line.
  """
  diagnosed = {r['grid_index'] for r in run.records if r['split'] == 'optimizer'}
  rows = [c for c in run.best_configurations() if diagnosed & set(c.grid_indices)]
  fig, axes = plt.subplots(len(rows), 3, figsize=(5.2 * 3, 3.6 * len(rows)), squeeze=False)
  eps = run.config.get('optimizer', {}).get('eps')
  for row, config in enumerate(rows):
    mine = set(config.grid_indices)
    records = [r for r in run.records if r['split'] == 'optimizer' and r['grid_index'] in mine]
    params = list(dict.fromkeys(r['param'] for r in records))
    for col, (stat, title, log_y) in enumerate(DIAGNOSTIC_PANELS):
      ax = axes[row][col]
      for param in params:
        by_epoch: dict[int, list[float]] = {}
        for r in records:
          if r['param'] == param and stat in r:
            by_epoch.setdefault(r['epoch'], []).append(r[stat])
        if by_epoch:
          epochs = sorted(by_epoch)
          means, name = [np.nanmean(by_epoch[e]) for e in epochs], param.removeprefix('params/')
          ax.plot(epochs, means, marker='o', ms=2.5, lw=1.2, label=name)
      label = _legend(run.point(config.first_grid_index), seeds_too=False)
      ax.set_title(f'{title}\n{label}', fontsize=9)
      if not ax.lines:  # AdaGrad, SGD, ...: no v̂ to compare with ε
        ax.text(0.5, 0.5, 'no Adam second moment', ha='center', va='center', color='gray')
        ax.set_axis_off()
        continue
      if stat == 'sqrt_v_hat_median' and eps:
        ax.axhline(eps, color='k', ls='--', lw=0.8, label=f'ε = {eps:g}')
      if log_y:
        ax.set_yscale('log')
      ax.set_xlabel('epoch')
      ax.grid(alpha=0.3)
    next(ax for ax in axes[row] if ax.lines).legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path


def mean_of(values: np.ndarray) -> np.ndarray:
  """The mean over seeds (rows) of each column, NaN where no seed has a value."""
  count = np.sum(np.isfinite(values), axis=0)
  total = np.nansum(values, axis=0)
  return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def figure4_table(run: Run, epoch: int) -> dict[tuple, float]:
  """{(b1, b2, bias_correction, lr): training loss at ``epoch``} (inf where diverged)."""
  table = {}
  for p in run.points:
    series = run.series(p.grid_index, 'train', 'loss')
    if epoch not in series:
      continue
    value = series[epoch]
    diverged = p.diverged_step is not None or not math.isfinite(value)
    key = tuple(p.get(f'optimizer.{k}') for k in ('b1', 'b2', 'bias_correction', 'learning_rate'))
    table[key] = math.inf if diverged else value
  return table


def plot_figure4(run: Run, path: str) -> str:
  """Figure 4 of the paper: loss against log10 α, one panel per β2, bias correction or not.

  Rows: after 10 and after 100 epochs (those the run reached; else its last epoch).
  Red: with bias correction; green: without; solid β1 = 0, dashed β1 = 0.9. Diverged
  points (non-finite loss) are drawn as crosses at the top of the panel.
  """
  epochs_run = sorted({r['epoch'] for r in run.records})
  rows = [e for e in (10, 100) if e in epochs_run] or epochs_run[-1:]
  b2s = sorted({p.get('optimizer.b2') for p in run.points}, key=lambda v: (v is None, v))
  fig, axes = plt.subplots(
    len(rows), len(b2s), figsize=(4.2 * len(b2s), 3.6 * len(rows)), squeeze=False
  )
  for row, epoch in enumerate(rows):
    table = figure4_table(run, epoch)
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
  """One panel per (title, y label, {curve label: (epochs, values[, std])}), as the papers draw.

  A curve given with a std (the spread over seeds) gets a band of ± one std.

  A y label with 'loss' in it gets a log scale (the papers' training cost); accuracy is linear.

  Only the curves given (the chosen point of each optimizer) are drawn, and the y range
  is zoomed on them after their first epoch, where the paper's figures also look, so
  curves a few percent apart stay apart.
  """
  fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.3), squeeze=False)
  for ax, (title, ylabel, curves) in zip(axes[0], panels, strict=True):
    log_y = 'loss' in ylabel
    tails = []
    for label, (x, y, *band) in curves.items():
      (line,) = ax.plot(x, y, marker='o', ms=2.5, lw=1.6, label=label)
      if band and band[0] is not None:  # ± one std over seeds
        ax.fill_between(x, y - band[0], y + band[0], color=line.get_color(), alpha=0.2, lw=0)
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


def plot_reddi(run: Run, path: str) -> str:
  """Reddi et al. Figure 1: x_t (left) and average regret R_t/t (right), log-x."""
  curves = run.arrays('reddi_curves.npz')
  fig, (ax_x, ax_r) = plt.subplots(1, 2, figsize=(12, 4.5))
  for point in run.points:
    if f'x_{point.grid_index}' not in curves:
      continue
    t, x, regret = (
      curves['t'],
      curves[f'x_{point.grid_index}'],
      curves[f'regret_{point.grid_index}'],
    )
    style = '--' if 'stochastic' in str(point.get('dataset.name')) else '-'
    short = ', '.join(str(v).replace('reddi_', '') for v in point.structural.values()) or 'run'
    ax_x.plot(t, x, style, label=short, lw=1)
    ax_r.plot(t, regret, style, label=short, lw=1)
  ax_x.set(xscale='log', xlabel='t', ylabel='x_t', title='iterate (optimum x = −1)')
  ax_r.set(xscale='log', yscale='log', xlabel='t', ylabel='R_t / t', title='average regret')
  for ax in (ax_x, ax_r):
    ax.grid(alpha=0.3)
  ax_x.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return path
