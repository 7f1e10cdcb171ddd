r"""Runs one experiment of the papers from its config file.

  python -m experiments.run --config=configs/cnn_cifar.py [--workdir=DIR] \
      [--config.optimizer.learning_rate=3e-4] [--config.dataset.name=fashion_mnist]

The workdir (default: runs/<config name>[_<arg>]) receives config.json, metrics.jsonl,
summary.json, TensorBoard events, checkpoints and plots. Exit status: 0 done, 2 invalid
config or usage, 1 a failure at run time.
"""

from __future__ import annotations

import ast
import importlib.resources
import logging as logging_std
import os
import sys
from collections.abc import Callable
from typing import Any

from absl import app, flags, logging
from ml_collections import config_flags

from adam_jax import sweep as sweep_lib
from experiments import distributed, search
from experiments.compilation_cache import CACHE_ENV, enable_compilation_cache  # noqa: F401

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Output directory (default: runs/<config>).')
_SWEEP = flags.DEFINE_multi_string(
  'sweep',
  [],
  'PATH=V1,V2,... adds (or replaces) one swept key, e.g. '
  '--sweep=optimizer.learning_rate=1e-4,1e-3,1e-2 --sweep=optimizer.name=adam,adamax. '
  'Repeatable; the run covers the Cartesian product with config.sweep.',
)
_SEARCH = flags.DEFINE_multi_string(
  'search',
  [],
  'PATH=DISTRIBUTION,ARGS adds (or replaces) one dimension of a quasi-random search, e.g. '
  '--search=optimizer.learning_rate=log_uniform,1e-5,1 --config.search.points=16 '
  '(see README: "Quasi-random search"). Repeatable.',
)
_FRESH = flags.DEFINE_bool(
  'fresh', False, 'Discard what --workdir holds (a run of this or another config) and start over.'
)
_REPLACE_OTHER = flags.DEFINE_bool(
  'replace_other_config',
  False,
  'If --workdir holds a run of another config, replace it (a run of this config resumes).',
)
_DRY_RUN = flags.DEFINE_bool(
  'dry_run',
  False,
  'Check the config and list its programs and grid points; train and write nothing.',
)
flags.adopt_module_key_flags(distributed)  # --help lists --distributed and its flags


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


def default_workdir(config_arg: str) -> str:
  """runs/<config file stem>[_<arg>]: the same command reuses the same workdir."""
  path, _, arg = config_arg.partition(':')
  stem = os.path.splitext(os.path.basename(path))[0]
  suffix = '_' + arg.replace(',', '_').replace('=', '-') if arg else ''
  return os.path.join('runs', stem + suffix)


_NOISY = ('orbax/', 'tensorflow_datasets/', 'etils/', 'jax/_src/xla_bridge')


class _QuietLibraries(logging_std.Filter):
  """Drops the INFO chatter of orbax/tfds/etils from the run's log (warnings pass)."""

  def filter(self, record: logging_std.LogRecord) -> bool:
    noisy = any(f'/{lib}' in record.pathname for lib in _NOISY)
    return record.levelno >= logging_std.WARNING or not noisy


def main(argv: list[str]) -> int:
  """Checks the config, runs its experiment kind, then prints the table and draws the plots."""
  if len(argv) > 1:
    return _usage_error(f'unexpected arguments: {" ".join(argv[1:])}')
  logging.get_absl_handler().addFilter(_QuietLibraries())
  # After flags parse, so that --help and a usage error stay fast.
  from adam_jax import data as data_lib  # noqa: PLC0415
  from experiments import programs, results, rundir, signals, validate  # noqa: PLC0415

  try:
    config = _CONFIG.value
    config.to_dict()  # a config file that failed to load raises here
  except OSError as e:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return _usage_error(f'cannot load --config: {lines[-1] if lines else e}')
  try:
    distributed.initialize()  # after the config loads: a process with a bad one never joins
    overrides = apply_command_line(config, config_flags.get_override_values(flags.FLAGS['config']))
    notes = [*filter(None, overrides.values()), *apply_sweep_flags(config)]
    distributed.agree(config.to_dict(), _FRESH, _REPLACE_OTHER, _DRY_RUN)  # before the devices
    devices = None
    if config.mesh.grid * config.mesh.data > 1:
      import jax  # noqa: PLC0415

      devices = jax.device_count()
    validate.validate(config, device_count=devices, overrides=overrides)
    distributed.check_mesh(config)
    for note in notes:
      logging.info(note)
    if _DRY_RUN.value:
      tuning = programs.expand(config)
      from experiments import console  # noqa: PLC0415

      print(console.dry_run(config, tuning, programs.rerun_programs(config, tuning)))
      return 0
    workdir = _WORKDIR.value or default_workdir(flags.FLAGS['config'].config_filename)
    _check_workdir(workdir)
  except (validate.ConfigError, app.UsageError) as e:
    return _usage_error(str(e))
  from experiments import console, plots  # noqa: PLC0415 (matplotlib: only for a real run)

  enable_compilation_cache()
  run_experiment = experiment_kind(config.experiment)
  try:
    try:
      run_experiment(config, workdir, fresh=_FRESH.value)
    except rundir.WorkdirMismatch as e:
      if not _REPLACE_OTHER.value:
        return _usage_error(str(e))
      logging.warning('%s: replacing it (--replace_other_config)', e)
      run_experiment(config, workdir, fresh=True)
  except signals.Interrupted as e:
    print(f'stopped: {e}', file=sys.stderr)
    return e.exit_code
  except (programs.RunError, data_lib.DatasetUnavailableError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  except Exception as e:  # noqa: BLE001 (several processes: a lost one, or one failed alone)
    if distributed.process_count() == 1:
      raise
    distributed.abandon(e)
  if not distributed.is_primary():
    return 0  # process 0 prints the table and draws the plots
  run = results.Run.load(workdir)
  print(console.table(run), flush=True)
  for path in plots.plot_run(run):
    logging.info('plot: %s', path)
  logging.info('workdir: %s', workdir)
  return 0


def experiment_kind(name: str) -> Callable[..., dict[str, Any]]:
  """The run function of ``config.experiment``: ``run(config, workdir, fresh) -> summary``.

  'train' trains a grid of a model on a dataset (:mod:`experiments.grid`); 'reddi' runs
  Reddi et al.'s online problem (:mod:`experiments.reddi`). A new kind is one module with
  such a function, listed here and in ``validate.EXPERIMENTS``.
  """
  from experiments import grid, reddi  # noqa: PLC0415 (after flags parse: fast --help)

  return {'train': grid.run, 'reddi': reddi.run}[name]


def apply_sweep_flags(config) -> list[str]:
  """Puts ``--sweep`` and ``--search`` into ``config.sweep`` and ``config.search.space``.

  A path is swept or searched: the command line wins over the config file (with a note
  for the log, returned), and giving a path to both flags is a usage error.
  """
  given: dict[str, str] = {}
  notes = []
  for flag, section in ((_SWEEP, 'sweep'), (_SEARCH, 'search.space')):
    for text in flag.value:
      path, values = parse_sweep_flag(text)
      if given.setdefault(path, flag.name) != flag.name:
        raise app.UsageError(f'--sweep and --search both give {path}: give one')
      try:
        sweep_lib.set_path(config, f'{section}.{path}', values)
      except (TypeError, ValueError, AttributeError, KeyError):
        raise app.UsageError(f'--{flag.name}={text}: {path} is not a config field') from None
      if flag is _SWEEP:
        notes.append(search.replace(config, path, f'--sweep={text}'))
      elif sweep_lib.unset_path(config, f'sweep.{path}'):
        notes.append(f"--search={text} replaces the config file's sweep of {path}")
  return [n for n in notes if n]


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


def _check_workdir(workdir: str) -> None:
  """Creates ``workdir`` and proves it writable (usage error if not); after validation."""
  probe = os.path.join(workdir, f'.write_probe_{os.getpid()}')  # one per process
  try:
    os.makedirs(workdir, exist_ok=True)
    with open(probe, 'w') as f:
      f.write('ok')
    os.remove(probe)
  except OSError as e:
    raise app.UsageError(f'--workdir {workdir}: cannot be written ({e.strerror or e})') from None


def _usage_error(message: str) -> int:
  print(f'error: {message}', file=sys.stderr)
  return 2


def _installed_config(arg: str) -> str:
  """``--config=configs/X.py[:args]`` from the installed package, if not found here.

  So a non-editable install runs every config from any directory.
  """
  if not arg.startswith('--config=configs/'):
    return arg
  path, sep, rest = arg[len('--config=') :].partition(':')
  if os.path.exists(path):
    return arg
  packaged = importlib.resources.files('configs').joinpath(path[len('configs/') :])
  return f'--config={packaged}{sep}{rest}' if packaged.is_file() else arg


def parse_flags(argv: list[str]) -> list[str]:
  """Absl's flag parsing, but a bad flag or config file is one line on stderr and exit 2."""
  argv = [_installed_config(a) for a in argv]
  try:
    rest = flags.FLAGS(argv)
  except AttributeError as e:  # an override of a field the config does not have
    key = str(e).strip('"\'')
    culprit = next((a for a in argv if a.startswith('--config.') and f'.{key}' in a), key)
    print(f'error: unknown config field in {culprit}', file=sys.stderr)
    sys.exit(2)
  except (flags.Error, ValueError, TypeError, KeyError) as e:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    message = lines[0] if lines else type(e).__name__
    if 'Error whilst parsing config file' in message and len(lines) > 1:
      message = f'cannot load {message.split(":")[0].split("=", 1)[-1]}: {lines[-1]}'
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)
  except Exception as e:  # noqa: BLE001 (a config file that raises while loading: usage)
    print(f'error: cannot load --config: {type(e).__name__}: {e}', file=sys.stderr)
    sys.exit(2)
  if flags.FLAGS['config'].value is None:
    print('error: --config is required, e.g. --config=configs/lr_mnist.py', file=sys.stderr)
    sys.exit(2)
  return rest


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
