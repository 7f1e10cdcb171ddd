"""A finished run's records kept in the repository, so that no session's training is lost.

``make reproduce`` trains in ``runs/reproduce/`` (checkpoints and all: not committed). Each
step that finishes is archived into ``results/runs/<step>/``: its ``config.json``,
``summary.json``, ``run_state.json``, ``metrics.jsonl`` (gzipped), its figures and the
command that made it (``command.txt``), a few hundred KB. A later ``make reproduce`` on a
machine without the workdir restores a step from its archive instead of training it
again, as long as the step's command is still the archived one; the report reads the
restored workdir as any other.
"""

from __future__ import annotations

import glob
import gzip
import os
import shutil

FILES = ('config.json', 'summary.json', 'run_state.json')
RECORDS = 'metrics.jsonl'
COMMAND = 'command.txt'


def save(workdir: str, target: str, command: str) -> None:
  """Archives the finished run in ``workdir`` into ``target`` (replacing what was there)."""
  staging = target.rstrip('/') + '.tmp'
  shutil.rmtree(staging, ignore_errors=True)
  os.makedirs(staging)
  for name in FILES:
    if os.path.exists(os.path.join(workdir, name)):
      shutil.copy2(os.path.join(workdir, name), staging)
  packed = os.path.join(staging, RECORDS + '.gz')
  with (
    open(os.path.join(workdir, RECORDS), 'rb') as f_in,
    gzip.GzipFile(packed, 'wb', mtime=0) as f_out,
  ):
    shutil.copyfileobj(f_in, f_out)
  for figure in glob.glob(os.path.join(workdir, '*.png')):
    shutil.copy2(figure, staging)
  with open(os.path.join(staging, COMMAND), 'w') as f:
    f.write(command + '\n')
  shutil.rmtree(target, ignore_errors=True)
  os.replace(staging, target)


def archived_command(target: str) -> str | None:
  """The command that made the archived run in ``target``, or None if there is none."""
  path = os.path.join(target, COMMAND)
  if not os.path.exists(os.path.join(target, 'summary.json')) or not os.path.exists(path):
    return None
  with open(path) as f:
    return f.read().strip()


def holds(target: str, workdir: str) -> bool:
  """Whether ``workdir`` holds the run archived in ``target`` (restored there earlier).

  Its ``summary.json`` is the archive's, byte for byte: a restored run has no checkpoints
  to resume from, so it must not be handed to ``experiments.run`` again.
  """
  paths = [os.path.join(d, 'summary.json') for d in (target, workdir)]
  if not all(os.path.exists(p) for p in paths):
    return False
  with open(paths[0], 'rb') as a, open(paths[1], 'rb') as b:
    return a.read() == b.read()


def restore(target: str, workdir: str) -> None:
  """Writes the archived run of ``target`` into ``workdir`` (its records uncompressed)."""
  os.makedirs(workdir, exist_ok=True)
  for name in os.listdir(target):
    if name == RECORDS + '.gz':
      records = os.path.join(workdir, RECORDS)
      with gzip.open(os.path.join(target, name), 'rb') as f_in, open(records, 'wb') as f_out:
        shutil.copyfileobj(f_in, f_out)
    elif name != COMMAND:
      shutil.copy2(os.path.join(target, name), workdir)
