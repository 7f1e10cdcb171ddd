r"""Runs one experiment of the papers from its config file.

  python -m experiments.run --config=configs/cnn_cifar.py [--workdir=DIR] \
      [--config.optimizer.learning_rate=3e-4] [--config.dataset.name=fashion_mnist]

The workdir (default: runs/<config name>[_<arg>]) receives config.json, metrics.jsonl,
summary.json, TensorBoard events, checkpoints and plots. Exit status: 0 done, 2 invalid
config or usage, 1 a failure at run time.
"""

from __future__ import annotations

import logging as logging_std
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Output directory (default: runs/<config>).')


def default_workdir(config_arg: str) -> str:
  """runs/<config file stem>[_<arg>]: the same command reuses the same workdir."""
  path, _, arg = config_arg.partition(':')
  stem = os.path.splitext(os.path.basename(path))[0]
  suffix = '_' + arg.replace(',', '_').replace('=', '-') if arg else ''
  return os.path.join('runs', stem + suffix)


class _QuietLibraries(logging_std.Filter):
  """Drops the INFO chatter of orbax/tfds/etils from the run's log (warnings pass)."""

  def filter(self, record: logging_std.LogRecord) -> bool:
    noisy = any(f'/{lib}/' in record.pathname for lib in ('orbax', 'tensorflow_datasets', 'etils'))
    return record.levelno >= logging_std.WARNING or not noisy


def main(argv: list[str]) -> int:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  logging.get_absl_handler().addFilter(_QuietLibraries())
  from experiments import runner  # noqa: PLC0415 (after flags parse: fast --help)

  workdir = _WORKDIR.value or default_workdir(flags.FLAGS['config'].config_filename)
  try:
    runner.run(_CONFIG.value, workdir)
  except runner.RunError as e:
    logging.error('%s', e)
    print(f'error: {e}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  flags.mark_flag_as_required('config')
  app.run(main)
