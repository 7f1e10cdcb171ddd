"""Several processes, one run: the ``--distributed`` flags and what the processes agree on.

Every process (one per host, or several on one machine) runs the same command with
``--distributed``; JAX's multi-controller runtime (``jax.distributed``) joins them, the
config's mesh spans every process's devices, and each process feeds its own devices.
Process 0 alone writes the workdir's files, from values gathered from every process;
every process writes its own shards of a checkpoint (orbax's multi-process path). In a
single process every function here is the single-process call or does nothing.

A lost process: a collective with it fails at once ("Connection closed by peer") and
:func:`abandon` exits with one line; a process that was not in a collective is stopped by
JAX's runtime within ``--heartbeat_timeout_seconds`` (its heartbeats stop), or at once if
the lost process was process 0 (the coordinator).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from typing import Any

from absl import app, flags, logging

from adam_jax import sweep as sweep_lib

_DISTRIBUTED = flags.DEFINE_bool(
  'distributed',
  False,
  'Run as one of several processes (jax.distributed.initialize): the same command on every '
  'process; --coordinator_address, --num_processes and --process_id, or the cluster (SLURM, '
  'Cloud TPU, JAX_COORDINATOR_ADDRESS...) as JAX documents, say who is who.',
)
_COORDINATOR = flags.DEFINE_string(
  'coordinator_address', None, 'With --distributed: HOST:PORT where process 0 listens.'
)
_NUM_PROCESSES = flags.DEFINE_integer(
  'num_processes', None, 'With --distributed: how many processes run.', lower_bound=1
)
_PROCESS_ID = flags.DEFINE_integer(
  'process_id', None, 'With --distributed: this process, 0 to num_processes-1.', lower_bound=0
)
_HEARTBEAT = flags.DEFINE_integer(
  'heartbeat_timeout_seconds',
  30,
  "With --distributed: a process whose heartbeats stop this long is lost, and JAX's "
  'runtime stops the others (JAX: 100).',
  lower_bound=1,
)
_INIT_TIMEOUT = flags.DEFINE_integer(
  'initialization_timeout',
  300,
  'With --distributed: seconds to wait for every process to join (and to agree on the run).',
  lower_bound=1,
)
_ADDRESS_FLAGS = (_COORDINATOR, _NUM_PROCESSES, _PROCESS_ID)
_SEQUENCE = itertools.count()  # the same on every process: each makes the same calls


def initialize() -> None:
  """``jax.distributed.initialize`` with the flags' values (absent ones: JAX finds them).

  Raises:
    app.UsageError: an address flag without ``--distributed``, or arguments JAX refuses.
  """
  if not _DISTRIBUTED.value:
    given = [f'--{f.name}' for f in _ADDRESS_FLAGS if f.present]
    if given:
      raise app.UsageError(f'{given[0]} needs --distributed')
    return
  import jax  # noqa: PLC0415 (after flags parse: a fast --help)

  if not jax.config.jax_cpu_collectives_implementation:  # older JAX: none by default
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  try:
    jax.distributed.initialize(
      coordinator_address=_COORDINATOR.value,
      num_processes=_NUM_PROCESSES.value,
      process_id=_PROCESS_ID.value,
      initialization_timeout=_INIT_TIMEOUT.value,
      heartbeat_timeout_seconds=_HEARTBEAT.value,
    )
  except (ValueError, TypeError) as e:  # e.g. no address given and no cluster found
    raise app.UsageError(
      f'--distributed: {e} (give --coordinator_address=HOST:PORT --num_processes=N '
      '--process_id=I, unless JAX finds them: SLURM, Cloud TPU)'
    ) from None
  if process_index():
    logging.set_verbosity(logging.WARNING)  # process 0 reports the run's progress
  logging.info('process %d of %d', process_index(), process_count())


def _state():
  from jax._src import distributed  # noqa: PLC0415 (orbax reads the same state)

  return distributed.global_state


def _client():
  return _state().client


def process_index() -> int:
  """This process's index (0 without ``--distributed``); needs no backend."""
  return _state().process_id if _client() is not None else 0


def process_count() -> int:
  """How many processes run (1 without ``--distributed``); needs no backend."""
  return _state().num_processes if _client() is not None else 1


def is_primary() -> bool:
  """Whether this process writes the workdir's files (process 0)."""
  return process_index() == 0


def _timeout_ms() -> int:
  return _INIT_TIMEOUT.value * 1000


def agree(config: dict[str, Any], *choices: flags.FlagHolder) -> None:
  """Refuses processes started differently: config, process count, the ``choices`` flags.

  Process 0 publishes what it runs through the coordinator's key-value store (no device is
  touched, so a process count that differs cannot hang the backend's start); every other
  process compares it with its own and posts its verdict; every process reads every
  verdict, so that a difference stops them all.

  Raises:
    app.UsageError: one line naming the process and what differs.
  """
  client = _client()
  if client is None or process_count() == 1:
    return
  index = process_index()
  mine = {'num_processes': process_count(), **{f.name: f.value for f in choices}}
  mine = json.loads(json.dumps({**mine, 'config': config}, default=str))
  if index == 0:
    client.key_value_set('adam_jax/run', json.dumps(mine))
  else:
    theirs = json.loads(client.blocking_key_value_get('adam_jax/run', _timeout_ms()))
    differ = differences(theirs, mine)
    verdict = f'differs from process 0 in: {", ".join(differ)}' if differ else 'same'
    client.key_value_set(f'adam_jax/verdict/{index}', verdict)
  for other in range(1, process_count()):
    verdict = client.blocking_key_value_get(f'adam_jax/verdict/{other}', _timeout_ms())
    if verdict != 'same':
      raise app.UsageError(
        f'--distributed: process {other} {verdict}; start every process with the same command'
      )


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
  """Dotted paths where two nested dicts differ (``config.optimizer.b2``)."""
  a, b = sweep_lib.flatten(a), sweep_lib.flatten(b)
  return sorted(k for k in a.keys() | b.keys() if a.get(k, '<absent>') != b.get(k, '<absent>'))


def check_mesh(config) -> None:
  """Refuses a mesh that leaves out devices of some process (each must feed its own).

  Raises:
    app.UsageError: naming the mesh and the device count.
  """
  if process_count() == 1:
    return
  import jax  # noqa: PLC0415

  swept = sweep_lib.flatten(config.sweep.to_dict())
  n = jax.device_count()
  for g in swept.get('mesh.grid', [config.mesh.grid]):
    for d in swept.get('mesh.data', [config.mesh.data]):
      if g * d != n:
        raise app.UsageError(
          f'--distributed: config.mesh = {g}x{d} uses {g * d} of the {n} devices of '
          f'{process_count()} processes; it must use them all '
          f'(e.g. --config.mesh.grid={max(n // d, 1)} --config.mesh.data={d})'
        )


def barrier(name: str) -> None:
  """Waits until every process reaches the barrier ``name``."""
  if process_count() > 1:
    _client().wait_at_barrier(f'adam_jax/{name}/{next(_SEQUENCE)}', _timeout_ms())


def broadcast(value: Any) -> Any:
  """Process 0's ``value`` (JSON), on every process."""
  if process_count() == 1:
    return value
  key = f'adam_jax/broadcast/{next(_SEQUENCE)}'
  if is_primary():
    _client().key_value_set(key, json.dumps(value))
    return json.loads(json.dumps(value))  # as the others get it (lists for tuples)
  return json.loads(_client().blocking_key_value_get(key, _timeout_ms()))


def gather(tree: Any) -> Any:
  """``tree``'s arrays as NumPy arrays, whole, on every process (each holds a part)."""
  import jax  # noqa: PLC0415
  from jax.experimental import multihost_utils  # noqa: PLC0415

  if process_count() == 1:
    return jax.device_get(tree)
  return multihost_utils.process_allgather(tree, tiled=True)


def first_signal(signum: int | None) -> int | None:
  """The stop signal that any process received (they all stop after the same epoch)."""
  if process_count() == 1:
    return signum
  from jax.experimental import multihost_utils  # noqa: PLC0415

  received = multihost_utils.process_allgather(signum or 0)
  return int(received.max()) or None


def abandon(error: BaseException) -> None:
  """Exits at once (status 1) after a failure among several processes, with one line.

  A collective with a lost process fails at once; a process that failed alone (a full
  disk) must not wait in JAX's exit barrier while the others wait for it in a collective:
  leaving at once closes its connections, and their collectives fail in turn.
  """
  first = next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
  logging.error('process %d: %s', process_index(), error, exc_info=error)
  print(
    f'error: process {process_index()} of {process_count()}: {first.strip()}; the run stops '
    '(a process failed or was lost; the checkpoints are kept: start every process again '
    'with the same command to resume)',
    file=sys.stderr,
    flush=True,
  )
  logging.flush()
  sys.stdout.flush()
  os._exit(1)
