"""The values a command line gives, applied to the config file's config.

``--config.KEY=VALUE`` (ml_collections' overrides; for an optimizer named by path, also its
own keywords, which :func:`experiments.optimizers.split_command_line` takes out of the
arguments) win over the config file's sweeps and search; ``--sweep=PATH=V1,V2,...`` is
parsed here (experiments.run applies it). Then the fields of the run's optimizers are
added, and the config file's sweeps of keywords no optimizer of the run takes dropped.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from typing import Any

import ml_collections
from absl import app

from experiments import optimizers, search
from experiments import sweep as sweep_lib


def with_optimizer(
  config: ml_collections.ConfigDict, given: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, Any]:
  """Sets the keywords of an optimizer named by path (``{KEY: value}``) in ``config``.

  Returns:
    ``given`` (ml_collections' override values, by path) with them added.
  """
  given = dict(given)
  with config.optimizer.unlocked():
    for key, value in values.items():
      config.optimizer[key] = given[f'optimizer.{key}'] = value
  return given


def fit_optimizers(config: ml_collections.ConfigDict, swept: Collection[str] = ()) -> list[str]:
  """Adds the run's optimizers' fields, drops the sweeps none of them takes; notes for the log.

  Args:
    config: The config, with the command line applied.
    swept: The paths swept on the command line (kept, for validation to refuse).
  """
  optimizers.add_fields(config)
  return list(optimizers.drop_untaken_sweeps(config, keep=swept).values())


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
  """Makes the values given on the command line win over the config's sweeps and search.

  A value given for a path that the config sweeps replaces that sweep by itself alone (a
  one-point sweep: the point still records the value); one for a path the config searches
  takes it out of the search (:func:`experiments.search.replace`).

  Args:
    config: The config, with the command-line values already set (config_flags does that).
    given: ``config_flags.get_override_values(...)``: path -> value given.

  Returns:
    Each path given outside ``sweep`` (validation checks them against the optimizer), with
    what became of it: '' or a note for the log that it replaced a sweep.
  """
  swept = sweep_lib.flatten(config.sweep.to_dict())
  notes = {}
  for path in (p for p in given if not p.startswith(('sweep.', 'search.'))):
    notes[path] = search.replace(config, path, f'--config.{path}={given[path]!r}') or ''
    if path in swept:
      value = given[path]
      sweep_lib.set_path(config.sweep, path, (value,))
      notes[path] = f'--config.{path}={value!r} replaces the sweep over {path} {swept[path]}'
  return notes
