r"""Runs one experiment of the papers from its config file.

  python -m experiments.run --config=configs/cnn_cifar.py [--workdir=DIR] \
      [--config.optimizer.learning_rate=3e-4] [--config.dataset.name=fashion_mnist]

The workdir (default: runs/<config name>[_<arg>]) receives config.json, metrics.jsonl,
summary.json, TensorBoard events, checkpoints and plots. Exit status: 0 done, 2 invalid
config or usage, 1 a failure at run time.
"""

from __future__ import annotations

import ast
import logging as logging_std
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from adam_jax import sweep as sweep_lib

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Output directory (default: runs/<config>).')
_SWEEP = flags.DEFINE_multi_string(
  'sweep',
  [],
  'PATH=V1,V2,... adds (or replaces) one swept key, e.g. '
  '--sweep=optimizer.learning_rate=1e-4,1e-3,1e-2 --sweep=optimizer.name=adam,adamax. '
  'Repeatable; the run covers the Cartesian product with config.sweep.',
)
_FRESH = flags.DEFINE_bool(
  'fresh', False, 'Discard what --workdir holds (a run of this or another config) and start over.'
)
_DISTRIBUTED = flags.DEFINE_bool(
  'distributed',
  False,
  'Call jax.distributed.initialize() first (one process per host; coordinator address, '
  'process count and id from the environment or the cluster, as JAX documents).',
)


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
  if len(argv) > 1:
    return _usage_error(f'unexpected arguments: {" ".join(argv[1:])}')
  logging.get_absl_handler().addFilter(_QuietLibraries())
  from adam_jax import data as data_lib  # noqa: PLC0415 (after flags parse: fast --help)
  from experiments import outputs, runner, validate  # noqa: PLC0415

  if _DISTRIBUTED.value:
    import jax  # noqa: PLC0415

    jax.distributed.initialize()
  try:
    config = _CONFIG.value
    config.to_dict()  # a config file that failed to load raises here
  except OSError as e:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return _usage_error(f'cannot load --config: {lines[-1] if lines else e}')
  try:
    for text in _SWEEP.value:
      path, values = parse_sweep_flag(text)
      sweep_lib.set_path(config.sweep, path, values)
    devices = None
    if config.mesh.grid * config.mesh.data > 1:
      import jax  # noqa: PLC0415

      devices = jax.device_count()
    validate.validate(config, device_count=devices)
    workdir = _WORKDIR.value or default_workdir(flags.FLAGS['config'].config_filename)
    validate.check_workdir(workdir)
  except (validate.ConfigError, app.UsageError) as e:
    return _usage_error(str(e))
  try:
    runner.run(config, workdir, fresh=_FRESH.value)
  except outputs.WorkdirMismatch as e:
    return _usage_error(str(e))
  except runner.Interrupted as e:
    print(f'stopped: {e}', file=sys.stderr)
    return e.exit_code
  except (runner.RunError, data_lib.DatasetUnavailableError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  return 0


def _usage_error(message: str) -> int:
  print(f'error: {message}', file=sys.stderr)
  return 2


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, but a bad flag or config file is one line on stderr and exit 2."""
  try:
    rest = flags.FLAGS(argv)
  except AttributeError as e:  # an override of a field the config does not have
    key = str(e).strip('"\'')
    culprit = next((a for a in argv if a.startswith('--config.') and f'.{key}' in a), key)
    print(f'error: unknown config field in {culprit}', file=sys.stderr)
    sys.exit(2)
  except (flags.Error, ValueError, TypeError, KeyError) as e:
    message = str(e).splitlines()[0] if str(e) else type(e).__name__
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)
  if flags.FLAGS['config'].value is None:
    print('error: --config is required, e.g. --config=configs/lr_mnist.py', file=sys.stderr)
    sys.exit(2)
  return rest


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
