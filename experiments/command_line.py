"""The values a command line gives, applied to the config file's config.

``--config.KEY=VALUE`` (ml_collections' overrides; for an optimizer named by path, also its
own keywords), and ``--sweep=PATH=V1,V2,...``. A value given for a swept path replaces
that sweep; the fields of the run's optimizers are added; the config file's sweeps of
keywords no optimizer of the run takes are dropped.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

import ml_collections
from absl import app

from experiments import optimizers
from experiments import sweep as sweep_lib


def apply(
  config: ml_collections.ConfigDict,
  given: dict[str, Any],
  sweeps: Sequence[str] = (),
  optimizer_values: Mapping[str, Any] = (),
) -> dict[str, str]:
  """Applies a command line to ``config``; returns notes for the log, by path.

  Those of :func:`apply_command_line` (every path given, validation checks those under
  ``optimizer.``), and of :func:`experiments.optimizers.drop_untaken_sweeps`.

  Args:
    config: The config file's config, with ml_collections' overrides already set.
    given: ``config_flags.get_override_values(...)``: path -> value given.
    sweeps: The ``--sweep`` flags' texts.
    optimizer_values: Keywords of an optimizer named by path, by key
      (:func:`experiments.optimizers.split_command_line`).

  Raises:
    app.UsageError: for a ``--sweep`` that is not PATH=V1,V2,... of a field.
  """
  given = dict(given)
  with config.optimizer.unlocked():
    for key, value in dict(optimizer_values).items():
      config.optimizer[key] = given[f'optimizer.{key}'] = value
  notes = apply_command_line(config, given)
  swept = []
  for text in sweeps:
    path, values = parse_sweep_flag(text)
    try:
      sweep_lib.set_path(config.sweep, path, values)
    except (TypeError, ValueError, AttributeError, KeyError):
      raise app.UsageError(f'--sweep={text}: {path} is not a field of the config') from None
    swept.append(path)
  optimizers.add_fields(config)
  return notes | optimizers.drop_untaken_sweeps(config, keep=swept)


def parse_sweep_flag(text: str) -> tuple[str, tuple]:
  """'optimizer.b2=0.99,0.999' -> ('optimizer.b2', (0.99, 0.999)); strings stay strings."""
  path, sep, values = text.partition('=')
  if not sep or not path or not values:
    raise app.UsageError(f'--sweep takes PATH=V1,V2,..., got {text!r}')

  def value(v: str):
    try:
      return ast.literal_eval(v.strip())
    except (ValueError, SyntaxError):
      return v.strip()

  return path.strip(), tuple(value(v) for v in values.split(','))


def apply_command_line(config, given: dict[str, Any]) -> dict[str, str]:
  """Makes the values given on the command line win over the config's sweeps.

  A value given for a path that the config sweeps replaces that sweep by itself alone (a
  one-point sweep: the point still records the value).

  Args:
    config: The config, with the command-line values already set (config_flags does that).
    given: ``config_flags.get_override_values(...)``: path -> value given.

  Returns:
    Each path given outside ``sweep`` (validation checks them against the optimizer), with
    what became of it: '' or a note for the log that it replaced a sweep.
  """
  swept = sweep_lib.flatten(config.sweep.to_dict())
  notes = {}
  for path in (p for p in given if not p.startswith('sweep.')):
    notes[path] = ''
    if path in swept:
      value = given[path]
      sweep_lib.set_path(config.sweep, path, (value,))
      notes[path] = f'--config.{path}={value!r} replaces the sweep over {path} {swept[path]}'
  return notes
